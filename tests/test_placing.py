"""New points on a finished map (``vectors_tsne.py --onto``, ``tutorial/placing.py``).

What a user relies on: the map does not move; a new point lands among the map points it resembles, where they
would put it; its place does not depend on what else is placed with it; the new run is one TensorBoard reads,
with the new points marked and selected; bad input changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, metadata_table, run_script, stderr_lines, vote_of

sys.path.insert(0, str(REPO))
from tutorial.placing import place_on_map  # noqa: E402
from tutorial.tsne import prepare_tsne, tsne_map  # noqa: E402

MAP_POINTS = 1_200


def digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    values, labels = load_digits(return_X_y=True)
    return values.astype(np.float32), labels


def five_nn_vote(reference: np.ndarray, reference_labels: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """The class most of each query's 5 nearest reference points carry: a plain loop, the oracle."""
    votes = []
    for query in queries:
        nearest = np.argsort(((reference - query) ** 2).sum(axis=1), kind="stable")[:5]
        votes.append(vote_of(reference_labels[nearest].tolist()))
    return np.array(votes)


@pytest.fixture(scope="module")
def digits_map():
    values, labels = digits()
    prepared = prepare_tsne(values[:MAP_POINTS], 30.0, 0)
    return values, labels, prepared, tsne_map(values[:MAP_POINTS], 2, 30.0, 0, prepared=prepared)


def test_the_map_stays_and_a_subset_lands_where_it_lands_among_all(digits_map):
    values, _, prepared, coordinates = digits_map
    before = coordinates.copy()
    new = values[MAP_POINTS:]
    everyone = place_on_map(coordinates, prepared.x, new)
    some = np.arange(0, len(new), 7)
    assert np.array_equal(coordinates, before), "placing moved the map"
    np.testing.assert_allclose(place_on_map(coordinates, prepared.x, new[some]), everyone[some], atol=1e-6)
    np.testing.assert_allclose(place_on_map(coordinates, prepared.x, new[::-1]), everyone[::-1], atol=1e-6)


def test_a_copy_of_a_map_point_lands_on_it(digits_map):
    values, _, prepared, coordinates = digits_map
    rows = np.arange(0, MAP_POINTS, 12)
    placed = place_on_map(coordinates, prepared.x, values[rows])
    extent = np.ptp(coordinates, axis=0).max()
    assert np.median(np.linalg.norm(placed - coordinates[rows], axis=1)) < 0.01 * extent


@pytest.mark.slow  # a t-SNE of 1,797 digits
def test_placed_points_are_voted_as_well_as_in_a_map_made_with_them(digits_map):
    # The oracle: a t-SNE of all the digits, new ones included, and the same 5-NN vote among the old ones.
    values, labels, prepared, coordinates = digits_map
    placed = place_on_map(coordinates, prepared.x, values[MAP_POINTS:])
    refit = tsne_map(values, 2, 30.0, 0)
    on_refit = five_nn_vote(refit[:MAP_POINTS], labels[:MAP_POINTS], refit[MAP_POINTS:])
    placed_votes = five_nn_vote(coordinates, labels[:MAP_POINTS], placed)
    truth = labels[MAP_POINTS:]
    refit_right, placed_right = np.mean(on_refit == truth), np.mean(placed_votes == truth)
    assert refit_right > 0.9
    assert placed_right >= refit_right - 0.02, (placed_right, refit_right)


# --- vectors_tsne.py --onto, end to end ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def placed_runs(tmp_path_factory) -> dict[str, Path]:
    """A map of 1,200 digits with pictures (``old``), then the other 597 placed on it (``new``)."""
    folder = tmp_path_factory.mktemp("placing")
    values, labels = digits()
    pictures = (values.reshape(-1, 8, 8) * 16).clip(0, 255).astype(np.uint8)
    for part, rows in (("old", slice(0, MAP_POINTS)), ("new", slice(MAP_POINTS, None))):
        np.save(folder / f"{part}.npy", values[rows])
        np.save(folder / f"{part}_pictures.npy", pictures[rows])
        (folder / f"{part}.tsv").write_text("digit\n" + "".join(f"{label}\n" for label in labels[rows]))
    runs = {"old": folder / "logs" / "old", "new": folder / "logs" / "new", "folder": folder}
    made = run_script("vectors_tsne.py", "old.npy", "--metadata", "old.tsv", "--color-by", "digit", "--images",
                      "old_pictures.npy", "--logdir", runs["old"], cwd=folder)
    assert made.returncode == 0, made.stderr
    placed = run_script("vectors_tsne.py", "new.npy", "--metadata", "new.tsv", "--images", "new_pictures.npy",
                        "--onto", runs["old"], "--logdir", runs["new"], cwd=folder)
    assert placed.returncode == 0, placed.stderr
    return runs


def checkpoint(run: Path) -> dict[str, np.ndarray]:
    import tensorflow as tf

    reader = tf.train.load_checkpoint(str(run))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


@pytest.mark.slow  # lesson 3 twice in a subprocess, TensorFlow loading
def test_the_new_run_keeps_the_map_and_adds_the_new_points(placed_runs):
    values, labels = digits()
    old, new = checkpoint(placed_runs["old"]), checkpoint(placed_runs["new"])
    assert np.array_equal(new["old_tsne_2d"][:MAP_POINTS], old["old_tsne_2d"]), "the map moved"
    np.testing.assert_array_equal(new["old"], values)  # the map's vectors, then the new ones
    table = metadata_table((placed_runs["new"] / "metadata.tsv").read_text().splitlines())
    assert table["placed"] == ("map",) * MAP_POINTS + ("new",) * (len(values) - MAP_POINTS)
    assert table["digit"] == tuple(map(str, labels))

    # Each new point's vote: its 5 nearest map points in the vectors (an independent loop).
    votes = five_nn_vote(values[:MAP_POINTS], labels[:MAP_POINTS], values[MAP_POINTS:])
    assert table["neighbours_old"][MAP_POINTS:] == tuple(map(str, votes))
    metrics = json.loads((placed_runs["new"] / "metrics.json").read_text())["embeddings"]["old"]
    assert metrics["knn_accuracy_of_new_points"] == round(float(np.mean(votes == labels[MAP_POINTS:])), 4)
    on_map = five_nn_vote(old["old_tsne_2d"], labels[:MAP_POINTS], new["old_tsne_2d"][MAP_POINTS:])
    on_map_right = round(float(np.mean(on_map == labels[MAP_POINTS:])), 4)
    assert metrics["knn_accuracy_of_new_points_on_old_tsne_2d"] == on_map_right
    trust = np.array(table["trust_old_tsne_2d"][MAP_POINTS:], dtype=float)
    assert 0 <= trust.min() and trust.mean() > 0.3


@pytest.mark.slow  # lesson 3 twice in a subprocess, TensorFlow loading
def test_the_bookmark_selects_the_new_points_and_the_sprite_keeps_every_picture(placed_runs):
    from PIL import Image

    views = json.loads((placed_runs["new"] / "bookmarks_old_tsne_2d.json").read_text())
    (selecting,) = [view for view in views if view["selectedPoints"]]
    assert selecting["label"] == f"old_tsne_2d: new points ({1797 - MAP_POINTS})"
    assert selecting["selectedPoints"] == list(range(MAP_POINTS, 1797))
    assert selecting["selectedColorOptionName"] == "digit"
    sprite = np.asarray(Image.open(placed_runs["new"] / "sprite.png"))
    pictures = np.concatenate([np.load(placed_runs["folder"] / f"{part}_pictures.npy") for part in ("old", "new")])
    cols = sprite.shape[1] // 8
    assert cols * cols >= 1797
    for row in (0, MAP_POINTS - 1, MAP_POINTS, 1796):  # make_sprite's grid: row-major, 8 x 8 each
        top, left = (row // cols) * 8, (row % cols) * 8
        np.testing.assert_array_equal(sprite[top:top + 8, left:left + 8], pictures[row])


@pytest.mark.slow  # lesson 3 twice in a subprocess, TensorFlow loading
def test_tensorboard_reads_the_new_run(placed_runs):
    result = subprocess.run([sys.executable, str(REPO / "tools" / "check_projector_logs.py"),
                             str(placed_runs["new"].parent)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow  # lesson 3 twice in a subprocess, TensorFlow loading
def test_a_placed_run_takes_more_points_later(placed_runs, tmp_path):
    values, _ = digits()
    np.save(tmp_path / "more.npy", values[:5] + 0.5)
    result = run_script("vectors_tsne.py", "more.npy", "--onto", placed_runs["new"], "--logdir", tmp_path / "more",
                        cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    first, second = checkpoint(placed_runs["new"]), checkpoint(tmp_path / "more")
    assert np.array_equal(second["old_tsne_2d"][:1797], first["old_tsne_2d"])
    assert second["old"].shape == (1802, 64)


# --- bad input: one line, exit 2, nothing written ---------------------------------------------------------------


@dataclass
class Case:
    name: str  # the table's first column in docs/bad-input.md, word for word
    message: str
    args: list


CASES = [
    Case("New vectors with other dimensions than the map's", "the map's vectors have 64 dimensions, the new ones "
         "[5, 10]", ["wide.npy", "--onto", "{old}"]),
    Case("Another `--metric` than the map's", "the map was made with euclidean distance, not cosine",
         ["new.npy", "--onto", "{old}", "--metric", "cosine"]),
    Case("`--onto` a run with no saved map", "this run holds no saved map to place points on",
         ["new.npy", "--onto", "{no_map}"]),
    Case("New vectors with NaN rows", "NaN", ["nan.npy", "--onto", "{old}"]),
    Case("`--onto` a folder that is not a run", "is not a Projector run (no projector_config.pbtxt)",
         ["new.npy", "--onto", "{folder}"]),
    Case("`--onto` the run being written", "is the run placed onto; write the new run elsewhere",
         ["new.npy", "--onto", "{logdir}"]),
    Case("More new points than the Projector loads beside the map's", "50 map points and 99,951 new ones, and the "
         "Projector loads 100,000; pass --max-points 99950", ["many.npy", "--onto", "{old}"]),
]


def fingerprint(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.fixture(scope="module")
def saved_map(tmp_path_factory) -> Path:
    """A run folder holding a saved map of 50 points in 64 dimensions, made by hand: every check below happens
    before TensorFlow loads, from placing.json and placing.npz alone."""
    from tutorial.placing import MapSpace, write_map_space

    run = tmp_path_factory.mktemp("saved_map") / "logs" / "old"
    run.mkdir(parents=True)
    rng = np.random.default_rng(0)
    space = MapSpace(rng.normal(size=(50, 64)).astype(np.float32), {"old_tsne_2d": rng.normal(size=(50, 2))}, 64)
    write_map_space(run, {"old": space}, {"metric": "euclidean", "perplexity": 30.0, "seed": 0, "color_by": None})
    (run / "projector_config.pbtxt").write_text("embeddings {\n  tensor_name: \"old\"\n}\n")
    (run / "run.json").write_text('{"script": "vectors_tsne.py"}\n')
    return run


@pytest.mark.parametrize("case", CASES, ids=[re.sub(r"\W+", "_", c.name).strip("_") for c in CASES])
def test_bad_input(case: Case, saved_map, tmp_path):
    import shutil

    values, _ = digits()
    np.save(tmp_path / "wide.npy", np.zeros((5, 10), np.float32))
    nan = values[:5].copy()
    nan[2, 3] = np.nan
    np.save(tmp_path / "nan.npy", nan)
    np.save(tmp_path / "new.npy", values[:5])
    if case.name.startswith("More new points"):
        np.save(tmp_path / "many.npy", np.zeros((99_951, 64), np.float32))
    no_map = tmp_path / "logs" / "no_map"
    shutil.copytree(saved_map, no_map)
    for name in ("placing.npz", "placing.json"):
        (no_map / name).unlink()
    logdir = tmp_path / "logs" / "placed"
    shutil.copytree(saved_map, logdir)
    (tmp_path / "data").mkdir()
    before = {run: fingerprint(run) for run in (saved_map, logdir, no_map)}
    paths = {"old": saved_map, "no_map": no_map, "folder": tmp_path / "data", "logdir": logdir}
    args = [arg.format(**paths) for arg in case.args]
    result = subprocess.run([sys.executable, str(REPO / "vectors_tsne.py"), *args, "--logdir", str(logdir)],
                            cwd=tmp_path, capture_output=True, text=True, timeout=600)
    lines = stderr_lines(result.stderr)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert len(lines) == 1 and case.message in lines[0], result.stderr
    assert {run: fingerprint(run) for run in before} == before, "a run was changed"
    assert not list(tmp_path.rglob("*.partial-*")), "staging left behind"


def test_the_bad_input_table_has_a_test_for_every_row():
    page = (REPO / "docs" / "bad-input.md").read_text()
    table = page.split("\n## `vectors_tsne.py --onto`", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| ")][2:]
    assert rows == [case.name for case in CASES]
