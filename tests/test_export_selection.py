"""tools/export_selection.py: a view the Bookmarks panel saved becomes the rows of the points it selects.

The run is scikit-learn's 150 iris flowers through the pipeline. The state files are written here as the
Projector writes them (the Chromium test in test_browser.py downloads a real one): its own bookmarks first,
then the views a user saved, each with ``selectedPoints`` and, when isolated, ``filteredPoints``.
"""

from __future__ import annotations

import csv
import io
import json
import sys

import numpy as np
import pytest
from conftest import REPO, run_script

from mnist_tsne import write_embedding_run
from tutorial.pipeline import RunSettings

sys.path.insert(0, str(REPO / "tools"))
import export_selection  # noqa: E402


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory):
    from sklearn.datasets import load_iris

    iris = load_iris()
    run = tmp_path_factory.mktemp("export") / "logs" / "iris"
    write_embedding_run(run, {"flowers": iris.data}, {"species": iris.target_names[iris.target].tolist(),
                                                      "petal": iris.data[:, 2].tolist()},
                        color_by="species", settings=RunSettings(perplexity=10))
    own = json.loads((run / "bookmarks_flowers.json").read_text())
    return run, own


def export(run, states, tmp_path, capsys, *flags) -> tuple[int, str, str]:
    """The tool's main() in this process (TensorFlow loads once): exit status, stdout, stderr."""
    state = tmp_path / "state"
    state.write_text(states if isinstance(states, str) else json.dumps(states))
    try:
        export_selection.main([str(run), str(state), *flags])
        status = 0
    except SystemExit as exit:
        status = exit.code
    out, err = capsys.readouterr()
    return status, out, err


def rows_of(result) -> list[dict]:
    status, out, err = result
    assert status == 0, err
    return list(csv.DictReader(io.StringIO(out)))


def test_the_last_view_saved_gives_its_rows_with_metadata_and_map_coordinates(iris_run, tmp_path, capsys):
    import tensorflow as tf

    run, own = iris_run
    saved = {**own[0], "label": "State 3", "selectedPoints": [120, 3, 77], "filteredPoints": None}
    rows = rows_of(export(run, [*own, saved], tmp_path, capsys))
    assert [int(row["row"]) for row in rows] == [120, 3, 77]
    metadata = [line.split("\t") for line in (run / "metadata.tsv").read_text().splitlines()]
    header = metadata[0]
    for row in rows:
        assert [row[name] for name in header] == metadata[int(row["row"]) + 1]  # every column, vote and trust too
    stored = tf.train.load_checkpoint(str(run)).get_tensor("flowers_tsne_2d")
    assert np.allclose([[float(r["flowers_tsne_2d_x"]), float(r["flowers_tsne_2d_y"])] for r in rows],
                       stored[[120, 3, 77], :2], rtol=1e-4, atol=1e-4)
    assert {"neighbours_flowers", "trust_flowers_tsne_2d"} <= set(rows[0])


def test_an_isolated_views_selection_is_mapped_back_through_its_filtered_points(iris_run, tmp_path, capsys):
    run, own = iris_run
    isolated = {**own[0], "label": "isolated", "selectedPoints": [0, 2], "filteredPoints": [10, 20, 30]}
    rows = rows_of(export(run, [isolated, {**own[0], "label": "later", "selectedPoints": [1]}], tmp_path, capsys,
                          "--view", "isolated"))
    assert [int(row["row"]) for row in rows] == [10, 30]


@pytest.mark.slow  # the export in a subprocess, TensorFlow loading
def test_all_writes_every_point_to_a_file_from_the_command_line(iris_run, tmp_path):
    run, _ = iris_run
    result = run_script("tools/export_selection.py", run, "--all", "--out", tmp_path / "all.csv", timeout=120)
    assert result.returncode == 0 and result.stderr.splitlines()[-1] == f"wrote 150 rows to {tmp_path / 'all.csv'}"
    with (tmp_path / "all.csv").open() as file:
        assert [int(row["row"]) for row in csv.DictReader(file)] == list(range(150))


@pytest.mark.parametrize("states, flags, message", [
    ("not json", [], "is not a state file the Bookmarks panel saved"),
    ([{"label": "a"}], [], "is not a state file the Bookmarks panel saved (a list of views)"),
    ([{"label": "a", "selectedPoints": []}], [], "view 'a' selects no points"),
    ([{"label": "a", "selectedPoints": [1]}], ["--view", "b"], "has no view 'b'; its views: 'a'"),
    ([{"label": "a", "selectedPoints": [400]}], [], "selects row 400, and"),
    ([{"label": "a", "selectedPoints": [5], "filteredPoints": [1, 2]}], [], "selects point 5 of only 2 isolated"),
], ids=["not-json", "not-views", "nothing-selected", "no-such-view", "another-run", "isolated-out-of-range"])
def test_bad_input_gets_one_line_and_exit_2(iris_run, tmp_path, capsys, states, flags, message):
    run, _ = iris_run
    status, out, err = export(run, states, tmp_path, capsys, *flags)
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert status == 2 and len(lines) == 1 and message in lines[0], err
    assert "Traceback" not in err and out == ""
