"""Each point's nearest neighbours in a tensor: one exact search, shared by the vote, the trust and the metrics.

``nearest_neighbours(values)`` finds each point's 10 nearest neighbours
among all N points (Euclidean, exact, the point itself left out). It is done
once per tensor, and what it finds serves:

- ``neighbour_vote``: the class most of a point's 5 nearest neighbours carry
  (a tie goes to the smaller class number, as in scikit-learn's
  ``KNeighborsClassifier``). Where it differs from the point's own class, the
  tensor puts that point among another class; their share is the
  leave-one-out 5-NN error, the metrics' kNN accuracy;
- ``map_trust``: the fraction of a point's 10 nearest neighbours on a map
  that are also among its 10 nearest in the tensor the map was made from, 0
  to 1: low where the map has put a point in the wrong company.

An exact search compares every point with every other: N x N x D
multiply-adds, about 10 s on 2 cores for 20,000 pixel vectors and 2 minutes
for 70,000. Past ``EXACT_FOR_ALL_UP_TO`` only a random sample of points is
queried (still against all N), so the figures drawn from it are estimates
with a standard error, and the per-point columns are left out.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

VOTERS = 5
TRUST_NEIGHBOURS = 10
# N x N x D of 20,000 pixel vectors: the most one search queries every point for.
EXACT_FOR_ALL_UP_TO = 20_000 ** 2 * 784


@dataclass
class Neighbours:
    """``indices[r]`` are the nearest neighbours of point ``rows[r]`` among all ``n`` points, nearest first."""

    rows: np.ndarray
    indices: np.ndarray
    n: int

    @property
    def complete(self) -> bool:
        """Whether every point was queried (else ``rows`` is a random sample)."""
        return len(self.rows) == self.n


def nearest_neighbours(values: np.ndarray, k: int = TRUST_NEIGHBOURS, seed: int = 0,
                       budget: float | None = None) -> Neighbours:
    """Each point's ``k`` nearest neighbours (exact, itself excluded); past ``budget`` N x N x D
    (``EXACT_FOR_ALL_UP_TO`` unless given), a random sample of ``budget / (N x D)`` points' (``seed`` picks it)."""
    from sklearn.neighbors import NearestNeighbors

    values = np.asarray(values, dtype=np.float32)
    n, dims = values.shape
    k = min(k, n - 1)
    # Brute force is exact and, through BLAS, the fastest for tens of dimensions and more.
    index = NearestNeighbors(n_neighbors=k, algorithm="kd_tree" if dims <= 3 else "brute", n_jobs=-1).fit(values)
    budget = EXACT_FOR_ALL_UP_TO if budget is None else budget
    queried = n if n * n * dims <= budget else max(1, int(budget // (n * dims)))
    if queried == n:
        return Neighbours(np.arange(n), index.kneighbors(return_distance=False), n)
    rows = sample_rows(n, queried, seed)
    return Neighbours(rows, query_neighbours(index, values, rows, k), n)


def sample_rows(n: int, size: int, seed: int) -> np.ndarray:
    """``size`` distinct points of ``n``, in order, drawn at random (``seed`` picks them); all when ``size >= n``."""
    return np.arange(n) if size >= n else np.sort(np.random.default_rng(seed).choice(n, size, replace=False))


def query_neighbours(index, values: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` nearest neighbours [len(rows), k] of the points ``rows`` among all ``values`` (which the fitted
    scikit-learn ``index`` holds), each point itself excluded."""
    found = index.kneighbors(values[rows], k + 1, return_distance=False)
    # A row holds the point itself, first unless an exact duplicate ties with it: drop it, else the last.
    itself = found == rows[:, None]
    drop = np.where(itself.any(axis=1), itself.argmax(axis=1), k)
    return found[np.arange(k + 1)[None, :] != drop[:, None]].reshape(len(rows), k)


def neighbour_vote(neighbours: np.ndarray, labels: np.ndarray, voters: int = VOTERS) -> np.ndarray:
    """The class [M] that most of each row's first ``voters`` neighbours [M, k] carry; ties go to the smaller class."""
    votes = np.asarray(labels)[neighbours[:, :voters]]
    counts = np.zeros((len(votes), int(np.max(labels)) + 1), dtype=np.int32)
    np.add.at(counts, (np.arange(len(votes))[:, None], votes), 1)
    return counts.argmax(axis=1)


def map_trust(on_map: np.ndarray, neighbours: np.ndarray) -> np.ndarray:
    """For each point, the share [N] of its nearest neighbours on the map [N, k] that are also its ``neighbours``."""
    k = neighbours.shape[1]
    shared = (on_map[:, :k, None] == neighbours[:, None, :]).any(axis=2).sum(axis=1)
    return shared / k


def share_with_error(hits: np.ndarray, population: int) -> tuple[float, float]:
    """The share of True in ``hits`` and its standard error as an estimate for ``population`` points
    (0 when ``hits`` covers them all)."""
    share = float(np.mean(hits))
    m = len(hits)
    return share, math.sqrt(share * (1 - share) / m * (1 - m / population)) if m < population else 0.0


def disagreement_columns(name: str, neighbours: dict[str, Neighbours], maps: list[str], labels: np.ndarray,
                         class_names: list[str]) -> tuple[dict[str, list], np.ndarray]:
    """Metadata columns for tensor ``name``: ``neighbours_<name>``, the class name its neighbours vote for,
    and ``trust_<map>`` for each of its ``maps``; and each point's vote [N] (a class number).

    ``neighbours`` holds the search of each tensor, which must have queried every point."""
    votes = neighbour_vote(neighbours[name].indices, labels)
    columns = {f"neighbours_{name}": [class_names[vote] for vote in votes]}
    columns |= {f"trust_{map_name}": map_trust(neighbours[map_name].indices, neighbours[name].indices).tolist()
                for map_name in maps}
    return columns, votes


def neighbour_searches(tensors: dict[str, np.ndarray], seed: int = 0) -> dict[str, Neighbours]:
    """``nearest_neighbours`` of every tensor, printing the time it took and which searches had to sample."""
    start = time.perf_counter()
    print("Nearest neighbours of every tensor (one exact search each) ...", flush=True)
    found = {name: nearest_neighbours(values, seed=seed) for name, values in tensors.items()}
    for name, neighbours in found.items():
        if not neighbours.complete:
            print(f"  {name}: {neighbours.n:,} points x {tensors[name].shape[1]} dimensions are too many to search "
                  f"every point here; measured on {len(neighbours.rows):,} random ones, no neighbours_{name} column "
                  "(--num-images 20000 or fewer gives one)", flush=True)
    print(f"  done in {time.perf_counter() - start:.1f} s", flush=True)
    return found
