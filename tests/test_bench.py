"""Smoke test: the benchmark entry point runs at a tiny size, so it cannot rot.

It asserts the table's structure, never a time.
"""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import REPO, write_mnist_dir


def test_every_section_runs_and_writes_its_table(tmp_path):
    data = write_mnist_dir(tmp_path / "data", n_test=150, n_train=300)
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "bench/run.py", "--data-dir", data, "--num-images", "150", "--repeats", "1",
         "--sizes", "100", "--train-data-dir", data, "--epochs", "1", "--tsne-sizes", "150",
         "--tsne-big", "450", "--out", out],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert report["machine"]["cpus"] >= 1
    rows = report["rows"]
    assert [row["section"] for row in rows] == (
        ["writer"] * 2 + ["e2e"] * 2 + ["scaling"] + ["autoencoder"] + ["tsne"] * 2 + ["disagree"]
        + ["default"] * 2 + ["full"] * 2 + ["neighbours"] * 3 + ["frames"] * 2
    )
    writer, torch_row = rows[0], rows[1]
    assert writer["tensorboard_serves_it"] is True and writer["MB_on_disk"] > 0
    # Without torch the row stays, saying why it was skipped.
    assert torch_row.get("tensorboard_serves_it") is True or torch_row["note"].startswith("skipped: torch")
    assert rows[3]["vs_import_tensorflow"] > 0 and isinstance(rows[3]["goal_met"], bool)
    assert rows[4]["sprite_px"] == "280x280"  # 100 digits: a square grid of 10 x 10 thumbnails
    assert rows[4]["check_exit"] == 0 and isinstance(rows[4]["check_goal_met"], bool)  # the checker finds it clean
    assert 0 <= rows[5]["knn_code"] <= 1 and rows[5]["s_per_epoch"] >= 0
    assert [row["benchmark"].split(" t-SNE")[0] for row in rows[6:8]] == ["ours", "openTSNE fixed"]
    assert all(0 <= row["knn_accuracy_of_map"] <= 1 and 0 <= row["trustworthiness"] <= 1 and row["peak_rss_mb"] > 0
               for row in rows[6:8])
    assert 0 < rows[8]["disagreeing_points"] < 150 and isinstance(rows[8]["goal_met"], bool)
    assert isinstance(rows[6]["goal_met"], bool)
    # The default run, with its stages' times; all 450 images end to end beside openTSNE's default fit.
    default = rows[10]
    assert default["seconds"] > default["tsne_seconds"] > 0 and default["vs_import_tensorflow"] > 0
    theirs, ours = rows[11], rows[12]
    assert theirs["benchmark"].startswith("openTSNE default") and 0 <= theirs["knn_accuracy_of_map"] <= 1
    assert ours["child_peak_rss_mb"] > 100 and 0 <= ours["metrics_share"] < 1 and ours["vs_opentsne_default"] > 0
    assert isinstance(ours["goal_met"], bool)
    # Each neighbour search openTSNE accepts: measured, or skipped saying what to install.
    assert rows[13]["benchmark"].startswith("neighbors='exact'") and rows[13]["search_seconds"] > 0
    assert rows[14]["benchmark"].startswith("neighbors='annoy'") and 0 <= rows[14]["trustworthiness"] <= 1
    assert "search_seconds" in rows[15] or rows[15]["note"] == "skipped: pip install pynndescent"
    assert rows[17]["frames"] > 5 and rows[17]["share_of_tsne"] >= 0 and isinstance(rows[17]["goal_met"], bool)
    for section in ("writer", "e2e", "scaling", "autoencoder", "tsne", "disagree", "default", "full",
                    "neighbours", "frames"):
        assert f"\n{section} " in "\n" + result.stdout  # each section printed as a table
