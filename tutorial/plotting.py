"""Pictures of a run: the t-SNE map (coloured dots, a legend, thumbnails), the confusions, two tensors' votes
side by side, and the frames of the t-SNE's optimisation. Each class is in the colour the Projector gives it
(``tutorial/classes.py``).

Drawn with matplotlib's object API (``Figure``, not ``pyplot``: no window, no
global state, runs headless).
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Sequence

import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from PIL import Image, ImageDraw

from tutorial.classes import CATEGORY10, projector_colour

# The thumbnails' image is this many pixels along the map's longer side (the figure is 1,000).
THUMBNAIL_CANVAS = 1200


def class_colours(labels: np.ndarray | None, colours: Sequence[str] | None) -> np.ndarray:
    """Each point's RGB colour [N, 3] in [0, 1]: its class's in ``colours`` (the Projector's by class number
    when None: ``tutorial/classes.py``), or the first of them for every point without ``labels``."""
    if labels is None:
        return np.array([to_rgb(CATEGORY10[0])])
    labels = np.asarray(labels)
    colours = colours or [projector_colour(c) for c in range(int(labels.max()) + 1)]
    return np.array([to_rgb(colour) for colour in colours])[labels]


def thumbnail(image: np.ndarray, size: int) -> np.ndarray:
    """``image`` (uint8, grey or RGB) fitted into ``size`` x ``size`` px, its aspect kept: float in [0, 1]."""
    height, width = image.shape[:2]
    scale = size / max(height, width)
    shape = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(image).resize(shape, Image.Resampling.BILINEAR)) / 255.0


def plot_tsne_map(coords: np.ndarray, labels: np.ndarray | None = None, images: np.ndarray | None = None,
                  class_names: Sequence[str] = (), title: str = "", max_thumbnails: int = 400, seed: int = 0,
                  colours: Sequence[str] | None = None, ink: bool = False) -> bytes:
    """The figure from the t-SNE papers, as PNG bytes (1000 x 1000 px).

    Every point is a dot coloured by its class (``labels``, class numbers into ``class_names``, drawn in
    ``colours``, by default the Projector's), with a legend; over them, a scatter of ``images`` thumbnails
    (grey or RGB), each placed at its point, chosen so that no two overlap: ``ink`` images (white strokes on
    black, as MNIST's) are drawn as strokes in their class colour, others as they are, framed in it. No
    ``labels``: dots of one colour, no legend; no ``images``: dots only.
    """
    coords = np.asarray(coords)[:, :2]
    fig = Figure(figsize=(10, 10), dpi=100)
    ax = fig.subplots()
    rgb = class_colours(labels, colours)
    if labels is None:
        ax.scatter(coords[:, 0], coords[:, 1], s=3, color=rgb[0], alpha=0.5, linewidths=0)
    else:
        # One legend entry per colour: classes past the 20th share grey, as "other".
        groups: dict[tuple, list[int]] = {}
        for label in np.unique(labels):
            groups.setdefault(tuple(rgb[np.argmax(labels == label)]), []).append(int(label))
        for colour, members in groups.items():
            mask = np.isin(labels, members)
            name = class_names[members[0]] if len(members) == 1 else f"other ({len(members)} classes)"
            ax.scatter(coords[mask, 0], coords[mask, 1], s=3, color=colour, alpha=0.5, label=name, linewidths=0)

    # Thumbnails: visit points in a random order, keep one only if it is at
    # least a thumbnail's width from every thumbnail already kept (looked up in
    # a grid of thumbnail-sized cells: only the 3 x 3 around a point can be that
    # close). They never overlap, so they are drawn into one transparent image.
    span = np.ptp(coords, axis=0).max() or 1.0
    size = span / 30
    cells: dict[tuple[int, int], list[tuple[float, float]]] = {}
    kept: list[int] = []
    for i in np.random.default_rng(seed).permutation(len(coords)) if images is not None else ():
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
        # Rows counted from the top; the background stays transparent.
        column = int((coords[i, 0] - size / 2 - low[0]) * px_per_unit)
        row = int((high[1] - coords[i, 1] - size / 2) * px_per_unit)
        picture = thumbnail(images[i], thumb)
        box = canvas[row:row + picture.shape[0], column:column + picture.shape[1]]
        picture = picture[:box.shape[0], :box.shape[1]]
        colour = rgb[0 if labels is None else i]
        if ink:  # strokes in the class colour
            box[..., :3] = colour
            box[..., 3] = np.maximum(box[..., 3], picture)
        else:  # the picture as it is, in a frame of the class colour
            box[..., :3] = picture[..., None] if picture.ndim == 2 else picture
            box[..., 3] = 1.0
            for edge in (box[:2], box[-2:], box[:, :2], box[:, -2:]):
                edge[..., :3] = colour
    ax.imshow(canvas, extent=(low[0], low[0] + width / px_per_unit, high[1] - height / px_per_unit, high[1]),
              zorder=3, interpolation="bilinear")
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1], high[1])
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if labels is not None:
        ax.legend(loc="upper right", markerscale=4, fontsize=9, framealpha=0.9)
    ax.set_title(title)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def plot_confusions(labels: np.ndarray, votes: np.ndarray, images: np.ndarray | None, class_names: Sequence[str],
                    title: str = "", pairs: int = 8, examples: int = 12, ink: bool = False) -> bytes:
    """The most frequent (class, neighbours' class) pairs as PNG bytes, one row each, most frequent first.

    Each row is labelled "4 taken for 9: 57" (57 points of class 4 whose nearest neighbours vote 9) and
    shows up to ``examples`` of those points' ``images`` (grey or RGB; ``ink`` ones, white strokes on black,
    drawn black on white), or only the labels without images.
    """
    labels, votes = np.asarray(labels), np.asarray(votes)
    wrong = labels != votes
    frequent = Counter(zip(labels[wrong].tolist(), votes[wrong].tolist(), strict=True)).most_common(pairs)
    rows = [(f"{class_names[label]} taken for {class_names[vote]}: {count}",
             np.flatnonzero(wrong & (labels == label) & (votes == vote))) for (label, vote), count in frequent]
    return plot_example_rows(rows, images, title or "Most frequent confusions", examples, ink,
                             "every point's neighbours vote for its own class")


def plot_pair_examples(labels: np.ndarray, votes: np.ndarray, other_votes: np.ndarray, images: np.ndarray | None,
                       names: tuple[str, str], title: str = "", examples: int = 12, ink: bool = False) -> bytes:
    """Two tensors' votes side by side as PNG bytes: a row of the points only the first's neighbours put in their
    own class, then a row of those only the other's do, each labelled with its count (``names``: the tensors)."""
    from tutorial.neighbours import right_only

    rows = [(f"only {name} right: {int(side.sum())}", np.flatnonzero(side))
            for name, side in zip(names, right_only(votes, other_votes, labels), strict=True)]
    return plot_example_rows(rows, images, title or f"{names[0]} against {names[1]}", examples, ink,
                             "both put the same points right")


def plot_example_rows(rows: Sequence[tuple[str, np.ndarray]], images: np.ndarray | None, title: str,
                      examples: int = 12, ink: bool = False, empty: str = "") -> bytes:
    """Rows of example pictures as PNG bytes: each row a (label, point indices) pair, up to ``examples`` of its
    points' ``images`` (grey or RGB; ``ink`` ones drawn black on white), or only the labels without images."""
    height, width = images.shape[1:3] if images is not None else (28, 0)
    shown = examples if images is not None else 0
    grid = np.ones((max(1, len(rows)) * (height + 4), max(1, shown * (width + 4)), 3), dtype=np.float32)
    for row, (_, indices) in enumerate(rows):
        for column, i in enumerate(indices[:shown]):
            y, x = row * (height + 4) + 2, column * (width + 4) + 2
            picture = images[i] / 255.0
            picture = 1 - picture if ink else picture
            grid[y:y + height, x:x + width] = picture[..., None] if picture.ndim == 2 else picture
    fig = Figure(figsize=(2.6 + max(shown, 4) * 0.55, 0.7 + 0.55 * max(1, len(rows))), dpi=100)
    ax = fig.subplots()
    ax.imshow(grid, interpolation="nearest", aspect="auto" if images is None else "equal")
    ax.set_yticks([row * (height + 4) + height / 2 + 2 for row in range(len(rows))], [name for name, _ in rows],
                  fontsize=10)
    ax.set_xticks([])
    ax.set_title(title, fontsize=11)
    if not rows or not any(len(indices) for _, indices in rows):
        ax.text(grid.shape[1] / 2, grid.shape[0] / 2, empty, ha="center", va="center")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def progress_frames(layouts: list[tuple[int, bool, np.ndarray]], labels: np.ndarray | None,
                    size: int = 360, colours: Sequence[str] | None = None) -> list[Image.Image]:
    """t-SNE's optimisation as pictures: each (iteration, exaggerated, layout [N, 2+]) drawn as dots in class
    colours (the map picture's, ``class_colours``), rescaled to fit, its iteration written in the corner, and
    "early exaggeration" while that phase pulls neighbours together."""
    colours = (class_colours(labels, colours) * 255).astype(np.uint8)
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


def with_row_names(grid: np.ndarray, names: Sequence[str], width: int = 64) -> np.ndarray:
    """``grid`` [H, W, 1] in [0, 1] (rows of equal height, white on black) with each row's name written in a
    margin ``width`` pixels wide on its left, so the picture says what each row is wherever it is shown."""
    row_height = grid.shape[0] // len(names)
    margin = Image.new("L", (width, grid.shape[0]), 0)
    draw = ImageDraw.Draw(margin)
    for row, name in enumerate(names):
        draw.text((3, row * row_height + row_height // 2), name, fill=255, anchor="lm")
    return np.concatenate([np.asarray(margin, np.float32)[..., None] / 255, grid.astype(np.float32)], axis=1)


def plot_loss_curves(folder, tag: str = "epoch_loss") -> bytes:
    """Each model's loss per epoch, training and validation, as PNG bytes: read from the event files Keras'
    TensorBoard callback wrote under ``folder/<model>/{train,validation}`` (what the Time Series tab draws)."""
    from pathlib import Path

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.util.tensor_util import make_ndarray

    figure = Figure(figsize=(7, 4), dpi=100)
    ax = figure.subplots()
    for model in sorted(path for path in Path(folder).iterdir() if path.is_dir()):
        for part, style in (("train", "-"), ("validation", "--")):
            accumulator = EventAccumulator(str(model / part), size_guidance={"tensors": 0})
            accumulator.Reload()
            if tag in accumulator.Tags()["tensors"]:
                events = accumulator.Tensors(tag)
                losses = [float(make_ndarray(event.tensor_proto)) for event in events]
                ax.plot([event.step + 1 for event in events], losses, style, label=f"{model.name} {part}")
    ax.set_xlabel("epoch")
    ax.set_ylabel(tag.removeprefix("epoch_"))
    ax.legend()
    ax.set_title("Loss per epoch (binary cross-entropy)")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()
