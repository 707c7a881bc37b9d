"""Lesson 3: your own vectors in the Projector, with everything the digits get.

What this example teaches: how to bring vectors you made elsewhere (sentence or word embeddings, a
model's features, any table of numbers) from files into TensorBoard's Embedding Projector, and get
what lesson 1 gives the digits: a converged t-SNE map with its bookmark, each map's trust and, given a
column of classes, each point's neighbours' vote, the "Where the neighbours disagree" bookmark, the
metrics and the pictures. Lesson 1 (``mnist_tsne.py``) explains each file; here the steps are what is
particular to your data: its files, which column holds the classes, pictures or none, cosine or
Euclidean distance, and more points than the Projector loads. Then it keeps the map: new points placed on it
later, without moving it (``--onto``).

    python tools/sklearn_example.py iris examples/iris      # or your own files
    python vectors_tsne.py examples/iris/vectors.npy --metadata examples/iris/metadata.tsv \\
        --color-by species --logdir logs/iris
    ./run_tensorboard.sh --logdir logs
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mnist_tsne import check_embeddings, projector_bookmark, write_embedding_run, write_projector_logs
from tutorial import placing
from tutorial.classes import classes_of
from tutorial.errors import InputError, as_input_error, run_main
from tutorial.flags import ArgumentParser, add_map_args, positive_int
from tutorial.neighbours import METRICS, check_metric
from tutorial.notebook import show
from tutorial.pipeline import RunSettings
from tutorial.run_folder import staged_run
from tutorial.vector_files import PROJECTOR_MAX_POINTS, read_images, read_metadata, read_vectors, sample_rows

# ## 1. Your vectors, from a file
#
# One row per point, one column per dimension:
#
# - a `.npy` file is one tensor, named after the file;
# - a `.npz` holds several (e.g. a model's layers), each a tensor, all with the same rows;
# - a `.tsv` or `.csv` of numbers may have a header row (the Projector's own "vectors" TSV has none).
#
# Rows with NaN or infinity are named and refused: t-SNE cannot place them.

# ## 2. What each point is: metadata, and the column of classes
#
# A `.tsv` or `.csv` with a header row, then a row per point in the vectors' order. Its cells can be words,
# titles, labels or scores. The Projector shows a point's cells when you hover and searches them. `--color-by` names the
# column of classes (strings or numbers, at most 50 different, none empty): it colours the views and the
# pictures, and it is what the neighbours vote for. Without one you still get each map and its trust, but
# no vote: "which class do a point's neighbours carry" needs classes.

# ## 3. Pictures, if you have them
#
# `--images` takes a `.npy` of uint8 pictures (grey [N, H, W] or colour [N, H, W, 3]). Or it takes the name of
# a metadata column of image files. They are drawn as they are, in place of the points; without them the
# Projector draws dots, and so do our pictures.

# ## 4. Distance: Euclidean or cosine
#
# Sentence and word vectors are compared by angle, not length. `--metric cosine` makes every neighbour search
# cosine: the t-SNE's, the vote's, the trust's and trustworthiness's. `metrics.json` says which. In the
# Projector, the Inspector lists a point's nearest points by cosine distance unless you pick Euclidean there.

# ## 5. More points than the Projector loads
#
# The Projector reads the first 100,000 rows of a tensor and of its metadata, and no more. Past that the
# script stops and asks for `--max-points N`: N points drawn with the seed, each class keeping its share,
# and an `index` column (`row_in_files` if you have an `index`) giving each point's row in your files.


def sampled(tensors: dict[str, np.ndarray], metadata: dict[str, list], images: np.ndarray | None,
            rows: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, list], np.ndarray | None]:
    """The ``rows`` of every tensor, metadata column and image, with ``index`` (``row_in_files`` when the metadata
    has an ``index`` of its own): each point's row in the files."""
    index_column = "index" if "index" not in metadata else "row_in_files"
    metadata = {name: [values[row] for row in rows] for name, values in metadata.items()}
    return ({name: values[rows] for name, values in tensors.items()}, {**metadata, index_column: rows.tolist()},
            None if images is None else images[rows])


# ## 6. The whole pipeline: lesson 1's `write_embedding_run`
#
# One call does the rest, as for the digits:
#
# - a converged t-SNE map of every tensor, and its bookmark;
# - the neighbours' vote and trust;
# - the metrics and the pictures.
#
# The run folder is written whole or not at all.

# ## 7. Adding points to a finished map, later
#
# A map you keep can take new points: a new week's documents, or images it has not seen. Making the map again
# would move every island. `--onto RUN` places each new point on RUN's map instead (`tutorial/placing.py`):
#
# - in the space RUN's t-SNE searched: its PCA and its metric, which the run saved in `placing.npz`;
# - among the map's points only, which do not move: a point lands where they put it, whatever else comes with it.
#
# The new run holds the map's points, then the new ones. Its column `placed` says which is which. The bookmark
# "new points" opens each map with them selected. Each new point gets the class its 5 nearest map points vote for
# (`neighbours_T`), and its trust. When the new points carry classes, `metrics.json` says how often that vote is
# right, in T and on the map.
#
# To take points back out, select them in the Projector and save a bookmark. `tools/export_selection.py` turns
# the downloaded `state` file into a CSV of their rows.


def place_onto(onto: str | Path, logdir: str | Path, embeddings: dict[str, np.ndarray],
               metadata: dict[str, Sequence] | None = None, images: np.ndarray | None = None,
               metric: str | None = None) -> dict:
    """New points on the finished maps of run ``onto``, written with the map's points as a new run in ``logdir``
    (whole or not at all); returns its metrics. ``metric``, if given, must be the map's."""
    spaces, saved = placing.read_map_space(Path(onto))
    embeddings = placing.new_points_for(spaces, saved, check_embeddings(embeddings), metric)
    if Path(logdir).resolve() == Path(onto).resolve():
        raise InputError(f"--logdir {logdir} is the run placed onto; write the new run elsewhere, so the map is kept")
    old = placing.read_run_points(Path(onto), list(spaces))

    # Each new point on each map; the map's own points keep their coordinates.
    placed = placing.place_points(spaces, embeddings, saved["seed"], saved["metric"])

    # The map's points, then the new ones. The new ones get the vote of their nearest map points and their trust.
    # Each map gets two views; one selects the new points.
    joined = placing.join_new_points(Path(onto), spaces, saved, old, embeddings, placed, metadata or {}, images)
    colour = saved["color_by"] if saved["color_by"] in joined.metadata else "placed"
    views = [projector_bookmark(label, "tsne", joined.tensors[tensor], colour, colour, saved["perplexity"], selected)
             for tensor in joined.maps for label, selected in
             ((f"T-SNE {tensor}", ()), (f"{tensor}: new points ({len(joined.new_rows)})", joined.new_rows))]
    with as_input_error(), staged_run(logdir, joined.run_info) as run_dir:
        write_projector_logs(run_dir, joined.tensors, joined.metadata, joined.images,
                             {tensor: views for tensor in joined.tensors},
                             f"{len(joined.new_rows):,} new points placed on the maps of {onto}.")
        (run_dir / "metrics.json").write_text(json.dumps(joined.metrics, indent=2) + "\n")
        placing.write_map_space(run_dir, joined.spaces, saved)  # the grown map can take more points later
    return joined.metrics


# ## 8. The command line


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = ArgumentParser(description="Your own vectors in TensorBoard's Embedding Projector: a converged t-SNE "
                                        "map, bookmarks, the neighbours' vote, trust, metrics and pictures.")
    parser.add_argument("vectors", type=Path, help=".npy, .npz (every array a tensor) or .tsv/.csv of numbers")
    parser.add_argument("--metadata", type=Path, default=None,
                        help=".tsv or .csv with a header row, one row per vector (any columns, text included)")
    parser.add_argument("--images", default=None, metavar="FILE_OR_COLUMN",
                        help="uint8 pictures in a .npy, [N, H, W] or [N, H, W, 3]; or a metadata column of image "
                             "files, relative to the metadata file")
    parser.add_argument("--color-by", default=None, metavar="COLUMN",
                        help="metadata column of classes: colours the views and pictures; the neighbours vote "
                             "for it (default: none, so no vote)")
    parser.add_argument("--metric", choices=METRICS, default=None,
                        help="distance for every neighbour search and the t-SNE (default: euclidean; with --onto, "
                             "the map's)")
    parser.add_argument("--max-points", type=positive_int, default=None,
                        help=f"use N points, drawn with --seed (each class keeps its share); needed past "
                             f"{PROJECTOR_MAX_POINTS:,}, as many as the Projector loads")
    parser.add_argument("--logdir", default="logs/vectors",
                        help="run directory to write; TensorBoard serves its parent (default: %(default)s)")
    parser.add_argument("--compare", action="append", default=[], metavar="A:B",
                        help="compare two tensors of an .npz point by point (needs --color-by): a metadata column, "
                             "bookmarks selecting what each puts right and the other wrong, a picture; repeatable")
    parser.add_argument("--onto", type=Path, default=None, metavar="RUN",
                        help="place the vectors on the finished maps of RUN, a run these scripts wrote, instead of "
                             "making new maps (section 7); --max-points then samples the new points")
    add_map_args(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    import tutorial.quiet_tensorflow  # noqa: F401  (before TensorFlow loads: no C++ log lines)

    # %% 1
    # Everything is read and checked before anything slow starts (TensorFlow is not loaded yet).
    tensors = read_vectors(args.vectors)
    n = len(next(iter(tensors.values())))
    print(f"Read {n:,} vectors: {', '.join(f'{name} {list(t.shape)}' for name, t in tensors.items())}")

    # %% 2
    metadata, cleaned = read_metadata(args.metadata, n) if args.metadata else ({}, 0)
    if cleaned:
        print(f"note: {cleaned} metadata cells held a tab or line break, which metadata.tsv cannot hold; "
              "each is now spaces")
    if args.color_by and not metadata:
        raise InputError("--color-by needs --metadata, the file that holds the column")
    classes = classes_of(metadata, args.color_by, n)
    print(f"Metadata columns {list(metadata)}" + (f"; {len(classes.names)} classes in {args.color_by!r}"
                                                  if classes else ""))

    # %% 3
    images = read_images(args.images, metadata, args.metadata, n) if args.images else None
    print(f"Images {list(images.shape[1:])}" if images is not None else "No images: the Projector draws dots")

    # %% 4
    check_metric(tensors, args.metric or "euclidean")

    # %% 5
    # No more points than the Projector loads.
    if n > PROJECTOR_MAX_POINTS and args.max_points is None:
        raise InputError(f"{n:,} vectors, and the Projector loads the first {PROJECTOR_MAX_POINTS:,} only; pass "
                         f"--max-points {PROJECTOR_MAX_POINTS} (or fewer) to sample them")
    if args.max_points and args.max_points < n:
        rows = sample_rows(n, args.max_points, args.seed, classes.codes if classes else None)
        tensors, metadata, images = sampled(tensors, metadata, images, rows)
        print(f"Sampled {len(rows):,} of the {n:,} points (seed {args.seed}"
              f"{f', each {args.color_by} keeping its share' if classes else ''}); metadata column "
              f"{list(metadata)[-1]!r} gives each one's row in your files")

    # %% 6
    # The whole pipeline, in a run folder that appears whole or not at all.
    pairs = tuple(tuple(pair.split(":", 1)) for pair in args.compare)
    if bad := [pair for pair in args.compare if ":" not in pair]:
        raise InputError(f"--compare {bad[0]}: give two tensors as A:B")
    metric = args.metric or "euclidean"
    settings = RunSettings(tsne_dims=tuple(args.tsne_dims) if args.tsne else (), perplexity=args.perplexity,
                           seed=args.seed, evaluate=args.metrics, pairs=pairs,
                           run_info={"script": "vectors_tsne.py", "args": vars(args)},
                           description=f"{', '.join(tensors)} from {args.vectors} ({metric} distance).")
    if not args.onto:
        write_embedding_run(args.logdir, tensors, metadata or None, images, color_by=args.color_by, metric=metric,
                            settings=settings)
        maps = " and their t-SNE maps" if args.tsne else ""
        print(f"Wrote {args.logdir}: tensors {', '.join(tensors)}{maps}"
              f"{', metadata' if metadata else ''}{', sprite' if images is not None else ''}")
    for name in tensors if args.tsne and not args.onto else ():
        show(Path(args.logdir) / f"tsne_map_{name}.png")  # in a notebook; in a terminal, nothing

    # %% 7
    # With --onto, the vectors are new points on a finished map instead (nothing ran in step 6).
    if args.onto:
        metrics = place_onto(args.onto, args.logdir, tensors, metadata, images, args.metric)
        print(f"Wrote {args.logdir}: {metrics['new_points']:,} new points on the maps of {args.onto}; its bookmark "
              "'new points' selects them")
        for name, right in metrics["embeddings"].items():  # when the new points carry the map's classes
            print(f"The 5 nearest map points' vote is right for {right['knn_accuracy_of_new_points']:.3f} of the new "
                  f"points in {name}, " + ", ".join(f"{share:.3f} on {key.rsplit('_on_', 1)[1]}"
                                                    for key, share in right.items() if "_on_" in key))

    # %% 8
    print(f"Now run ./run_tensorboard.sh --logdir {Path(args.logdir).parent} and open http://127.0.0.1:6006/#projector")


if __name__ == "__main__":
    run_main(main)
