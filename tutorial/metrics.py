"""Numbers that say how good an embedding is, for every tensor in a run.

- kNN accuracy: how often a point's 5 nearest neighbours (by majority) carry
  its own label, 5-fold cross-validated. Labels are used only here, never in
  training, so this measures what an embedding kept about the digit.
- Trustworthiness (``sklearn.manifold.trustworthiness``): 1.0 when every
  point's nearest neighbours in the embedding were also near it in the space
  it came from (a t-SNE map against its input, the code against the pixels).
  It compares all pairs, so it is computed on a fixed subsample.
"""

from __future__ import annotations

import numpy as np
from sklearn.manifold import trustworthiness
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier

KNN_NEIGHBORS = 5
TRUSTWORTHINESS_SAMPLE = 2000


def knn_accuracy(values: np.ndarray, labels: np.ndarray, seed: int = 0, folds: int = 5) -> float:
    """Mean 5-nearest-neighbour accuracy over ``folds`` stratified folds."""
    folds = min(folds, int(np.bincount(labels).max()))
    if folds < 2 or len(values) <= KNN_NEIGHBORS * 2:
        return float("nan")
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    scores = cross_val_score(KNeighborsClassifier(KNN_NEIGHBORS), values, labels, cv=splitter)
    return float(np.mean(scores))


def trustworthiness_score(source: np.ndarray, embedded: np.ndarray, seed: int = 0) -> float:
    """Trustworthiness of ``embedded`` against ``source``, on at most 2,000 points."""
    n = len(source)
    if n <= 2 * KNN_NEIGHBORS + 1:
        return float("nan")
    sample = np.random.default_rng(seed).choice(n, min(n, TRUSTWORTHINESS_SAMPLE), replace=False)
    return float(trustworthiness(source[sample], embedded[sample], n_neighbors=KNN_NEIGHBORS))


def evaluate_embeddings(embeddings: dict[str, np.ndarray], labels: np.ndarray, sources: dict[str, str],
                        seed: int = 0, votes: dict[str, np.ndarray] | None = None) -> dict[str, dict]:
    """kNN accuracy of every tensor, and trustworthiness against its source.

    ``sources`` maps a tensor to the tensor it was computed from
    (``pixels_tsne_2d`` -> ``pixels``); tensors without one have no
    trustworthiness (None). ``votes`` [N] per tensor, the class its 5 nearest
    neighbours vote for, add the leave-one-out 5-NN accuracy and the number
    of points whose neighbours vote for another class.
    """
    metrics = {}
    for name, values in embeddings.items():
        source = sources.get(name)
        metrics[name] = {
            "dimensions": int(values.shape[1]),
            "knn_accuracy": round(knn_accuracy(values, labels, seed), 4),
            "trustworthiness_vs": source,
            "trustworthiness": (round(trustworthiness_score(embeddings[source], values, seed), 4)
                                if source else None),
        }
        if name in (votes or {}):
            disagreeing = int((votes[name] != labels).sum())
            metrics[name] |= {"knn_accuracy_leave_one_out": round(1 - disagreeing / len(labels), 4),
                              "disagreeing_points": disagreeing}
    return metrics


def metrics_table(metrics: dict[str, dict]) -> str:
    """The metrics as a markdown table: readable in a terminal and in TensorBoard's Text tab."""
    lines = ["| tensor | dims | kNN accuracy (5-NN, 5-fold) | 5-NN vote, leave one out (points it misplaces) "
             "| trustworthiness |", "|---|---|---|---|---|"]
    for name, m in metrics.items():
        trust = f"{m['trustworthiness']:.3f} vs `{m['trustworthiness_vs']}`" if m["trustworthiness"] is not None \
            else "-"
        vote = (f"{m['knn_accuracy_leave_one_out']:.3f} ({m['disagreeing_points']})"
                if "disagreeing_points" in m else "-")
        lines.append(f"| `{name}` | {m['dimensions']} | {m['knn_accuracy']:.3f} | {vote} | {trust} |")
    return "\n".join(lines)
