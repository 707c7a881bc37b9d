"""The t-SNE map as a picture: coloured dots, a legend, and digit thumbnails.

This is the figure of the t-SNE papers, drawn with matplotlib's object API
(``Figure``, not ``pyplot``: no window, no global state, runs headless).
"""

from __future__ import annotations

import io

import matplotlib
import numpy as np
from matplotlib.figure import Figure


def plot_tsne_map(coords: np.ndarray, labels: np.ndarray, images: np.ndarray, class_names: list[str],
                  title: str = "", max_thumbnails: int = 400, seed: int = 0) -> bytes:
    """The figure from the t-SNE papers, as PNG bytes (1000 x 1000 px).

    Every point is a dot coloured by its class, with a legend; over them, a
    scatter of digit thumbnails, each placed at its point, chosen so that no
    two overlap.
    """
    coords = np.asarray(coords)[:, :2]
    fig = Figure(figsize=(10, 10), dpi=100)
    ax = fig.subplots()
    colors = matplotlib.colormaps["tab10"]
    for label in range(len(class_names)):
        mask = labels == label
        if mask.any():
            ax.scatter(coords[mask, 0], coords[mask, 1], s=3, color=colors(label % 10), alpha=0.5,
                       label=class_names[label], linewidths=0)

    # Thumbnails: visit points in a random order, keep one only if it is at
    # least a thumbnail's width from every thumbnail already kept.
    span = np.ptp(coords, axis=0).max() or 1.0
    size = span / 30
    kept: list[np.ndarray] = []
    for i in np.random.default_rng(seed).permutation(len(coords)):
        if len(kept) >= max_thumbnails:
            break
        if kept and np.min(np.abs(np.array(kept) - coords[i]).max(axis=1)) < size:
            continue
        kept.append(coords[i])
        x, y = coords[i]
        # Ink in the point's class colour, background transparent.
        rgba = np.zeros((*images[i].shape, 4))
        rgba[..., :3] = colors(int(labels[i]) % 10)[:3]
        rgba[..., 3] = images[i] / 255.0
        ax.imshow(rgba, extent=(x - size / 2, x + size / 2, y - size / 2, y + size / 2), zorder=3,
                  interpolation="bilinear")
    ax.set_xlim(coords[:, 0].min() - size, coords[:, 0].max() + size)
    ax.set_ylim(coords[:, 1].min() - size, coords[:, 1].max() + size)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(loc="upper right", markerscale=4, fontsize=9, framealpha=0.9)
    ax.set_title(title)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
