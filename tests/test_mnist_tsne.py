"""mnist_tsne.py end to end: run as a user would, then ask a real TensorBoard."""

from __future__ import annotations

import io
import json
import shutil
import time

import numpy as np
import pytest
from conftest import (
    LESSON_1_SHOWN,
    TensorBoardServer,
    bookmark_coordinates,
    make_digits,
    run_script,
    tensorflow_log_lines,
    write_mnist_dir,
)
from PIL import Image


@pytest.fixture(scope="module")
def mnist_run(lesson_1_run, tmp_path_factory):
    """The test session's lesson 1 run (every default, 300 drawn digits), alone in a logs folder of its own."""
    logs = tmp_path_factory.mktemp("served") / "logs"
    shutil.copytree(lesson_1_run[0], logs / "mnist")
    return logs, lesson_1_run[1]


@pytest.fixture(scope="module")
def server(mnist_run):
    server = TensorBoardServer(mnist_run[0])
    server.get("/data/plugin/projector/runs")  # wait until it answers
    yield server
    server.close()


@pytest.mark.slow  # lesson 1 in a subprocess, TensorFlow loading
def test_run_prints_how_to_open_tensorboard(mnist_run):
    _, result = mnist_run
    assert "./run_tensorboard.sh" in result.stdout and "#projector" in result.stdout


@pytest.mark.slow  # lesson 1 in a subprocess, TensorFlow loading
def test_a_run_prints_no_tensorflow_log_lines_once_tensorflow_has_loaded(mnist_run):
    # Before: "E0000 ... failed call to cuInit: UNKNOWN ERROR (303)" on every machine without a GPU.
    assert tensorflow_log_lines(mnist_run[1].stderr) == []


@pytest.mark.slow  # lesson 1 in a subprocess, TensorFlow loading
def test_run_directory_holds_every_file_the_projector_needs(lesson_1_run):
    run_dir = lesson_1_run[0]  # as the script left it
    for name in ("checkpoint", "sprite.png", "metadata.tsv", "projector_config.pbtxt", "run.json"):
        assert (run_dir / name).is_file(), name
    assert len(list(run_dir.glob("embeddings.ckpt-*.index"))) == 1
    assert list(run_dir.glob("events.out.tfevents.*"))
    run_info = json.loads((run_dir / "run.json").read_text())
    assert run_info["script"] == "mnist_tsne.py" and run_info["num_images"] == LESSON_1_SHOWN
    # Nothing is left beside the run: no staging folders.
    assert [p.name for p in run_dir.parent.iterdir()] == ["mnist"]
    assert not list(run_dir.parent.parent.glob(".mnist.*")) and not list(run_dir.parent.glob(".mnist.*"))


@pytest.mark.slow
def test_tensorboard_serves_the_run(server):
    n = LESSON_1_SHOWN
    images, labels = make_digits(n)  # the digits of write_mnist_dir(n_test=300), in their order
    assert json.loads(server.get("/data/plugin/projector/runs")) == ["mnist"]
    info = json.loads(server.get("/data/plugin/projector/info?run=mnist"))
    shapes = {e["tensorName"]: e["tensorShape"] for e in info["embeddings"]}
    assert shapes == {"pixels": [n, 784], "pixels_tsne_2d": [n, 3]}  # 2-D map + zero column

    tensor = np.frombuffer(server.get("/data/plugin/projector/tensor?run=mnist&name=pixels"), np.float32)
    assert np.allclose(tensor.reshape(n, 784), images.reshape(n, -1) / 255.0)

    metadata = server.get("/data/plugin/projector/metadata?run=mnist&name=pixels").decode().splitlines()
    # No split column (all 300 are test digits); the neighbours' vote and the map's trust (test_neighbours.py).
    assert metadata[0] == "label\tclass_name\tindex\tneighbours_pixels\ttrust_pixels_tsne_2d"
    assert [int(line.split("\t")[0]) for line in metadata[1:]] == labels.tolist()

    png = server.get("/data/plugin/projector/sprite_image?run=mnist&name=pixels")
    sprite = np.asarray(Image.open(io.BytesIO(png)))
    assert sprite.shape == (18 * 28, 18 * 28)  # ceil(sqrt(300)) = 18 columns, and as many rows
    assert np.array_equal(sprite[28:56, 28 * 3:28 * 4], 255 - images[18 + 3])


@pytest.mark.slow
def test_tensorboard_serves_bookmarks_that_open_on_pca_and_the_stored_map(server):
    from tutorial.pca import pca_coordinates

    info = json.loads(server.get("/data/plugin/projector/info?run=mnist"))
    shapes = {e["tensorName"]: e["tensorShape"] for e in info["embeddings"]}
    views = {name: json.loads(server.get(f"/data/plugin/projector/bookmarks?run=mnist&name={name}"))
             for name in shapes}
    tensors = {name: np.frombuffer(server.get(f"/data/plugin/projector/tensor?run=mnist&name={name}"),
                                   np.float32).reshape(shapes[name]) for name in shapes}
    assert {name: [view["label"] for view in states] for name, states in views.items()} == {
        "pixels": ["PCA, coloured by class", "t-SNE (converged offline), coloured by class",
                   "Where the neighbours disagree"],
        "pixels_tsne_2d": ["PCA, coloured by class"],
    }
    for name, states in views.items():
        for view in states:
            assert view["dataSetDimensions"] == shapes[name]
            assert len(view["projections"]) == LESSON_1_SHOWN
            assert view["selectedLabelOption"] == "class_name"
            disagree = view["label"] == "Where the neighbours disagree"
            assert view["selectedColorOptionName"] == ("neighbours_pixels" if disagree else "class_name")
    pca, tsne, _ = views["pixels"]
    assert pca["selectedProjection"] == "pca" and tsne["selectedProjection"] == "tsne"
    # The t-SNE view is the stored map, point for point; the PCA view what the PCA tab computes.
    assert np.allclose(bookmark_coordinates(tsne), tensors["pixels_tsne_2d"][:, :2], atol=1e-4)
    assert np.allclose(bookmark_coordinates(pca), pca_coordinates(tensors["pixels"]), atol=1e-4)
    flat = views["pixels_tsne_2d"][0]
    assert flat["pcaComponentDimensions"] == [0, 1]  # a flat map stays flat


@pytest.mark.slow  # lesson 1 in a subprocess, TensorFlow loading
def test_rerun_replaces_the_run_and_keeps_it_readable(lesson_1_run, small_mnist, tmp_path):
    import tensorflow as tf

    logdir = tmp_path / "logs" / "mnist"
    shutil.copytree(lesson_1_run[0], logdir)  # an earlier run of the script: the session's, 300 digits
    result = run_script("mnist_tsne.py", "--data-dir", small_mnist, "--logdir", logdir, "--num-images", 30,
                        "--no-tsne")
    assert result.returncode == 0, result.stderr
    assert json.loads((logdir / "run.json").read_text())["num_images"] == 30
    assert sorted(p.name for p in tmp_path.iterdir()) == ["logs"]
    assert sorted(p.name for p in logdir.parent.iterdir()) == ["mnist"]  # no staging folder left beside it
    # --no-tsne leaves out the maps and keeps the measures (with --no-metrics too: tests/test_tsne_map.py).
    assert tf.train.load_checkpoint(str(logdir)).get_variable_to_shape_map() == {"pixels": [30, 784]}
    assert not list(logdir.glob("tsne_*")) and "t-SNE" not in result.stdout
    assert set(json.loads((logdir / "metrics.json").read_text())["embeddings"]) == {"pixels"}
    assert (logdir / "metadata.tsv").read_text().splitlines()[0] == "label\tclass_name\tindex\tneighbours_pixels"


def served_run(server: TensorBoardServer, run: str = "mnist") -> dict:
    """What ``server`` serves for ``run``'s pixels now: the shape its info gives, the tensor as sent
    (flat), the metadata rows and the sprite."""
    info = json.loads(server.get(f"/data/plugin/projector/info?run={run}"))
    png = server.get(f"/data/plugin/projector/sprite_image?run={run}&name=pixels")
    return {
        "shape": {e["tensorName"]: e["tensorShape"] for e in info["embeddings"]}["pixels"],
        "tensor": np.frombuffer(server.get(f"/data/plugin/projector/tensor?run={run}&name=pixels"), np.float32),
        "metadata": server.get(f"/data/plugin/projector/metadata?run={run}&name=pixels").decode().splitlines()[1:],
        "sprite": np.asarray(Image.open(io.BytesIO(png))),
    }


@pytest.mark.slow
def test_a_rerun_is_served_whole_by_a_running_tensorboard(lesson_1_run, small_mnist, tmp_path):
    """Re-run into the same --logdir while TensorBoard runs: every route serves the new run, never a mix.

    run_tensorboard.sh's TensorBoard (tutorial/serve_tensorboard.py) and plain
    TensorBoard serve the same folder side by side; plain TensorBoard keeps
    sending the old tensor, which is why the launcher exists.
    """
    logs = tmp_path / "logs"
    images, labels = make_digits(300)

    def write(n: int) -> None:
        result = run_script("mnist_tsne.py", "--data-dir", small_mnist, "--logdir", logs / "mnist",
                            "--num-images", n, "--no-tsne")
        assert result.returncode == 0, result.stderr

    shutil.copytree(lesson_1_run[0], logs / "mnist")  # the earlier run: the session's, 300 digits
    ours, plain = TensorBoardServer(logs), TensorBoardServer(logs, plain=True)
    try:
        for server in (ours, plain):
            assert served_run(server)["tensor"].size == LESSON_1_SHOWN * 784
        write(50)
        deadline = time.monotonic() + 30  # TensorBoard rescans runs every few seconds
        while served_run(ours)["shape"] != [50, 784] and time.monotonic() < deadline:
            time.sleep(1)
        served, stale = served_run(ours), served_run(plain)
    finally:
        ours.close()
        plain.close()
    assert served["shape"] == [50, 784] and served["tensor"].size == 50 * 784
    assert np.allclose(served["tensor"].reshape(50, 784), images[:50].reshape(50, -1) / 255.0)
    assert [int(row.split("\t")[0]) for row in served["metadata"]] == labels[:50].tolist()
    assert served["sprite"].shape == (8 * 28, 8 * 28)  # ceil(sqrt(50)) = 8 columns, and as many rows
    assert stale["shape"] == [50, 784] and len(stale["metadata"]) == 50
    assert stale["tensor"].size == LESSON_1_SHOWN * 784, (
        "TensorBoard now serves the new tensor: serve_tensorboard.py can go")


@pytest.mark.slow
def test_split_all_shows_test_then_train_and_says_which(tmp_path):
    data = write_mnist_dir(tmp_path / "data", n_test=60, n_train=90)
    result = run_script("mnist_tsne.py", "--data-dir", data, "--logdir", tmp_path / "logs" / "mnist", "--split", "all",
                        "--no-tsne")
    assert result.returncode == 0, result.stderr
    assert "Loaded 150 digits (all split)" in result.stdout
    rows = [line.split("\t") for line in (tmp_path / "logs" / "mnist" / "metadata.tsv").read_text().splitlines()[1:]]
    assert [row[3] for row in rows] == ["test"] * 60 + ["train"] * 90
    assert [int(row[2]) for row in rows] == list(range(60)) + list(range(90))  # index within its own split
    images, labels = make_digits(150)
    assert [int(row[0]) for row in rows] == labels.tolist()  # write_mnist_dir: test digits first, then train
    assert json.loads((tmp_path / "logs" / "mnist" / "run.json").read_text())["num_images"] == 150
