"""Each point's nearest neighbours in a tensor: one exact search, shared by the vote, the trust and the metrics.

``nearest_neighbours(values)`` finds each point's 10 nearest neighbours
among all N points (exact, the point itself left out), in Euclidean distance
or, with ``metric="cosine"``, in cosine distance (the angle between vectors,
what sentence and word vectors are compared by). It is done once per tensor,
and what it finds serves:

- ``neighbour_vote``: the class most of a point's 5 nearest neighbours carry
  (a tie goes to the class of the nearest tied neighbour, so the votes do not
  depend on the classes' names). Where it differs from the point's own class, the
  tensor puts that point among another class; their share is the
  leave-one-out 5-NN error, the metrics' kNN accuracy;
- ``map_trust``: how many of a point's nearest neighbours on a map are also
  its nearest in the tensor the map was made from, 0 to 1, averaged over the
  1, 2, ... 10 nearest: low where the map has put a point in the wrong
  company. Averaging gives hundreds of distinct values, so the Projector
  colours the column as a gradient (50 distinct values or fewer: categories).

An exact search compares every point with every other: N x N x D
multiply-adds, about 10 s on 2 cores for 20,000 pixel vectors and 2 minutes
for 70,000. Past ``EXACT_FOR_ALL_UP_TO`` a Euclidean search runs in the
tensor's 50 principal components instead, still exact and for every point:
the very search the t-SNE made of them, when it made one and it is handed in
(``searched``; ``tutorial/tsne.py``). ``Neighbours.space`` says so, and so do
the metrics. A cosine search always runs in the vectors themselves (PCA would
change their angles).
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from tutorial.classes import Classes
from tutorial.errors import InputError
from tutorial.pca import leading_components

VOTERS = 5
TRUST_NEIGHBOURS = 10
# N x N x D of 20,000 pixel vectors: the most one search runs in a tensor's own dimensions.
EXACT_FOR_ALL_UP_TO = 20_000 ** 2 * 784
PCA_DIMENSIONS = 50
METRICS = ("euclidean", "cosine")


@dataclass
class Neighbours:
    """``indices[i]`` are point i's nearest neighbours among all points, nearest first, and ``distances[i]``
    how far (in ``metric``), found in ``space`` ("" for the tensor itself, else "its 50 principal components")."""

    indices: np.ndarray
    distances: np.ndarray | None = None
    space: str = ""
    metric: str = "euclidean"


PRINCIPAL_SPACE = f"its {PCA_DIMENSIONS} principal components"


def all_zero_rows(values: np.ndarray) -> np.ndarray:
    """The row numbers of ``values`` that are all zeros: vectors with no direction, so no cosine distance."""
    return np.flatnonzero(~np.any(values, axis=1))


def _no_direction(zero: np.ndarray) -> str:
    rows = f"{'rows' if zero.size > 1 else 'row'} {', '.join(map(str, zero[:5]))}{', ...' * (zero.size > 5)}"
    return f"{zero.size} all-zero vectors ({rows}) have no direction, so no cosine distance; drop them or use " \
           "metric euclidean"


def unit_rows(values: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1: Euclidean distances between them rank pairs as cosine distance does.
    ValueError naming the rows that are all zeros, which have no direction."""
    if (zero := all_zero_rows(values)).size:
        raise InputError(_no_direction(zero))
    return values / np.linalg.norm(values, axis=1, keepdims=True)


def check_metric(embeddings: dict[str, np.ndarray], metric: str) -> None:
    """InputError unless ``metric`` is one of ``METRICS`` and, for cosine, no vector is all zeros."""
    if metric not in METRICS:
        raise InputError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
    for name, values in embeddings.items() if metric == "cosine" else ():
        if (zero := all_zero_rows(np.asarray(values))).size:
            raise InputError(f"embedding {name!r}: {_no_direction(zero)}")


def exact_search(x: np.ndarray, k: int, metric: str = "euclidean") -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``k`` nearest other rows of ``x`` [N, D] and their distances in ``metric``, exact."""
    from sklearn.neighbors import NearestNeighbors

    check_metric({}, metric)
    x = np.asarray(x, dtype=np.float32)
    if metric == "cosine":
        x = unit_rows(x)
    # Brute force is exact and, through BLAS, the fastest for tens of dimensions and more.
    index = NearestNeighbors(n_neighbors=min(k, len(x) - 1), algorithm="kd_tree" if x.shape[1] <= 3 else "brute",
                             n_jobs=-1)
    distances, indices = index.fit(x).kneighbors()
    # Between unit vectors, |a - b|^2 = 2 (1 - cos): the cosine distance.
    return indices, (distances ** 2 / 2 if metric == "cosine" else distances)


def nearest_neighbours(values: np.ndarray, k: int = TRUST_NEIGHBOURS, seed: int = 0, budget: float | None = None,
                       metric: str = "euclidean", searched: Neighbours | None = None) -> Neighbours:
    """Each point's ``k`` nearest neighbours (exact, itself excluded) in ``metric``. Past ``budget`` N x N x D
    (``EXACT_FOR_ALL_UP_TO`` unless given) a Euclidean search runs in the tensor's 50 principal components
    (``seed`` for the PCA). ``searched``, a search the t-SNE already made of these values, is reused when it
    is in the space and metric this search would use and found at least ``k``."""
    values = np.asarray(values, dtype=np.float32)
    n, dims = values.shape
    space = ""
    if (metric == "euclidean" and n * n * dims > (EXACT_FOR_ALL_UP_TO if budget is None else budget)
            and dims > PCA_DIMENSIONS):
        space = PRINCIPAL_SPACE
    if searched is not None and (searched.space, searched.metric) == (space, metric) and searched.indices.shape[1] >= k:
        distances = None if searched.distances is None else searched.distances[:, :k]
        return Neighbours(searched.indices[:, :k], distances, space, metric)
    if space:
        values = leading_components(values, PCA_DIMENSIONS, seed)
    return Neighbours(*exact_search(values, k, metric), space, metric)


def neighbour_vote(neighbours: np.ndarray, labels: np.ndarray, voters: int = VOTERS) -> np.ndarray:
    """The class [M] that most of each row's first ``voters`` neighbours [M, k] (nearest first) carry; a tie goes
    to the class of the nearest of the tied neighbours, so renaming the classes changes no vote."""
    votes = np.asarray(labels)[neighbours[:, :voters]]
    rows = np.arange(len(votes))
    counts = np.zeros((len(votes), int(np.max(labels)) + 1), dtype=np.int32)
    np.add.at(counts, (rows[:, None], votes), 1)
    # Each neighbour's class is among the most voted for, or not; the first that is, nearest first, wins.
    tied = counts[rows[:, None], votes] == counts.max(axis=1, keepdims=True)
    return votes[rows, tied.argmax(axis=1)]


def right_only(votes: np.ndarray, other_votes: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two tensors' votes [N] point by point: where only the first puts a point in its own class, and where
    only the other does (boolean [N] each)."""
    right, other_right = np.asarray(votes) == labels, np.asarray(other_votes) == labels
    return right & ~other_right, other_right & ~right


def map_trust(on_map: np.ndarray, neighbours: np.ndarray) -> np.ndarray:
    """For each point, the share [N] of its j nearest neighbours on the map [N, k] that are also its j nearest
    ``neighbours`` [N, k], averaged over j = 1 ... k."""
    k = neighbours.shape[1]
    shares = [(on_map[:, :j, None] == neighbours[:, None, :j]).any(axis=2).sum(axis=1) / j for j in range(1, k + 1)]
    return np.mean(shares, axis=0)


def disagreement_columns(name: str, neighbours: dict[str, Neighbours], maps: list[str],
                         classes: Classes | None) -> tuple[dict[str, list], np.ndarray | None]:
    """Metadata columns for tensor ``name``: ``neighbours_<name>``, the class its neighbours vote for (with
    ``classes``), and ``trust_<map>`` for each of its ``maps``; and each point's vote [N] (a class number), or
    None without classes. ``neighbours`` holds the search of each tensor."""
    trust = trust_columns(name, neighbours, maps)
    if classes is None:
        return trust, None
    votes = neighbour_vote(neighbours[name].indices, classes.codes)
    return {f"neighbours_{name}": [classes.names[vote] for vote in votes], **trust}, votes


def trust_columns(name: str, neighbours: dict[str, Neighbours], maps: list[str]) -> dict[str, list]:
    """A ``trust_<map>`` metadata column (``map_trust``, 4 decimals) for each of tensor ``name``'s ``maps``."""
    return {f"trust_{map_name}": map_trust(neighbours[map_name].indices, neighbours[name].indices).round(4).tolist()
            for map_name in maps}


def neighbour_searches(tensors: dict[str, np.ndarray], seed: int = 0, metric: str = "euclidean",
                       searched: dict[str, Neighbours] | None = None, maps: Collection[str] = ()
                       ) -> dict[str, Neighbours]:
    """``nearest_neighbours`` of every tensor, printing the time it took and which searched another space.

    Embeddings are searched in ``metric``; the tensors named in ``maps`` (2-D and 3-D t-SNE maps) in Euclidean
    distance, as they are drawn. ``searched`` holds the t-SNE's own search of each embedding, reused where it
    fits."""
    start = time.perf_counter()
    print(f"Nearest neighbours of every tensor (one exact search each; {metric} distance"
          f"{', maps Euclidean' if metric != 'euclidean' else ''}) ...", flush=True)
    found = {name: nearest_neighbours(values, seed=seed, metric="euclidean" if name in maps else metric,
                                      searched=(searched or {}).get(name)) for name, values in tensors.items()}
    for name, neighbours in found.items():
        if neighbours.space:
            print(f"  {name}: {len(tensors[name]):,} points x {tensors[name].shape[1]} dimensions take minutes to "
                  f"search; searched in {neighbours.space}, as the t-SNE does (the vote and kNN accuracy say so)",
                  flush=True)
    print(f"  done in {time.perf_counter() - start:.1f} s", flush=True)
    return found
