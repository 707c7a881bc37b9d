"""Each point's nearest neighbours in a tensor: their vote on its class, and how far a map keeps them.

``nearest_neighbours(values, k)`` is one exact search per tensor (the point
itself left out), shared by the vote and the trust below:

- ``neighbour_vote``: the class most of a point's 5 nearest neighbours carry
  (a tie goes to the smaller class number, as in scikit-learn's
  ``KNeighborsClassifier``). Where it differs from the point's own class, the
  tensor puts that point among another class; their share is the
  leave-one-out 5-NN error.
- ``map_trust``: the fraction of a point's 10 nearest neighbours on a map
  that are also among its 10 nearest in the tensor the map was made from, 0
  to 1: low where the map has put a point in the wrong company.
"""

from __future__ import annotations

import numpy as np

VOTERS = 5
TRUST_NEIGHBOURS = 10


def nearest_neighbours(values: np.ndarray, k: int = TRUST_NEIGHBOURS) -> np.ndarray:
    """Indices [N, k] of each point's ``k`` nearest neighbours (Euclidean, exact), nearest first, itself excluded."""
    from sklearn.neighbors import NearestNeighbors

    values = np.asarray(values, dtype=np.float32)
    k = min(k, len(values) - 1)
    # Brute force is exact and, through BLAS, the fastest for tens of dimensions and more.
    algorithm = "kd_tree" if values.shape[1] <= 3 else "brute"
    return NearestNeighbors(n_neighbors=k, algorithm=algorithm, n_jobs=-1).fit(values).kneighbors(
        return_distance=False)


def neighbour_vote(neighbours: np.ndarray, labels: np.ndarray, voters: int = VOTERS) -> np.ndarray:
    """The class [N] that most of each point's first ``voters`` neighbours carry; ties go to the smaller class."""
    votes = np.asarray(labels)[neighbours[:, :voters]]
    counts = np.zeros((len(votes), int(np.max(labels)) + 1), dtype=np.int32)
    np.add.at(counts, (np.arange(len(votes))[:, None], votes), 1)
    return counts.argmax(axis=1)


def map_trust(coordinates: np.ndarray, neighbours: np.ndarray) -> np.ndarray:
    """For each point, the share [N] of its nearest neighbours on the map that are also its ``neighbours``."""
    k = neighbours.shape[1]
    on_map = nearest_neighbours(coordinates, k)
    shared = (on_map[:, :, None] == neighbours[:, None, :]).any(axis=2).sum(axis=1)
    return shared / k


def disagreement_columns(name: str, values: np.ndarray, maps: dict[str, np.ndarray], labels: np.ndarray,
                         class_names: list[str]) -> tuple[dict[str, list], np.ndarray]:
    """Metadata columns for tensor ``name``: ``neighbours_<name>``, the class name its neighbours vote for,
    and ``trust_<map>`` for each of its ``maps``; and each point's vote [N] (a class number)."""
    neighbours = nearest_neighbours(values)
    votes = neighbour_vote(neighbours, labels)
    columns = {f"neighbours_{name}": [class_names[vote] for vote in votes]}
    columns |= {f"trust_{map_name}": map_trust(coordinates, neighbours).tolist()
                for map_name, coordinates in maps.items()}
    return columns, votes
