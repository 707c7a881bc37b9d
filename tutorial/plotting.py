"""Pictures of a run: the t-SNE map (coloured dots, a legend, digit thumbnails), the confusions, and the
frames of the t-SNE's optimisation.

Drawn with matplotlib's object API (``Figure``, not ``pyplot``: no window, no
global state, runs headless).
"""

from __future__ import annotations

import io
from collections import Counter

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from PIL import Image, ImageDraw

# The thumbnails' image is this many pixels along the map's longer side (the figure is 1,000).
THUMBNAIL_CANVAS = 1200


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
    # least a thumbnail's width from every thumbnail already kept (looked up in
    # a grid of thumbnail-sized cells: only the 3 x 3 around a point can be that
    # close). They never overlap, so they are drawn into one transparent image.
    span = np.ptp(coords, axis=0).max() or 1.0
    size = span / 30
    cells: dict[tuple[int, int], list[tuple[float, float]]] = {}
    kept: list[int] = []
    for i in np.random.default_rng(seed).permutation(len(coords)):
        if len(kept) >= max_thumbnails:
            break
        x, y = coords[i]
        cx, cy = int(x // size), int(y // size)
        if any(max(abs(x - kx), abs(y - ky)) < size for dx in (-1, 0, 1) for dy in (-1, 0, 1)
               for kx, ky in cells.get((cx + dx, cy + dy), ())):
            continue
        cells.setdefault((cx, cy), []).append((x, y))
        kept.append(i)
    low, high = coords.min(axis=0) - size, coords.max(axis=0) + size
    px_per_unit = THUMBNAIL_CANVAS / (high - low).max()
    width, height = np.ceil((high - low) * px_per_unit).astype(int) + 1
    thumb = max(1, round(size * px_per_unit))
    canvas = np.zeros((height, width, 4))
    for i in kept:
        # Ink in the point's class colour, background transparent; rows counted from the top.
        column = int((coords[i, 0] - size / 2 - low[0]) * px_per_unit)
        row = int((high[1] - coords[i, 1] - size / 2) * px_per_unit)
        ink = np.asarray(Image.fromarray(images[i]).resize((thumb, thumb), Image.Resampling.BILINEAR)) / 255.0
        box = canvas[row:row + thumb, column:column + thumb]
        box[..., :3] = colors(int(labels[i]) % 10)[:3]
        box[..., 3] = np.maximum(box[..., 3], ink[:box.shape[0], :box.shape[1]])
    ax.imshow(canvas, extent=(low[0], low[0] + width / px_per_unit, high[1] - height / px_per_unit, high[1]),
              zorder=3, interpolation="bilinear")
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1], high[1])
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(loc="upper right", markerscale=4, fontsize=9, framealpha=0.9)
    ax.set_title(title)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def plot_confusions(labels: np.ndarray, votes: np.ndarray, images: np.ndarray, class_names: list[str],
                    title: str = "", pairs: int = 8, examples: int = 12) -> bytes:
    """The most frequent (class, neighbours' class) pairs as PNG bytes, one row each, most frequent first.

    Each row is labelled "4 taken for 9: 57" (57 points of class 4 whose
    nearest neighbours vote 9) and shows up to ``examples`` of those digits.
    """
    labels, votes = np.asarray(labels), np.asarray(votes)
    wrong = labels != votes
    frequent = Counter(zip(labels[wrong].tolist(), votes[wrong].tolist(), strict=True)).most_common(pairs)
    height, width = images.shape[1:3]
    grid = np.zeros((max(1, len(frequent)) * (height + 4), examples * (width + 4)), dtype=np.float32)
    names = []
    for row, ((label, vote), count) in enumerate(frequent):
        names.append(f"{class_names[label]} taken for {class_names[vote]}: {count}")
        for column, i in enumerate(np.flatnonzero(wrong & (labels == label) & (votes == vote))[:examples]):
            y, x = row * (height + 4) + 2, column * (width + 4) + 2
            grid[y:y + height, x:x + width] = images[i] / 255.0
    fig = Figure(figsize=(2.6 + examples * 0.55, 0.7 + 0.55 * max(1, len(frequent))), dpi=100)
    ax = fig.subplots()
    ax.imshow(grid, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.set_yticks([row * (height + 4) + height / 2 + 2 for row in range(len(frequent))], names, fontsize=10)
    ax.set_xticks([])
    ax.set_title(title or "Most frequent confusions", fontsize=11)
    if not frequent:
        ax.text(grid.shape[1] / 2, grid.shape[0] / 2, "every point's neighbours vote for its own class",
                ha="center", va="center")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def progress_frames(layouts: list[tuple[int, bool, np.ndarray]], labels: np.ndarray,
                    size: int = 360) -> list[Image.Image]:
    """t-SNE's optimisation as pictures: each (iteration, exaggerated, layout [N, 2+]) drawn as dots in class
    colours (the map picture's), rescaled to fit, its iteration written in the corner, and "early
    exaggeration" while that phase pulls neighbours together."""
    colours = (np.array(matplotlib.colormaps["tab10"].colors) * 255).astype(np.uint8)[np.asarray(labels) % 10]
    pictures = []
    for iteration, exaggerated, layout in layouts:
        xy = layout[:, :2] - layout[:, :2].min(axis=0)
        xy = (xy / (xy.max() or 1.0) * (size - 24) + 12).astype(int)
        canvas = np.full((size, size, 3), 255, dtype=np.uint8)
        rows, columns = size - 1 - xy[:, 1], xy[:, 0]  # y up, as in the map picture
        for dy, dx in ((0, 0), (0, 1), (1, 0), (1, 1)):  # 2 x 2 px dots
            canvas[np.clip(rows + dy, 0, size - 1), np.clip(columns + dx, 0, size - 1)] = colours
        picture = Image.fromarray(canvas)
        ImageDraw.Draw(picture).text((6, 4), f"iteration {iteration}" + (", early exaggeration" if exaggerated
                                                                            else ""), fill=(0, 0, 0))
        pictures.append(picture)
    return pictures
