"""New points on a finished t-SNE map: the map stays, each new point finds its place among the map's points.

A map is kept so that new points can be added to it later (lesson 3). Making
the map again would move every island. Instead each new point is placed the
way t-SNE placed the map's own points, against the map held still:

- the new point goes into the space the map's t-SNE searched: the same PCA
  axes (for wide Euclidean vectors) or the vectors themselves, in the same
  metric;
- an exact search finds its 15 nearest map points there, and openTSNE turns
  their distances into affinities with perplexity 5 (its ``transform``'s own
  default: a new point is placed among its closest map points);
- it starts on its nearest map point, and openTSNE's partial optimisation
  moves it for a fixed number of iterations (``PLACING_ITERATIONS``), the map
  held still.

Each new point only sees the map's points, never the other new points, and the
number of iterations is fixed (a stop on the KL divergence would depend on all of
them together). So a point's place does not depend on which others come with it:
placing a subset gives the same places as placing all and taking that subset.

``MapSpace`` holds what a run keeps of each embedding for this; ``write_map_space``
and ``read_map_space`` store it as ``placing.npz`` and ``placing.json``, which
hold no code (``allow_pickle=False``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from tutorial.errors import InputError
from tutorial.pca import PcaBasis

# Measured on Fashion-MNIST, the 10,000 test images placed on a map of the 60,000 training ones (seed 0, before
# ties in the vote went to the nearest neighbour): the placed images' 5-NN vote on the map was right for 0.8311,
# against 0.8373 when all 70,000 were mapped together.
# openTSNE's transform defaults (a start at the median of the 25 nearest, perplexity 5, learning rate 0.1,
# exaggeration 1.5, 250 iterations) gave 0.8128; a start at the median of the 5 nearest, 0.8242. Perplexity 30
# gave 0.8270, and learning rate 2, 0.8262. The gradients stay clipped (openTSNE's transform does so too), so
# that a point started on top of a map point is not shot out of its island. bench/placing.py measures it.
PLACING_PERPLEXITY = 5.0
PLACING_LEARNING_RATE = 1.0
PLACING_MAX_GRAD_NORM = 0.25
PLACING_ITERATIONS = 100
START_FROM_NEAREST = 1
PLACING_FILE, PLACING_SETTINGS = "placing.npz", "placing.json"


@dataclass
class MapSpace:
    """One embedding's maps and the space they were made in: ``x`` [N, K], the vectors the t-SNE searched (the
    embedding itself, or its leading components on the axes ``pca``); ``maps``, each map's coordinates by
    tensor name; ``width``, the embedding's own number of dimensions."""

    x: np.ndarray
    maps: dict[str, np.ndarray]
    width: int
    pca: PcaBasis | None = None


def to_searched_space(space: MapSpace, values: np.ndarray) -> np.ndarray:
    """New vectors [M, width] in the space the map's t-SNE searched: float32 [M, K]."""
    values = np.asarray(values, dtype=np.float32)
    return space.pca.project(values) if space.pca is not None else values


def nearest_map_points(x: np.ndarray, new_x: np.ndarray, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Each new row's ``k`` nearest rows of ``x`` [N, K] and their distances in ``metric``, exact (as
    ``tutorial.neighbours.exact_search`` finds a map's own points')."""
    from sklearn.neighbors import NearestNeighbors

    from tutorial.neighbours import unit_rows

    if metric == "cosine":
        x, new_x = unit_rows(x), unit_rows(new_x)
    index = NearestNeighbors(n_neighbors=min(k, len(x)), algorithm="brute", n_jobs=-1).fit(x)
    distances, indices = index.kneighbors(new_x)
    return indices, (distances ** 2 / 2 if metric == "cosine" else distances)


def place_on_map(coordinates: np.ndarray, x: np.ndarray, new_x: np.ndarray, seed: int = 0,
                 metric: str = "euclidean", iterations: int = PLACING_ITERATIONS,
                 perplexity: float = PLACING_PERPLEXITY) -> np.ndarray:
    """Places [M, dims] for new points ``new_x`` [M, K] on a finished map ``coordinates`` [N, dims] made of
    ``x`` [N, K]. The map is not moved: its points keep their coordinates, and a new point's place depends
    only on the map and on itself."""
    from openTSNE.affinity import joint_probabilities_nn
    from openTSNE.tsne import PartialTSNEEmbedding, TSNEEmbedding
    from scipy.sparse import csr_matrix

    coordinates = np.asarray(coordinates, dtype=np.float64)
    indices, distances = nearest_map_points(x, new_x, int(3 * perplexity), metric)
    affinities = joint_probabilities_nn(indices, distances, [perplexity], symmetrize=False,
                                        normalization="point-wise", n_reference_samples=len(x), n_jobs=-1)
    # openTSNE's FFT gradients work on a grid centred on the map, and centre the map they are given.
    # They get a centred copy; the places are moved back, so the map's own coordinates never change.
    centre = (coordinates.max(axis=0) + coordinates.min(axis=0)) / 2
    method = "fft" if coordinates.shape[1] == 2 else "bh"
    # The map's own affinities are not needed (it does not move); openTSNE only checks their shape.
    no_affinities = SimpleNamespace(P=csr_matrix((len(coordinates), len(coordinates))))
    reference = TSNEEmbedding(coordinates - centre, no_affinities, random_state=seed,
                              negative_gradient_method=method, n_jobs=-1)
    start = np.median(reference[indices[:, :START_FROM_NEAREST]], axis=1)
    placed = PartialTSNEEmbedding(start, reference, affinities, **reference.gradient_descent_params)
    placed.optimize(n_iter=iterations, learning_rate=PLACING_LEARNING_RATE, exaggeration=1.0,
                    momentum=0.8, max_grad_norm=PLACING_MAX_GRAD_NORM, max_step_norm=None, inplace=True)
    return (np.asarray(placed) + centre).astype(np.float32)


def place_points(spaces: dict[str, MapSpace], new: dict[str, np.ndarray], seed: int = 0,
                 metric: str = "euclidean", iterations: int = PLACING_ITERATIONS) -> dict[str, np.ndarray]:
    """Each map's places [M, dims] for the new points, by map name: ``new`` holds, for each embedding in
    ``spaces``, the new points' vectors in it."""
    placed = {}
    for name, space in spaces.items():
        start = time.perf_counter()
        new_x = to_searched_space(space, new[name])
        for tensor, coordinates in space.maps.items():
            placed[tensor] = place_on_map(coordinates, space.x, new_x, seed, metric, iterations)
        print(f"Placed {len(new_x):,} new points on the maps of {name} ({', '.join(space.maps)}): "
              f"{time.perf_counter() - start:.1f} s", flush=True)
    return placed


def write_map_space(run_dir: Path, spaces: dict[str, MapSpace], settings: dict) -> None:
    """``placing.npz``: each embedding's searched vectors, PCA axes and maps; ``placing.json``: ``settings``
    (metric, perplexity, seed) and which map is of which embedding."""
    arrays = {}
    for name, space in spaces.items():
        arrays[f"{name}/x"] = space.x.astype(np.float32)
        if space.pca is not None:
            arrays[f"{name}/pca_mean"], arrays[f"{name}/pca_components"] = space.pca.mean, space.pca.components
        arrays |= {f"{name}/map/{tensor}": coordinates.astype(np.float32) for tensor, coordinates in space.maps.items()}
    np.savez(Path(run_dir) / PLACING_FILE, **arrays)
    layout = {name: {"width": space.width, "maps": list(space.maps)} for name, space in spaces.items()}
    (Path(run_dir) / PLACING_SETTINGS).write_text(json.dumps({**settings, "embeddings": layout}, indent=2) + "\n")


def read_map_space(run_dir: Path) -> tuple[dict[str, MapSpace], dict]:
    """What ``write_map_space`` stored: each embedding's ``MapSpace``, and the settings. InputError, in one
    line, when ``run_dir`` is not a run or holds no saved map."""
    run_dir = Path(run_dir)
    if not (run_dir / "projector_config.pbtxt").is_file():
        raise InputError(f"--onto {run_dir} is not a Projector run (no projector_config.pbtxt); give a run folder "
                         "these scripts wrote")
    if not (run_dir / PLACING_SETTINGS).is_file() or not (run_dir / PLACING_FILE).is_file():
        raise InputError(f"--onto {run_dir}: this run holds no saved map to place points on ({PLACING_SETTINGS}); "
                         "make it again with t-SNE maps (without --no-tsne)")
    settings = json.loads((run_dir / PLACING_SETTINGS).read_text())
    spaces = {}
    with np.load(run_dir / PLACING_FILE, allow_pickle=False) as arrays:
        for name, layout in settings.pop("embeddings").items():
            pca = (PcaBasis(arrays[f"{name}/pca_mean"], arrays[f"{name}/pca_components"])
                   if f"{name}/pca_mean" in arrays else None)
            spaces[name] = MapSpace(arrays[f"{name}/x"], {tensor: arrays[f"{name}/map/{tensor}"]
                                                           for tensor in layout["maps"]}, layout["width"], pca)
    return spaces, settings


def new_point_columns(space: MapSpace, name: str, new_x: np.ndarray, placed: dict[str, np.ndarray],
                      metric: str, map_classes: list[str] | None) -> dict[str, list]:
    """For new points ``new_x`` (in the searched space) placed at ``placed`` (by map), the columns lesson 1 gives
    a map's own points, found among the map's points only: ``neighbours_<name>``, the class their 5 nearest map
    points vote for (``map_classes``: each map point's class), and ``trust_<map>``: how many of a new point's
    10 nearest map points on the map are its 10 nearest in the searched space."""
    from tutorial.neighbours import TRUST_NEIGHBOURS, VOTERS, map_trust, neighbour_vote

    nearest, _ = nearest_map_points(space.x, new_x, TRUST_NEIGHBOURS, metric)
    columns = {}
    if map_classes is not None:
        names, codes = np.unique(np.asarray(map_classes), return_inverse=True)
        columns[f"neighbours_{name}"] = names[neighbour_vote(nearest[:, :VOTERS], codes)].tolist()
    for tensor, coordinates in space.maps.items():
        on_map, _ = nearest_map_points(coordinates, placed[tensor], TRUST_NEIGHBOURS, "euclidean")
        columns[f"trust_{tensor}"] = map_trust(on_map, nearest).round(4).tolist()
    return columns


def map_vote_accuracy(coordinates: np.ndarray, placed: np.ndarray, map_classes: list[str],
                      new_classes: list[str]) -> float:
    """How often the 5 nearest map points on the map vote for a placed point's own class."""
    from tutorial.neighbours import VOTERS, neighbour_vote

    names, codes = np.unique(np.asarray(map_classes), return_inverse=True)
    on_map, _ = nearest_map_points(coordinates, placed, VOTERS, "euclidean")
    return float(np.mean(names[neighbour_vote(on_map, codes)] == np.asarray(new_classes)))


@dataclass
class RunPoints:
    """A run's points as its files hold them: ``tensors`` by name, ``metadata`` columns as text, and ``tiles``,
    each point's picture as its sprite shows it (None without a sprite)."""

    tensors: dict[str, np.ndarray]
    metadata: dict[str, list[str]]
    tiles: np.ndarray | None


def read_run_points(run_dir: Path, names: list[str]) -> RunPoints:
    """A run's tensors ``names`` (from its checkpoint), its metadata columns (as text, read as the Projector reads
    ``metadata.tsv``) and its pictures, cut back out of ``sprite.png``."""
    import re

    import tensorflow as tf
    from PIL import Image

    from tutorial.run_folder import read_run_metadata

    checkpoint = tf.train.load_checkpoint(str(run_dir))
    tensors = {name: checkpoint.get_tensor(name) for name in names}
    n = len(next(iter(tensors.values())))
    metadata = read_run_metadata(run_dir)
    tiles = None
    config = (run_dir / "projector_config.pbtxt").read_text()
    if (run_dir / "sprite.png").is_file() and (sizes := re.findall(r"single_image_dim:\s*(\d+)", config)):
        width, height = map(int, sizes[:2])
        sprite = np.asarray(Image.open(run_dir / "sprite.png"))
        # make_sprite's grid: cols x cols thumbnails, row-major.
        cols = sprite.shape[1] // width
        grid = sprite[:cols * height].reshape(cols, height, cols, width, *sprite.shape[2:]).swapaxes(1, 2)
        tiles = grid.reshape(cols * cols, height, width, *sprite.shape[2:])[:n]
    return RunPoints(tensors, metadata, tiles)


def pictures_like(images: np.ndarray, tiles: np.ndarray) -> np.ndarray:
    """New pictures (uint8, grey or colour) at the size and in the colours of a run's ``tiles`` [N, h, w(, 3)]."""
    from PIL import Image

    images = np.asarray(images, dtype=np.uint8)
    height, width = tiles.shape[1:3]
    mode = "RGB" if tiles.ndim == 4 else "L"
    return np.stack([np.asarray(Image.fromarray(image).convert(mode).resize((width, height), Image.Resampling.BOX))
                     for image in images])


def new_points_for(spaces: dict[str, MapSpace], saved: dict, embeddings: dict[str, np.ndarray],
                   metric: str | None) -> dict[str, np.ndarray]:
    """The new points' vectors for each embedding the map was made of, checked against it (InputError, one line);
    a lone tensor (a ``.npy``) goes with a map of one embedding, whatever its name. ``metric``, if given, must be
    the map's (``saved["metric"]``). The map's points and the new ones must fit in the Projector."""
    from tutorial.vector_files import PROJECTOR_MAX_POINTS

    if metric not in (None, saved["metric"]):
        raise InputError(f"the map was made with {saved['metric']} distance, not {metric}; drop --metric")
    if len(embeddings) == 1 and len(spaces) == 1:
        embeddings = {next(iter(spaces)): next(iter(embeddings.values()))}
    if missing := [name for name in spaces if name not in embeddings]:
        raise InputError(f"the map was made of {', '.join(spaces)}; the new vectors have no {missing[0]!r} "
                         f"(they hold {', '.join(embeddings)})")
    for name, space in spaces.items():
        if embeddings[name].shape[1] != space.width:
            raise InputError(f"{name}: the map's vectors have {space.width} dimensions, the new ones "
                             f"{list(embeddings[name].shape)}")
    m, n = len(next(iter(embeddings.values()))), len(next(iter(spaces.values())).x)
    if n + m > PROJECTOR_MAX_POINTS:
        raise InputError(f"{n:,} map points and {m:,} new ones, and the Projector loads {PROJECTOR_MAX_POINTS:,}; "
                         f"pass --max-points {PROJECTOR_MAX_POINTS - n} (or fewer) to sample the new ones")
    return {name: np.asarray(embeddings[name], dtype=np.float32) for name in spaces}


@dataclass
class JoinedRun:
    """The map's points, then the new ones: what the new run's files hold. ``maps``: the map tensors' names;
    ``new_rows``: the new points' rows; ``spaces``: the grown maps, to place more points on later."""

    tensors: dict[str, np.ndarray]
    metadata: dict[str, list[str]]
    images: np.ndarray | None
    metrics: dict
    run_info: dict
    spaces: dict[str, MapSpace]
    maps: list[str]
    new_rows: list[int]


def join_new_points(onto: Path, spaces: dict[str, MapSpace], saved: dict, old: RunPoints,
                    embeddings: dict[str, np.ndarray], placed: dict[str, np.ndarray], metadata: dict[str, Sequence],
                    images: np.ndarray | None) -> JoinedRun:
    """The run of ``old`` (the map's points, read from run ``onto``) with the new points (``embeddings``, placed
    at ``placed``, with their ``metadata`` and ``images``) after them.

    The new points get the user's columns, then ``neighbours_<tensor>`` and ``trust_<map>`` (``new_point_columns``);
    the map's points keep theirs, and cells a side lacks stay empty. ``placed`` says "map" or "new". With the
    map's colour column among the new points' metadata, the metrics say how often the vote is right, in each
    tensor and on each map. Pictures go in only when both sides have them (a note says so otherwise)."""
    n, m = len(next(iter(spaces.values())).x), len(next(iter(embeddings.values())))
    new_x = {name: to_searched_space(space, embeddings[name]) for name, space in spaces.items()}
    color_by, map_classes = saved["color_by"], old.metadata.get(saved["color_by"] or "")
    columns = {name: [str(value) for value in values] for name, values in metadata.items()}
    for name, space in spaces.items():
        columns |= new_point_columns(space, name, new_x[name], placed, saved["metric"], map_classes)
    if "row" in old.metadata and "row" not in columns:  # the pipeline's row numbers, continued
        columns["row"] = [str(row) for row in range(n, n + m)]
    joined = {column: [*old.metadata.get(column, [""] * n), *columns.get(column, [""] * m)]
              for column in dict.fromkeys([*old.metadata, *columns]) if column != "placed"}
    joined["placed"] = [*old.metadata.get("placed", ["map"] * n), *["new"] * m]

    metrics = {"placed_onto": str(onto), "map_points": n, "new_points": m, "embeddings": {}}
    for name, space in spaces.items() if color_by in columns else ():
        right = np.mean(np.asarray(columns[f"neighbours_{name}"]) == np.asarray(columns[color_by]))
        metrics["embeddings"][name] = {"knn_accuracy_of_new_points": round(float(right), 4), **{
            f"knn_accuracy_of_new_points_on_{tensor}": round(map_vote_accuracy(
                coordinates, placed[tensor], map_classes, columns[color_by]), 4)
            for tensor, coordinates in space.maps.items()}}

    if (old.tiles is None) != (images is None):
        print("note: " + ("the run has no pictures, so the new ones are left out" if old.tiles is None else
                          "the run has pictures and the new points none; the new run has no pictures"))
    sprite = None if old.tiles is None or images is None else np.concatenate([old.tiles,
                                                                               pictures_like(images, old.tiles)])
    grown = {name: MapSpace(np.concatenate([space.x, new_x[name]]),
                            {tensor: np.concatenate([coordinates, placed[tensor]])
                             for tensor, coordinates in space.maps.items()}, space.width, space.pca)
             for name, space in spaces.items()}
    maps = {tensor: coordinates for space in grown.values() for tensor, coordinates in space.maps.items()}
    tensors = {name: np.concatenate([old.tensors[name], embeddings[name]]) for name in spaces} | maps
    run_info = {"script": "place_onto", "onto": str(onto), "maps": {
        tensor: {"of": name, "dims": coordinates.shape[1]} for name, space in spaces.items()
        for tensor, coordinates in space.maps.items()}}
    return JoinedRun(tensors, joined, sprite, metrics, run_info, grown, list(maps), list(range(n, n + m)))
