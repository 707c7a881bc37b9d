"""autoencoder_tsne.py end to end on a few hundred drawn digits, 2 epochs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf
from conftest import (
    TensorBoardServer,
    bookmark_coordinates,
    run_script,
    summaries,
    tensorflow_log_lines,
    write_mnist_dir,
)

import autoencoder_tsne


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """300 test digits and 600 train digits."""
    return write_mnist_dir(tmp_path_factory.mktemp("ae_data"), n_test=300, n_train=600)


@pytest.fixture(scope="module")
def ae_run(data_dir, tmp_path_factory):
    logs = tmp_path_factory.mktemp("ae") / "logs"
    result = run_script("autoencoder_tsne.py", "--data-dir", data_dir, "--logdir", logs / "autoencoder",
                        "--num-images", 200, "--epochs", 2, "--perplexity", 10, env={"TF_CPP_MIN_LOG_LEVEL": None})
    assert result.returncode == 0, result.stderr
    return logs / "autoencoder", result


def test_training_prints_no_tensorflow_log_lines(ae_run):
    # Before: "E0000 ... NodeDef mentions attribute use_unbounded_threadpool" as Keras started training.
    assert tensorflow_log_lines(ae_run[1].stderr) == []


def test_run_holds_code_and_pixels_with_their_tsne(ae_run):
    run_dir = ae_run[0]
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(run_dir)))
    assert reader.get_variable_to_shape_map() == {
        "pixels": [200, 784], "autoencoder_code": [200, 64],
        "pixels_tsne_2d": [200, 3], "autoencoder_code_tsne_2d": [200, 3],
    }
    assert (run_dir / "tsne_map_autoencoder_code.png").is_file()


def test_loss_curves_and_reconstruction_grid_are_in_the_event_files(ae_run):
    run_dir = ae_run[0]
    for split in ("train", "validation"):
        scalars = summaries(run_dir / "training" / split)
        assert "epoch_loss" in scalars, scalars.keys()
        assert [event.step for event in scalars["epoch_loss"]] == [0, 1]
    root = summaries(run_dir)
    assert "reconstructions" in root
    image = tf.image.decode_png(root["reconstructions"][0].tensor_proto.string_val[2]).numpy()
    assert image.shape == (56, 16 * 28, 1)  # originals above reconstructions, 16 digits


def test_metrics_json_is_sane(ae_run):
    run_dir, result = ae_run
    metrics = json.loads((run_dir / "metrics.json").read_text())
    reconstruction = metrics["reconstruction"]
    assert 0 < reconstruction["train_mse"] < 0.2 and 0 < reconstruction["validation_mse"] < 0.2
    embeddings = metrics["embeddings"]
    assert set(embeddings) == {"pixels", "autoencoder_code", "pixels_tsne_2d", "autoencoder_code_tsne_2d"}
    for m in embeddings.values():
        assert 0.1 <= m["knn_accuracy"] <= 1.0  # 10 classes: chance is 0.1; drawn digits are easy
    assert embeddings["pixels"]["knn_accuracy"] > 0.25  # well above chance
    assert embeddings["autoencoder_code"]["trustworthiness_vs"] == "pixels"
    assert 0.5 < embeddings["autoencoder_code_tsne_2d"]["trustworthiness"] <= 1.0
    assert "kNN accuracy: pixels" in result.stdout and "Training on 480 digits" in result.stdout


def test_lesson_2_compares_where_the_code_and_the_pixels_put_digits(ae_run):
    run_dir, result = ae_run
    metrics = json.loads((run_dir / "metrics.json").read_text())
    compared = metrics["neighbour_votes_vs_pixels"]["autoencoder_code"]
    right, wrong = compared["right_where_pixels_wrong"], compared["wrong_where_pixels_right"]
    # What the code fixes, less what it breaks, is the difference in misplaced digits.
    misplaced = {name: metrics["embeddings"][name]["disagreeing_points"] for name in ("pixels", "autoencoder_code")}
    assert right - wrong == misplaced["pixels"] - misplaced["autoencoder_code"]
    assert f"the code puts {right} digits in their own class that the pixels put in another, and {wrong} " \
           "the other way round" in result.stdout
    assert (run_dir / "confusions_autoencoder_code.png").is_file()


def test_saved_model_loads_and_encodes(ae_run):
    import keras

    model = keras.saving.load_model(ae_run[0] / "autoencoder.keras")
    code = autoencoder_tsne.encoder_of(model).predict(np.zeros((3, 784), np.float32), verbose=0)
    assert code.shape == (3, 64)


def test_load_model_embeds_without_training(ae_run, data_dir, tmp_path):
    logdir = tmp_path / "logs" / "reloaded"
    result = run_script("autoencoder_tsne.py", "--data-dir", data_dir, "--logdir", logdir, "--num-images", 200,
                        "--load-model", ae_run[0] / "autoencoder.keras", "--no-tsne")
    assert result.returncode == 0, result.stderr
    assert "not training" in result.stdout and "Epoch" not in result.stdout
    assert not (logdir / "training").exists()
    original = tf.train.load_checkpoint(str(ae_run[0])).get_tensor("autoencoder_code")
    reloaded = tf.train.load_checkpoint(str(logdir)).get_tensor("autoencoder_code")
    assert np.allclose(original, reloaded, atol=1e-5)
    metrics = json.loads((logdir / "metrics.json").read_text())
    assert set(metrics["embeddings"]) == {"pixels", "autoencoder_code"}


def test_runs_appear_side_by_side_in_the_projector(ae_run, small_mnist):
    logs = ae_run[0].parent
    result = run_script("mnist_tsne.py", "--data-dir", small_mnist, "--logdir", logs / "mnist", "--num-images", 50,
                        "--no-tsne")
    assert result.returncode == 0, result.stderr
    server = TensorBoardServer(logs)
    try:
        assert sorted(json.loads(server.get("/data/plugin/projector/runs"))) == ["autoencoder", "mnist"]
        info = json.loads(server.get("/data/plugin/projector/info?run=autoencoder"))
        shapes = {e["tensorName"]: e["tensorShape"] for e in info["embeddings"]}
        assert shapes["autoencoder_code"] == [200, 64] and shapes["autoencoder_code_tsne_2d"] == [200, 3]
        code = np.frombuffer(server.get("/data/plugin/projector/tensor?run=autoencoder&name=autoencoder_code"),
                             np.float32)
        assert code.shape == (200 * 64,)
        # Every tensor opens on bookmarks; the code's second is its own finished map, its third where the
        # neighbours disagree.
        views = {name: json.loads(server.get(f"/data/plugin/projector/bookmarks?run=autoencoder&name={name}"))
                 for name in shapes}
        code_map = np.frombuffer(server.get(
            "/data/plugin/projector/tensor?run=autoencoder&name=autoencoder_code_tsne_2d"), np.float32)
        assert server.get("/data/plugin/projector/bookmarks?run=mnist&name=pixels")  # --no-tsne: PCA only
    finally:
        server.close()
    assert {name: [view["dataSetDimensions"] for view in states] for name, states in views.items()} == {
        name: [shape] * (3 if name in ("pixels", "autoencoder_code") else 1) for name, shape in shapes.items()}
    assert views["autoencoder_code"][1]["selectedProjection"] == "tsne"
    assert views["autoencoder_code"][2]["selectedColorOptionName"] == "neighbours_autoencoder_code"
    assert np.allclose(bookmark_coordinates(views["autoencoder_code"][1]), code_map.reshape(200, 3)[:, :2], atol=1e-4)
    (logs / "mnist").rename(logs.parent / "mnist_moved_away")  # keep the module's run as it was


def test_no_train_split_trains_on_the_shown_digits(small_mnist, tmp_path):
    result = run_script("autoencoder_tsne.py", "--data-dir", small_mnist, "--logdir", tmp_path / "ae",
                        "--num-images", 100, "--epochs", 1, "--no-tsne")
    assert result.returncode == 0, result.stderr
    assert "No train split in this data: training on the shown digits" in result.stdout
    assert "Training on 80 digits, validating on 20" in result.stdout


def test_same_seed_same_numbers(small_mnist, tmp_path):
    metrics = []
    for attempt in range(2):
        logdir = tmp_path / f"run{attempt}"
        result = run_script("autoencoder_tsne.py", "--data-dir", small_mnist, "--logdir", logdir,
                            "--num-images", 150, "--epochs", 2, "--seed", 3, "--no-tsne")
        assert result.returncode == 0, result.stderr
        metrics.append(json.loads((logdir / "metrics.json").read_text()))
    assert metrics[0] == metrics[1]
