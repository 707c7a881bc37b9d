"""Smoke test: the benchmark entry point runs at a tiny size, so it cannot rot.

It asserts the table's structure, never a time.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO, write_mnist_dir

from tutorial.mnist_data import load_dataset

pytestmark = pytest.mark.slow


def test_every_section_runs_and_writes_its_table(tmp_path):
    data = write_mnist_dir(tmp_path / "data", n_test=150, n_train=300)
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "bench/run.py", "--data-dir", data, "--num-images", "150", "--repeats", "1",
         "--sizes", "100", "--train-data-dir", data, "--epochs", "1", "--seeds", "1", "--tsne-sizes", "150",
         "--tsne-big", "450", "--vectors-n", "150", "--embedding-atlas", "no-such-command", "--out", out],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert report["machine"]["cpus"] >= 1
    rows = report["rows"]
    assert [row["section"] for row in rows] == (
        ["writer"] * 2 + ["e2e"] * 2 + ["scaling"] + ["codes"] * 5 + ["lesson2"] + ["tsne"] * 2 + ["disagree"]
        + ["default"] * 2 + ["full"] * 2 + ["neighbours"] * 3 + ["frames"] * 2 + ["vectors"] * 3 + ["aligned"] * 3
        + ["placing"] * 2
    )
    writer, torch_row = rows[0], rows[1]
    assert writer["tensorboard_serves_it"] is True and writer["MB_on_disk"] > 0
    # Without torch the row stays, saying why it was skipped.
    assert torch_row.get("tensorboard_serves_it") is True or torch_row["note"].startswith("skipped: torch")
    assert rows[3]["vs_import_tensorflow"] > 0 and isinstance(rows[3]["goal_met"], bool)
    assert rows[4]["sprite_px"] == "280x280"  # 100 digits: a square grid of 10 x 10 thumbnails
    assert rows[4]["check_exit"] == 0 and isinstance(rows[4]["check_goal_met"], bool)  # the checker finds it clean
    # Lesson 2's codes: the pixels, PCA, dense and conv codes, "mean ± spread" over the seeds, here 1 (one data
    # set: the train data folder is --data-dir itself, which is not measured twice).
    codes = rows[5:9]
    assert [row["benchmark"] for row in codes] == [f"{name} on mnist" for name in ("pixels", "pca_code", "dense_code",
                                                                                   "conv_code")]
    for row in codes:
        knn, spread = (float(part) for part in row["knn_accuracy"].split(" ± "))
        assert 0 <= knn <= 1 and spread >= 0 and row["seeds"] == 1 and row["scored_digits_fitted_on"] == 0
        assert row["fitted_on"] == 300 and row["scored_on"] == 150  # the train split; the test digits shown
    assert "reconstruction_mse" not in codes[0] and float(codes[3]["reconstruction_mse"].split(" ± ")[0]) > 0
    # The test set's own uncertainty: a Wilson 95% interval of 150 points is about ±0.05 wide.
    assert all(0.01 < row["knn_accuracy_95ci_half_width"] < 0.1 for row in codes)
    # Each learned code against PCA and the pixels, seed by seed: both counts and the exact McNemar p.
    for row in codes[2:]:
        for reference in ("pca_code", "pixels"):
            paired = row[f"vs_{reference}_per_seed"]
            assert len(paired) == 1 and isinstance(row[f"beats_{reference}_every_seed"], bool)
            for right, wrong, p in paired:
                exact = min(1.0, 2 * sum(math.comb(right + wrong, k) for k in range(min(right, wrong) + 1))
                            / 2 ** (right + wrong))
                assert p == pytest.approx(exact, abs=1e-6)
        assert row["epochs_per_seed"] == [1] and row["stopped_early_every_seed"] is False  # --epochs 1: the cap
    # For scale: the pixels' 5-NN in the usual protocol, fitted on the 300 train digits, scored on the 150 shown.
    protocol = rows[9]
    data_set = load_dataset("mnist", data)
    fit, shown = (images.reshape(len(images), -1) / 255 for images in (data_set.train_images, data_set.test_images))
    nearest = np.argsort(((shown[:, None, :] - fit[None]) ** 2).sum(-1), axis=1)[:, :5]
    votes = [np.bincount(data_set.train_labels[row], minlength=10).argmax() for row in nearest]
    assert protocol["fitted_on"] == 300 and protocol["scored_on"] == 150
    assert protocol["knn_train_test"] == pytest.approx(np.mean(votes == data_set.test_labels), abs=1e-4)
    assert 0 <= protocol["knn_train_test_standardised"] <= 1
    lesson2 = rows[10]
    assert lesson2["seconds"] > lesson2["tsne_seconds"] > 0 and lesson2["conv_code_fit_seconds"] > 0
    assert isinstance(lesson2["goal_met"], bool)
    assert [row["benchmark"].split(" t-SNE")[0] for row in rows[11:13]] == ["ours", "openTSNE fixed"]
    assert all(0 <= row["knn_accuracy_of_map"] <= 1 and 0 <= row["trustworthiness"] <= 1 and row["peak_rss_mb"] > 0
               for row in rows[11:13])
    assert 0 < rows[13]["disagreeing_points"] < 150 and isinstance(rows[13]["goal_met"], bool)
    assert isinstance(rows[11]["goal_met"], bool)
    # The default run, with its stages' times; all 450 images end to end beside openTSNE's default fit.
    default = rows[15]
    assert default["seconds"] > default["tsne_seconds"] > 0 and default["vs_import_tensorflow"] > 0
    theirs, ours = rows[16], rows[17]
    assert theirs["benchmark"].startswith("openTSNE default") and 0 <= theirs["knn_accuracy_of_map"] <= 1
    assert ours["child_peak_rss_mb"] > 100 and 0 <= ours["metrics_share"] < 1 and ours["vs_opentsne_default"] > 0
    assert ours["points_with_a_vote"] == 450 and ours["bookmark_selects_the_misplaced"] is True
    assert isinstance(ours["goal_met"], bool)
    # Each neighbour search openTSNE accepts: measured, or skipped saying what to install.
    assert rows[18]["benchmark"].startswith("neighbors='exact'") and rows[18]["search_seconds"] > 0
    assert rows[19]["benchmark"].startswith("neighbors='annoy'") and 0 <= rows[19]["trustworthiness"] <= 1
    assert "search_seconds" in rows[20] or rows[20]["note"] == "skipped: pip install pynndescent"
    assert rows[22]["frames"] > 5 and rows[22]["share_of_tsne"] >= 0 and isinstance(rows[22]["goal_met"], bool)
    # Own vectors in cosine distance, end to end, beside openTSNE's cosine fit; Embedding Atlas missing here.
    cosine_fit, own, atlas = rows[23:26]
    assert cosine_fit["seconds"] > 0 and own["vs_opentsne_cosine"] > 0 and own["child_peak_rss_mb"] > 100
    assert 0 <= own["knn_accuracy"] <= 1 and 0 <= own["trustworthiness"] <= 1 and isinstance(own["goal_met"], bool)
    assert atlas["note"].startswith("skipped: pip install embedding-atlas")  # none named no-such-command
    # Each code's map from the pixels' start and from its own, seed by seed: correlations, quality, the goal.
    for row, code in zip(rows[26:29], ("pca_code", "dense_code", "conv_code"), strict=True):
        assert row["benchmark"] == f"{code} on mnist, seeds 0-0"
        for key in ("centre_correlation_aligned_per_seed", "centre_correlation_independent_per_seed"):
            assert len(row[key]) == 1 and all(-1 <= r <= 1 for pair in row[key] for r in pair)
        assert all(0 <= v <= 1 for v in row["knn_accuracy_of_map_aligned"] + row["trustworthiness_independent"])
        lowest = min(min(pair) for pair in row["centre_correlation_aligned_per_seed"])
        assert row["lowest_correlation_aligned"] == lowest
        assert isinstance(row["goal_met"], bool)
    # New points on a finished map: the 150 test digits placed on a map of the 300 train digits, beside a refit.
    placed, over_seeds = rows[29:31]
    assert 0 <= placed["placed_knn"] <= 1 and 0 <= placed["refit_knn"] <= 1
    assert 0 < placed["placing_seconds"] and 0 < placed["refit_seconds"] and isinstance(placed["goal_met"], bool)
    assert placed["knn_below_refit"] == round(placed["refit_knn"] - placed["placed_knn"], 4)
    assert over_seeds["goal_met"] == placed["goal_met"]
    for section in ("writer", "e2e", "scaling", "codes", "lesson2", "tsne", "disagree", "default", "full",
                    "neighbours", "frames", "vectors", "aligned", "placing"):
        assert f"\n{section} " in "\n" + result.stdout  # each section printed as a table
