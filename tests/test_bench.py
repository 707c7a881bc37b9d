"""Smoke test: the benchmark entry point runs at a tiny size, so it cannot rot.

It asserts the table's structure, never a time.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import REPO, write_mnist_dir

pytestmark = pytest.mark.slow


def test_every_section_runs_and_writes_its_table(tmp_path):
    data = write_mnist_dir(tmp_path / "data", n_test=150, n_train=300)
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "bench/run.py", "--data-dir", data, "--num-images", "150", "--repeats", "1",
         "--sizes", "100", "--train-data-dir", data, "--epochs", "1", "--seeds", "2", "--tsne-sizes", "150",
         "--tsne-big", "450", "--vectors-n", "150", "--embedding-atlas", "no-such-command", "--out", out],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert report["machine"]["cpus"] >= 1
    rows = report["rows"]
    assert [row["section"] for row in rows] == (
        ["writer"] * 2 + ["e2e"] * 2 + ["scaling"] + ["codes"] * 4 + ["lesson2"] + ["tsne"] * 2 + ["disagree"]
        + ["default"] * 2 + ["full"] * 2 + ["neighbours"] * 3 + ["frames"] * 2 + ["vectors"] * 3
    )
    writer, torch_row = rows[0], rows[1]
    assert writer["tensorboard_serves_it"] is True and writer["MB_on_disk"] > 0
    # Without torch the row stays, saying why it was skipped.
    assert torch_row.get("tensorboard_serves_it") is True or torch_row["note"].startswith("skipped: torch")
    assert rows[3]["vs_import_tensorflow"] > 0 and isinstance(rows[3]["goal_met"], bool)
    assert rows[4]["sprite_px"] == "280x280"  # 100 digits: a square grid of 10 x 10 thumbnails
    assert rows[4]["check_exit"] == 0 and isinstance(rows[4]["check_goal_met"], bool)  # the checker finds it clean
    # Lesson 2's codes: the pixels, PCA, dense and conv codes, "mean ± spread" over 2 seeds (one data set: the
    # train data folder is --data-dir itself, which is not measured twice).
    codes = rows[5:9]
    assert [row["benchmark"] for row in codes] == [f"{name} on mnist" for name in ("pixels", "pca_code", "dense_code",
                                                                                   "conv_code")]
    for row in codes:
        knn, spread = (float(part) for part in row["knn_accuracy"].split(" ± "))
        assert 0 <= knn <= 1 and spread >= 0 and row["seeds"] == 2 and row["scored_digits_fitted_on"] == 0
        assert row["fitted_on"] == 300 and row["scored_on"] == 150  # the train split; the test digits shown
    assert "reconstruction_mse" not in codes[0] and float(codes[3]["reconstruction_mse"].split(" ± ")[0]) > 0
    lesson2 = rows[9]
    assert lesson2["seconds"] > lesson2["tsne_seconds"] > 0 and lesson2["conv_code_fit_seconds"] > 0
    assert isinstance(lesson2["goal_met"], bool)
    assert [row["benchmark"].split(" t-SNE")[0] for row in rows[10:12]] == ["ours", "openTSNE fixed"]
    assert all(0 <= row["knn_accuracy_of_map"] <= 1 and 0 <= row["trustworthiness"] <= 1 and row["peak_rss_mb"] > 0
               for row in rows[10:12])
    assert 0 < rows[12]["disagreeing_points"] < 150 and isinstance(rows[12]["goal_met"], bool)
    assert isinstance(rows[10]["goal_met"], bool)
    # The default run, with its stages' times; all 450 images end to end beside openTSNE's default fit.
    default = rows[14]
    assert default["seconds"] > default["tsne_seconds"] > 0 and default["vs_import_tensorflow"] > 0
    theirs, ours = rows[15], rows[16]
    assert theirs["benchmark"].startswith("openTSNE default") and 0 <= theirs["knn_accuracy_of_map"] <= 1
    assert ours["child_peak_rss_mb"] > 100 and 0 <= ours["metrics_share"] < 1 and ours["vs_opentsne_default"] > 0
    assert ours["points_with_a_vote"] == 450 and ours["bookmark_selects_the_misplaced"] is True
    assert isinstance(ours["goal_met"], bool)
    # Each neighbour search openTSNE accepts: measured, or skipped saying what to install.
    assert rows[17]["benchmark"].startswith("neighbors='exact'") and rows[17]["search_seconds"] > 0
    assert rows[18]["benchmark"].startswith("neighbors='annoy'") and 0 <= rows[18]["trustworthiness"] <= 1
    assert "search_seconds" in rows[19] or rows[19]["note"] == "skipped: pip install pynndescent"
    assert rows[21]["frames"] > 5 and rows[21]["share_of_tsne"] >= 0 and isinstance(rows[21]["goal_met"], bool)
    # Own vectors in cosine distance, end to end, beside openTSNE's cosine fit; Embedding Atlas missing here.
    cosine_fit, own, atlas = rows[22:25]
    assert cosine_fit["seconds"] > 0 and own["vs_opentsne_cosine"] > 0 and own["child_peak_rss_mb"] > 100
    assert 0 <= own["knn_accuracy"] <= 1 and 0 <= own["trustworthiness"] <= 1 and isinstance(own["goal_met"], bool)
    assert atlas["note"].startswith("skipped: pip install embedding-atlas")  # none named no-such-command
    for section in ("writer", "e2e", "scaling", "codes", "lesson2", "tsne", "disagree", "default", "full",
                    "neighbours", "frames", "vectors"):
        assert f"\n{section} " in "\n" + result.stdout  # each section printed as a table
