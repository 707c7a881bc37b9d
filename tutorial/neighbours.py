"""Each point's nearest neighbours in a tensor: one exact search, shared by the vote, the trust and the metrics.

``nearest_neighbours(values)`` finds each point's 10 nearest neighbours
among all N points (Euclidean, exact, the point itself left out). It is done
once per tensor, and what it finds serves:

- ``neighbour_vote``: the class most of a point's 5 nearest neighbours carry
  (a tie goes to the smaller class number, as in scikit-learn's
  ``KNeighborsClassifier``). Where it differs from the point's own class, the
  tensor puts that point among another class; their share is the
  leave-one-out 5-NN error, the metrics' kNN accuracy;
- ``map_trust``: how many of a point's nearest neighbours on a map are also
  its nearest in the tensor the map was made from, 0 to 1, averaged over the
  1, 2, ... 10 nearest: low where the map has put a point in the wrong
  company. Averaging gives hundreds of distinct values, so the Projector
  colours the column as a gradient (50 distinct values or fewer: categories).

An exact search compares every point with every other: N x N x D
multiply-adds, about 10 s on 2 cores for 20,000 pixel vectors and 2 minutes
for 70,000. Past ``EXACT_FOR_ALL_UP_TO`` the search runs in the tensor's 50
principal components instead, still exact and for every point: the very
search the t-SNE made of them, when it made one (``tutorial/tsne.py``).
``Neighbours.space`` says so, and so do the metrics.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from tutorial.pca import leading_components
from tutorial.tsne import searched_neighbours

VOTERS = 5
TRUST_NEIGHBOURS = 10
# N x N x D of 20,000 pixel vectors: the most one search runs in a tensor's own dimensions.
EXACT_FOR_ALL_UP_TO = 20_000 ** 2 * 784
PCA_DIMENSIONS = 50


@dataclass
class Neighbours:
    """``indices[i]`` are point i's nearest neighbours among all points, nearest first, found in ``space``
    ("" for the tensor itself, else e.g. "its 50 principal components")."""

    indices: np.ndarray
    space: str = ""


def nearest_neighbours(values: np.ndarray, k: int = TRUST_NEIGHBOURS, seed: int = 0,
                       budget: float | None = None) -> Neighbours:
    """Each point's ``k`` nearest neighbours (exact, itself excluded); past ``budget`` N x N x D
    (``EXACT_FOR_ALL_UP_TO`` unless given), in the tensor's 50 principal components (``seed`` for the PCA)."""
    from sklearn.neighbors import NearestNeighbors

    values = np.asarray(values, dtype=np.float32)
    n, dims = values.shape
    space = ""
    if n * n * dims > (EXACT_FOR_ALL_UP_TO if budget is None else budget) and dims > PCA_DIMENSIONS:
        values, space = leading_components(values, PCA_DIMENSIONS, seed), f"its {PCA_DIMENSIONS} principal components"
        if (kept := searched_neighbours(values)) is not None and kept.shape[1] >= k:  # the t-SNE searched them
            return Neighbours(kept[:, :k], space)
    # Brute force is exact and, through BLAS, the fastest for tens of dimensions and more.
    index = NearestNeighbors(n_neighbors=min(k, n - 1), algorithm="kd_tree" if dims <= 3 else "brute", n_jobs=-1)
    return Neighbours(index.fit(values).kneighbors(return_distance=False), space)


def neighbour_vote(neighbours: np.ndarray, labels: np.ndarray, voters: int = VOTERS) -> np.ndarray:
    """The class [M] that most of each row's first ``voters`` neighbours [M, k] carry; ties go to the smaller class."""
    votes = np.asarray(labels)[neighbours[:, :voters]]
    counts = np.zeros((len(votes), int(np.max(labels)) + 1), dtype=np.int32)
    np.add.at(counts, (np.arange(len(votes))[:, None], votes), 1)
    return counts.argmax(axis=1)


def map_trust(on_map: np.ndarray, neighbours: np.ndarray) -> np.ndarray:
    """For each point, the share [N] of its j nearest neighbours on the map [N, k] that are also its j nearest
    ``neighbours`` [N, k], averaged over j = 1 ... k."""
    k = neighbours.shape[1]
    shares = [(on_map[:, :j, None] == neighbours[:, None, :j]).any(axis=2).sum(axis=1) / j for j in range(1, k + 1)]
    return np.mean(shares, axis=0)


def disagreement_columns(name: str, neighbours: dict[str, Neighbours], maps: list[str], labels: np.ndarray,
                         class_names: list[str]) -> tuple[dict[str, list], np.ndarray]:
    """Metadata columns for tensor ``name``: ``neighbours_<name>``, the class name its neighbours vote for,
    and ``trust_<map>`` for each of its ``maps``; and each point's vote [N] (a class number).

    ``neighbours`` holds the search of each tensor."""
    votes = neighbour_vote(neighbours[name].indices, labels)
    columns = {f"neighbours_{name}": [class_names[vote] for vote in votes]}
    columns |= {f"trust_{map_name}": map_trust(neighbours[map_name].indices, neighbours[name].indices).round(4)
                .tolist() for map_name in maps}
    return columns, votes


def neighbour_searches(tensors: dict[str, np.ndarray], seed: int = 0) -> dict[str, Neighbours]:
    """``nearest_neighbours`` of every tensor, printing the time it took and which searched another space."""
    start = time.perf_counter()
    print("Nearest neighbours of every tensor (one exact search each) ...", flush=True)
    found = {name: nearest_neighbours(values, seed=seed) for name, values in tensors.items()}
    for name, neighbours in found.items():
        if neighbours.space:
            print(f"  {name}: {len(tensors[name]):,} points x {tensors[name].shape[1]} dimensions take minutes to "
                  f"search; searched in {neighbours.space}, as the t-SNE does (the vote and kNN accuracy say so)",
                  flush=True)
    print(f"  done in {time.perf_counter() - start:.1f} s", flush=True)
    return found
