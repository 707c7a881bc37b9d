"""Bench section: Lesson 2's maps aligned: each code's map started from the pixels'."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.common import CODE_TENSORS, code_datasets, in_subprocess, lesson2_per_seed

ALIGNED_GOAL = "class centres correlate with the pixels' at >= 0.9 (x with x, y with y); map kNN and " \
               "trustworthiness at most 0.005 below independent starts"


def aligned_worker(run_dir: str) -> dict:
    """Every code's 2-D map of a lesson-2 run's tensors twice: started from the pixels' converged map
    (``tsne_maps(aligned=True)``) and from its own PCA. For each: the correlation of its class centres with the
    pixels' map's, axis by axis, and its kNN accuracy and trustworthiness (the run's own metrics code)."""
    import numpy as np
    import tensorflow as tf

    from tutorial.metrics import knn_accuracy, trustworthiness
    from tutorial.tsne import tsne_maps

    checkpoint = tf.train.load_checkpoint(run_dir)
    tensors = {name: checkpoint.get_tensor(name) for name in CODE_TENSORS}
    lines = Path(run_dir, "metadata.tsv").read_text().splitlines()
    column = lines[0].split("\t").index("label")
    labels = np.array([int(line.split("\t")[column]) for line in lines[1:]])
    result = {}
    for aligned in (True, False):
        maps = tsne_maps(tensors, [2], 30.0, 0, {}, aligned=aligned)[0]
        pixels = np.array([maps["pixels_tsne_2d"][labels == c].mean(axis=0) for c in range(labels.max() + 1)])
        for name in CODE_TENSORS[1:]:
            coords = maps[f"{name}_tsne_2d"]
            centres = np.array([coords[labels == c].mean(axis=0) for c in range(labels.max() + 1)])
            result[f"{name}_{'aligned' if aligned else 'independent'}"] = {
                "centre_correlation_xy": [round(float(np.corrcoef(pixels[:, axis], centres[:, axis])[0, 1]), 4)
                                          for axis in (0, 1)],
                "knn_accuracy_of_map": round(knn_accuracy(coords, labels), 4),
                "trustworthiness": round(trustworthiness(tensors[name], coords)[0], 4)}
    return result


def bench_aligned(args: argparse.Namespace) -> list[dict]:
    """Lesson 2's codes (``autoencoder_tsne.py --no-tsne``, per seed), each mapped from the pixels' map and from
    its own start: does each class stay where it was, and at what cost in quality?"""
    rows = []
    for name, folder, dataset in code_datasets(args):
        per_seed = lesson2_per_seed(folder, dataset, args,
                                    lambda run: in_subprocess("aligned.aligned_worker", run_dir=str(run)))
        for code in CODE_TENSORS[1:]:
            together = [seed[f"{code}_aligned"] for seed in per_seed]
            apart = [seed[f"{code}_independent"] for seed in per_seed]
            lowest = min(min(r["centre_correlation_xy"]) for r in together)
            costs = [max(i["knn_accuracy_of_map"] - a["knn_accuracy_of_map"],
                         i["trustworthiness"] - a["trustworthiness"]) for a, i in zip(together, apart, strict=True)]
            rows.append({"benchmark": f"{code} on {name}, seeds 0-{args.seeds - 1}",
                         "centre_correlation_aligned_per_seed": [r["centre_correlation_xy"] for r in together],
                         "centre_correlation_independent_per_seed": [r["centre_correlation_xy"] for r in apart],
                         "knn_accuracy_of_map_aligned": [r["knn_accuracy_of_map"] for r in together],
                         "knn_accuracy_of_map_independent": [r["knn_accuracy_of_map"] for r in apart],
                         "trustworthiness_aligned": [r["trustworthiness"] for r in together],
                         "trustworthiness_independent": [r["trustworthiness"] for r in apart],
                         "lowest_correlation_aligned": lowest, "largest_cost": round(max(costs), 4),
                         "goal": ALIGNED_GOAL, "goal_met": lowest >= 0.9 and max(costs) <= 0.005})
    return rows
