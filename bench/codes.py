"""Bench sections: Lesson 2: PCA, dense and convolutional codes, on digits no model was fitted on."""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from bench.common import (
    CODE_TENSORS,
    code_datasets,
    in_subprocess,
    lesson2_command,
    lesson2_per_seed,
    mean_and_spread,
    without_worker_memory,
)


def paired_with(run: dict, tensor: str, reference: str) -> list:
    """[points ``tensor``'s vote puts right and ``reference``'s wrong, the reverse, exact McNemar p] in one run."""
    votes = run[f"neighbour_votes_vs_{reference}"][tensor]
    return [votes[f"right_where_{reference}_wrong"], votes[f"wrong_where_{reference}_right"], votes["mcnemar_p"]]


def train_test_knn(folder: str, dataset: str) -> dict:
    """For scale, the usual protocol: scikit-learn's ``KNeighborsClassifier(5)`` (uniform weights, Euclidean)
    fitted on the fit split's pixels and scored on the shown split, on pixels in [0, 1] and, as Fashion-MNIST's
    benchmark runner does, on pixels standardised by ``StandardScaler`` fitted on the train split."""
    import numpy as np
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.preprocessing import StandardScaler

    from tutorial.mnist_data import fit_and_shown_digits, load_dataset

    data = load_dataset(dataset, Path(folder))
    digits = fit_and_shown_digits(data, "test", None)
    fit_labels = digits.fit_labels
    fit = digits.fit_images.reshape(len(digits.fit_images), -1).astype(np.float32) / 255
    shown = digits.shown[0].reshape(len(digits.shown[0]), -1).astype(np.float32) / 255
    scaler = StandardScaler().fit(fit)
    scores = {"knn_train_test": KNeighborsClassifier(5, n_jobs=-1).fit(fit, fit_labels).score(shown, digits.shown[1]),
              "knn_train_test_standardised": KNeighborsClassifier(5, n_jobs=-1).fit(scaler.transform(fit), fit_labels)
              .score(scaler.transform(shown), digits.shown[1])}
    return {"fitted_on": len(fit), "scored_on": len(shown), **{key: round(float(v), 4) for key, v in scores.items()}}


def bench_codes(args: argparse.Namespace) -> list[dict]:
    """autoencoder_tsne.py --no-tsne with ``--seeds`` seeds on each data set: for the pixels and each code,
    kNN accuracy (with its 95% Wilson interval over the shown points), digits misplaced, reconstruction MSE,
    epochs and fit time, all on the shown (held-out) digits, as mean ± spread over the seeds; for each code
    against PCA and against the pixels, the paired counts and exact McNemar p of every seed; and, for scale,
    the pixels' 5-NN accuracy in the usual train/test protocol."""
    rows = []
    for name, folder, dataset in code_datasets(args):
        runs = lesson2_per_seed(folder, dataset, args, lambda run: json.loads((run / "metrics.json").read_text()))
        split = runs[0]["fit_and_scored"]
        for tensor in CODE_TENSORS:
            accuracies = [run["embeddings"][tensor]["knn_accuracy"] for run in runs]
            intervals = [run["embeddings"][tensor]["knn_accuracy_95ci"] for run in runs]
            row = {"benchmark": f"{tensor} on {name}", "seeds": len(runs),
                   "fitted_on": split["fitted_on"]["count"], "scored_on": split["scored_on"]["count"],
                   "scored_digits_fitted_on": split["scored_on"]["of_them_fitted_on"],
                   "knn_accuracy": mean_and_spread(accuracies, 4), "knn_accuracy_per_seed": accuracies,
                   "knn_accuracy_95ci_half_width": round(max((high - low) / 2 for low, high in intervals), 4),
                   "misplaced": mean_and_spread([run["embeddings"][tensor]["disagreeing_points"] for run in runs], 1)}
            if tensor != "pixels":
                models = [run["models"][tensor] for run in runs]
                row |= {"reconstruction_mse": mean_and_spread([m["shown_mse"] for m in models], 5),
                        "fit_seconds": mean_and_spread([m["fit_seconds"] for m in models], 1)}
                if "epochs" in models[0]:
                    row |= {"epochs": mean_and_spread([m["epochs"] for m in models], 1),
                            "epochs_per_seed": [m["epochs"] for m in models],
                            "stopped_early_every_seed": all(m["stopped_early"] for m in models)}
            for reference in ("pca_code", "pixels"):
                if tensor not in ("pixels", reference):
                    paired = [paired_with(run, tensor, reference) for run in runs]
                    beats = all(p < 0.05 and right > wrong for right, wrong, p in paired)
                    row |= {f"vs_{reference}_per_seed": paired, f"beats_{reference}_every_seed": beats}
            rows.append(row)
        rows.append({"benchmark": f"pixels on {name}, 5-NN fitted on the fit split, scored on the shown split",
                     **in_subprocess("codes.train_test_knn", folder=folder, dataset=dataset)})
    return rows


def bench_lesson2(args: argparse.Namespace) -> list[dict]:
    """``python autoencoder_tsne.py`` as the README runs it, t-SNE maps included, with --train-data-dir's
    full train split (goal: at most 6 minutes on 2 cores)."""
    if not args.train_data_dir or not Path(args.train_data_dir).is_dir():
        return [{"benchmark": "autoencoder_tsne.py on a full train split", "note": "skipped: no --train-data-dir "
                 f"{args.train_data_dir} (apt-get install dataset-fashion-mnist gives 60,000 train digits)"}]
    name, folder, dataset = code_datasets(args)[-1]
    with tempfile.TemporaryDirectory() as tmp:
        run = in_subprocess("common.script_worker", command=lesson2_command(folder, dataset, f"{tmp}/ae", args))
        models = json.loads(Path(f"{tmp}/ae/metrics.json").read_text())["models"]
    return [{"benchmark": f"autoencoder_tsne.py (default: both models, 4 t-SNE maps, metrics) on {name}",
             **without_worker_memory(run), **{f"{code}_fit_seconds": models[code]["fit_seconds"] for code in models},
             "goal": "<= 360 s", "goal_met": run["seconds"] <= 360}]
