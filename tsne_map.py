"""A converged t-SNE of every point, computed offline, and a picture of the map.

The Projector's own t-SNE tab runs in the browser: it samples at most 10,000
points, takes minutes to settle and forgets the result when the tab closes.
``tsne_embedding`` computes the finished map once, with openTSNE (parallel,
FFT-accelerated), so it can be stored beside the embedding it came from and
shown at once, the same every time for the same seed.
"""

from __future__ import annotations

import io
import time

import matplotlib
import numpy as np
from matplotlib.figure import Figure  # not pyplot: no window, no global state, runs headless
from openTSNE import TSNE
from sklearn.decomposition import PCA

# Wider inputs go through PCA to this many dimensions first, as is standard:
# it removes pixel noise and makes the neighbour search much faster.
PCA_DIMENSIONS = 50
PCA_ABOVE = 100


def tsne_embedding(values: np.ndarray, dims: int = 2, perplexity: float = 30.0, seed: int = 0,
                   name: str = "embedding") -> np.ndarray:
    """t-SNE of ``values`` [N, D] to [N, dims] float32, printing a line per stage.

    Inputs with more than 100 dimensions (pixels) go through PCA to 50 first.
    2-D maps use openTSNE's FFT gradients; 3-D ones need Barnes-Hut, which is
    slower. The same seed gives the same coordinates.
    """
    if dims not in (2, 3):
        raise ValueError(f"t-SNE dimensions must be 2 or 3, got {dims}")
    n = len(values)
    if n < 3 * perplexity + 1:
        raise ValueError(f"t-SNE with perplexity {perplexity} needs more than {3 * perplexity:.0f} points, "
                         f"got {n}; lower --perplexity")
    start = time.perf_counter()
    x = np.asarray(values, dtype=np.float32)
    steps = []
    if x.shape[1] > PCA_ABOVE:
        x = PCA(PCA_DIMENSIONS, random_state=seed).fit_transform(x)
        steps.append(f"PCA to {PCA_DIMENSIONS}")
    print(f"t-SNE of {name} ({n} x {values.shape[1]}{', ' + steps[0] if steps else ''}) to {dims}-D, "
          f"perplexity {perplexity:g} ...", flush=True)
    tsne = TSNE(
        n_components=dims,
        perplexity=perplexity,
        negative_gradient_method="fft" if dims == 2 else "bh",
        random_state=seed,
        n_jobs=-1,
    )
    coords = np.asarray(tsne.fit(x), dtype=np.float32)
    print(f"  done in {time.perf_counter() - start:.1f} s", flush=True)
    return coords


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
