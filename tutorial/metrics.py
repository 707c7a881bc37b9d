"""Numbers that say how good an embedding is, for every tensor in a run.

- kNN accuracy: how often the 5 nearest neighbours of a point, the point
  itself left out, vote for its own label (leave-one-out 5-NN accuracy).
  Labels are used only here, never in training, so this measures what an
  embedding kept about the digit. It reads the tensor's one neighbour search
  (``tutorial/neighbours.py``), which also gives the per-point columns; where
  that search ran in the tensor's 50 principal components (past 20,000 pixel
  vectors), ``knn_space`` says so.
- Trustworthiness (Venna and Kaski; ``sklearn.manifold.trustworthiness``):
  1.0 when every point's 5 nearest neighbours in a map were also among its
  nearest in the space it came from; each intruder costs by how far down the
  source's ranking it sits. Ranks need a point's distance to every other
  point, so it is estimated from ``TRUSTWORTHINESS_SAMPLE`` random points,
  each ranked against all N, with its standard error. With cosine vectors
  the source's ranking is by cosine distance.

An estimate says so: ``metrics.json`` gives the points it was measured on
and its standard error beside it. A kNN accuracy measured on N shown points
carries those points' own sampling error, whatever the seed:
``knn_accuracy_95ci`` is its Wilson 95% interval (about ±0.004 at 0.95 and
±0.007 at 0.83 for 10,000 points), the uncertainty a spread over seeds leaves out.

Two tensors' votes on the same points are compared point by point: ``mcnemar_p``
is the exact McNemar test of the points one puts right and the other wrong
(a two-sided binomial test of those counts at one half), the paired test a
difference in kNN accuracy needs before "beats" can be said.
"""

from __future__ import annotations

import math

import numpy as np

from tutorial.neighbours import Neighbours, nearest_neighbours, neighbour_vote, unit_rows

TRUSTWORTHINESS_NEIGHBOURS = 5
TRUSTWORTHINESS_SAMPLE = 2000
# Rows of distances computed at once: 256 x 70,000 float32 is 72 MB.
CHUNK = 256


def knn_accuracy(values: np.ndarray, labels: np.ndarray, metric: str = "euclidean") -> float:
    """Leave-one-out 5-NN accuracy of ``values`` [N, D], from an exact search of every point in its own space."""
    neighbours = nearest_neighbours(values, budget=math.inf, metric=metric)
    return float(np.mean(neighbour_vote(neighbours.indices, labels) == labels))


def trustworthiness(source: np.ndarray, embedded: np.ndarray, seed: int = 0, sample: int = TRUSTWORTHINESS_SAMPLE,
                    on_map: Neighbours | None = None, metric: str = "euclidean") -> tuple[float, float]:
    """Trustworthiness of ``embedded`` against ``source`` (5 neighbours), and its standard error.

    The same quantity as ``sklearn.manifold.trustworthiness(source, embedded, n_neighbors=5, metric=metric)``
    over all N points, but estimated from ``sample`` random points (``seed`` picks them; all of them when N is
    at most ``sample``, and then the error is 0). ``on_map``, the embedding's own neighbour search, saves
    searching it again.
    """
    source, embedded = np.asarray(source, np.float32), np.asarray(embedded, np.float32)
    if metric == "cosine":  # unit vectors rank their Euclidean distances as cosine distance does
        source = unit_rows(source)
    n, k = len(source), TRUSTWORTHINESS_NEIGHBOURS
    if n <= 2 * k + 1:
        return float("nan"), float("nan")
    rows = np.arange(n) if sample >= n else np.sort(np.random.default_rng(seed).choice(n, sample, replace=False))
    # The sampled points' neighbours on the map, among all N.
    if on_map is None or on_map.space or on_map.indices.shape[1] < k:
        on_map = nearest_neighbours(embedded, k, budget=math.inf)
    map_neighbours = on_map.indices[rows, :k]
    squared = np.einsum("ij,ij->i", source, source)
    penalties = np.empty(len(rows))
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        distances = squared[chunk, None] + squared[None, :] - 2 * source[chunk] @ source.T
        distances[np.arange(len(chunk)), chunk] = -np.inf  # the point itself ranks first, at 0
        mine = np.take_along_axis(distances, map_neighbours[start:start + CHUNK], axis=1)
        # A map neighbour's rank in the source: how many points are closer to the point than it is.
        ranks = (distances[:, None, :] < mine[:, :, None]).sum(axis=2)
        penalties[start:start + CHUNK] = np.clip(ranks - k, 0, None).sum(axis=1)
    scale = 2.0 / (k * (2 * n - 3 * k - 1))
    error = scale * penalties.std(ddof=1) / math.sqrt(len(rows)) * math.sqrt(1 - len(rows) / n)
    return float(1 - scale * penalties.mean()), float(error) if len(rows) < n else 0.0


def evaluate_embeddings(embeddings: dict[str, np.ndarray], labels: np.ndarray | None, sources: dict[str, str],
                        neighbours: dict[str, Neighbours], seed: int = 0) -> dict[str, dict]:
    """kNN accuracy of every tensor, from its neighbour search, and trustworthiness against its source.

    ``labels`` are class numbers [N], or None for no kNN accuracy. ``sources`` maps a tensor to the tensor
    it was computed from (``pixels_tsne_2d`` -> ``pixels``); tensors without one have no
    trustworthiness (None). ``neighbours`` holds each tensor's search; where it ran in another space (its
    50 principal components), ``knn_space`` names it, and ``metric`` says which distance it used.
    """
    metrics = {}
    for name, values in embeddings.items():
        found, source = neighbours[name], sources.get(name)
        metrics[name] = {"dimensions": int(values.shape[1]), "points": len(values), "metric": found.metric}
        if labels is not None:
            right = neighbour_vote(found.indices, labels) == np.asarray(labels)
            metrics[name] |= {"knn_accuracy": round(float(right.mean()), 4),
                              "knn_accuracy_95ci": [round(bound, 4) for bound in wilson_interval(int(right.sum()),
                                                                                                 len(right))],
                              "disagreeing_points": int((~right).sum())}
        if found.space:
            metrics[name]["knn_space"] = found.space
        metrics[name]["trustworthiness_vs"] = source
        metrics[name]["trustworthiness"] = None
        if source:
            trust, trust_error = trustworthiness(embeddings[source], values, seed, on_map=found,
                                                 metric=neighbours[source].metric)
            metrics[name] |= {"trustworthiness": round(trust, 4),
                              "trustworthiness_standard_error": round(trust_error, 4),
                              "trustworthiness_measured_on": min(len(values), TRUSTWORTHINESS_SAMPLE)}
    return metrics


def wilson_interval(successes: int, trials: int) -> tuple[float, float]:
    """Wilson score 95% interval of a proportion: where the accuracy of these points would fall for another
    sample of the same size from the same source. Unlike ``p ± 1.96·se`` it stays in [0, 1] near 0 and 1."""
    from scipy.stats import binomtest

    if trials == 0:
        return float("nan"), float("nan")
    interval = binomtest(successes, trials).proportion_ci(confidence_level=0.95, method="wilson")
    return float(interval.low), float(interval.high)


def mcnemar_p(right_only_here: int, right_only_there: int) -> float:
    """Exact two-sided McNemar p-value of two classifiers on the same points, from the points each alone puts
    right: the binomial test of one count out of both at probability one half (1.0 when both are 0)."""
    from scipy.stats import binomtest

    total = right_only_here + right_only_there
    return 1.0 if total == 0 else float(binomtest(right_only_here, total, 0.5).pvalue)


def metrics_table(metrics: dict[str, dict]) -> str:
    """The metrics as a markdown table: readable in a terminal and in TensorBoard's Text tab."""
    voted = any("knn_accuracy" in m for m in metrics.values())
    lines = ["| tensor | dims | kNN accuracy (5-NN vote, leave one out) | points it misplaces | trustworthiness |"
             if voted else "| tensor | dims | trustworthiness |", "|---|---|---|---|---|" if voted else "|---|---|---|"]
    for name, m in metrics.items():
        trust = "-"
        if m["trustworthiness"] is not None:  # "0.993 ± 0.001 (2,000 points)" when estimated from a sample
            measured_on = m["trustworthiness_measured_on"]
            trust = f"{m['trustworthiness']:.3f}" + (f" ± {m['trustworthiness_standard_error']:.3f} "
                                                     f"({measured_on:,} points)" if measured_on < m["points"] else "")
            trust += f" vs `{m['trustworthiness_vs']}`"
        space = f" (in {m['knn_space']})" if "knn_space" in m else ""
        vote = f" {m['knn_accuracy']:.3f}{space} | {m['disagreeing_points']} |" if voted else ""
        lines.append(f"| `{name}` | {m['dimensions']} |{vote} {trust} |")
    return "\n".join(lines)
