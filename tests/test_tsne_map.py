"""The offline t-SNE, its picture, the metrics, and what --no-tsne leaves out."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
import tensorflow as tf
from conftest import TensorBoardServer, make_digits, run_script, stderr_lines, summaries
from PIL import Image

from tutorial.metrics import evaluate_embeddings, knn_accuracy, metrics_table, trustworthiness
from tutorial.neighbours import nearest_neighbours
from tutorial.plotting import plot_tsne_map
from tutorial.tsne import PHASES, StopWhenConverged, TsneEngine, tsne_map


@pytest.fixture(scope="module")
def digits():
    images, labels = make_digits(200, seed=5)
    return images, labels, images.reshape(200, -1).astype(np.float32) / 255


@pytest.mark.slow  # t-SNE of 1,797 digits, more than once
def test_tsne_shapes_and_same_seed_same_coordinates(digits):
    pixels = digits[2]
    first = tsne_map(pixels, 2, perplexity=10, seed=1)
    assert first.shape == (200, 2) and first.dtype == np.float32
    assert np.array_equal(first, tsne_map(pixels, 2, perplexity=10, seed=1))
    assert not np.allclose(first, tsne_map(pixels, 2, perplexity=10, seed=2))
    assert tsne_map(pixels, 3, perplexity=10, seed=1).shape == (200, 3)


def test_tsne_keeps_separate_clusters_apart():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 30)
    centers = rng.normal(scale=10, size=(10, 120))
    points = centers[labels] + rng.normal(size=(300, 120))  # ten well-separated blobs in 120-D
    coords = tsne_map(points, 2, perplexity=10, seed=0)
    assert knn_accuracy(coords, labels) > 0.95  # chance is 0.1


def test_stop_waits_for_the_map_to_move_then_for_it_to_settle():
    stop = StopWhenConverged(1e-3)
    # A flat start (the map is still a tiny seed), a fall, then a plateau.
    kl = [5.654, 5.651, 5.127, 4.603, 4.525, 4.560, 4.590, 4.610, 4.6125]
    decisions = [stop(10 * (i + 1), value, np.zeros((1, 2))) for i, value in enumerate(kl)]
    assert decisions == [False] * 8 + [True]  # 4.610 -> 4.6125 is a 0.054% change
    assert stop.iterations == 90 and stop.kl_divergence == 4.6125


@pytest.mark.slow  # t-SNE of 1,797 digits, more than once
def test_tsne_stops_each_phase_when_converged_and_says_so(digits, capsys):
    coords = tsne_map(digits[2], 2, perplexity=10, seed=0)
    out = capsys.readouterr().out
    assert "early exaggeration" in out and out.count("iterations, Barnes-Hut") == 2  # 200 points: no FFT
    iterations = {phase: int(re.search(rf"{phase}: (\d+) iterations", out).group(1)) for phase, *_ in PHASES}
    assert 0 < iterations["early exaggeration"] < 250 and 0 < iterations["settling"] < 750, out
    assert np.isfinite(coords).all()


@pytest.mark.slow  # t-SNE of 1,797 digits, more than once
def test_fft_and_barnes_hut_maps_are_both_good():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 30)
    points = rng.normal(scale=10, size=(10, 120))[labels] + rng.normal(size=(300, 120))
    for method in ("fft", "bh"):
        coords = tsne_map(points, 2, perplexity=10, seed=0, engine=TsneEngine(method=method))
        assert knn_accuracy(coords, labels) > 0.95, method


def test_tsne_refuses_too_few_points_for_the_perplexity(digits):
    with pytest.raises(ValueError, match="lower --perplexity"):
        tsne_map(digits[2][:50], 2, perplexity=30)


def test_map_picture_has_its_size_and_is_not_blank(digits):
    images, labels, pixels = digits
    coords = np.random.default_rng(0).normal(size=(200, 2))
    png = plot_tsne_map(coords, labels, images, [str(d) for d in range(10)], title="test")
    picture = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    assert picture.shape == (1000, 1000, 3)
    assert picture.std() > 10
    assert len(np.unique(picture.reshape(-1, 3), axis=0)) > 50  # ten class colours, blended


def test_metrics_cover_every_tensor_and_make_a_markdown_table(digits):
    _, labels, pixels = digits
    embeddings = {"pixels": pixels, "pixels_tsne_2d": pixels[:, :2]}
    neighbours = {name: nearest_neighbours(values) for name, values in embeddings.items()}
    metrics = evaluate_embeddings(embeddings, labels, {"pixels_tsne_2d": "pixels"}, neighbours)
    assert set(metrics) == {"pixels", "pixels_tsne_2d"}
    assert metrics["pixels"]["trustworthiness"] is None
    assert 0 <= metrics["pixels_tsne_2d"]["trustworthiness"] <= 1
    assert metrics["pixels"]["knn_accuracy"] == round(knn_accuracy(pixels, labels), 4)
    table = metrics_table(metrics)
    assert table.splitlines()[0].startswith("| tensor |") and "| `pixels_tsne_2d` | 2 |" in table


def test_trustworthiness_is_scikit_learns_over_all_points_and_a_sample_estimates_it():
    from sklearn.manifold import trustworthiness as sklearn_trustworthiness

    rng = np.random.default_rng(3)
    source = rng.normal(size=(1500, 30))
    embedded = source[:, :2] + rng.normal(scale=0.5, size=(1500, 2))  # keeps some neighbourhoods, breaks others
    exact = sklearn_trustworthiness(source, embedded, n_neighbors=5)
    assert trustworthiness(source, embedded) == (pytest.approx(exact, abs=1e-6), 0.0)  # N <= 2,000: all points
    estimates = [trustworthiness(source, embedded, seed=seed, sample=300) for seed in range(5)]
    assert all(abs(value - exact) < 4 * error and 0 < error < 0.02 for value, error in estimates), (exact, estimates)
    assert len({value for value, _ in estimates}) > 1  # other seeds, other points


@pytest.fixture(scope="module")
def tsne_run(small_mnist, tmp_path_factory):
    logdir = tmp_path_factory.mktemp("tsne") / "logs" / "mnist"
    result = run_script("mnist_tsne.py", "--data-dir", small_mnist, "--logdir", logdir, "--num-images", 150,
                        "--tsne-dims", "2", "3", "--perplexity", "15", "--seed", "4")
    assert result.returncode == 0, result.stderr
    return logdir, result


@pytest.mark.slow  # lesson 1 in a subprocess, TensorFlow loading
def test_script_stores_2d_and_3d_maps_metrics_and_picture(tsne_run):
    logdir, result = tsne_run
    reader = tf.train.load_checkpoint(str(logdir))
    assert reader.get_variable_to_shape_map() == {"pixels": [150, 784], "pixels_tsne_2d": [150, 3],
                                                  "pixels_tsne_3d": [150, 3]}
    metrics = json.loads((logdir / "metrics.json").read_text())["embeddings"]
    assert set(metrics) == {"pixels", "pixels_tsne_2d", "pixels_tsne_3d"}
    assert Image.open(logdir / "tsne_map_pixels.png").size == (1000, 1000)
    assert "t-SNE of pixels (150 x 784, PCA to 50) to 2-D, perplexity 15" in result.stdout
    assert "| `pixels_tsne_3d` | 3 |" in result.stdout


@pytest.mark.slow  # lesson 1 in a subprocess, TensorFlow loading
def test_script_writes_map_and_metrics_summaries(tsne_run):
    tags = summaries(tsne_run[0])
    assert {"tsne_map/pixels", "metrics", "projector_run"} <= set(tags)
    table = tags["metrics"][0].tensor_proto.string_val[0].decode()
    assert "| `pixels_tsne_2d` |" in table


def test_tsne_keeps_its_layout_every_10_iterations_when_asked(digits):
    frames = []
    final = tsne_map(digits[2], 2, perplexity=10, seed=0, frames=frames)
    steps = [iteration for iteration, _, _ in frames]
    assert steps[0] == 0 and len(steps) > 5 and all(b - a == 10 for a, b in zip(steps, steps[1:], strict=False))
    exaggerated = [flag for _, flag, _ in frames]
    assert exaggerated[0] and not exaggerated[-1] and exaggerated == sorted(exaggerated, reverse=True)
    assert np.array_equal(frames[-1][2], final)  # the last frame is the map
    assert not np.allclose(frames[0][2], final)


@pytest.mark.slow
def test_the_optimisation_is_a_gif_and_an_image_summary_over_steps(tsne_run):
    logdir = tsne_run[0]
    gif = Image.open(logdir / "tsne_progress_pixels.gif")
    assert gif.n_frames > 5 and gif.info["loop"] == 0 and gif.info["duration"] > 0
    frames = summaries(logdir)["tsne_progress/pixels"]
    assert len(frames) == gif.n_frames and [frame.step for frame in frames][:2] == [0, 10]
    assert not (logdir / "tsne_progress_pixels_tsne_3d.gif").exists() and not list(logdir.glob("*3d*.gif"))
    # TensorBoard serves each step to the Images tab's step slider.
    server = TensorBoardServer(logdir.parent)
    try:
        steps = json.loads(server.get("/data/plugin/images/images?run=mnist&tag=tsne_progress%2Fpixels&sample=0"))
    finally:
        server.close()
    assert len(steps) > 5 and steps[-1]["step"] == frames[-1].step


@pytest.mark.slow  # lesson 1 in a subprocess, TensorFlow loading
def test_no_tsne_writes_no_map_and_no_metrics_writes_no_measure(small_mnist, tmp_path):
    # The same flags mean the same in both lessons: --no-tsne leaves out the maps, --no-metrics the measures.
    # (--no-tsne alone, measures kept: tests/test_mnist_tsne.py's rerun.)
    logdir = tmp_path / "run"
    result = run_script("mnist_tsne.py", "--data-dir", small_mnist, "--logdir", logdir, "--num-images", 100,
                        "--no-tsne", "--no-metrics")
    assert result.returncode == 0, result.stderr
    assert tf.train.load_checkpoint(str(logdir)).get_variable_to_shape_map() == {"pixels": [100, 784]}
    assert not list(logdir.glob("tsne_*")) and "t-SNE" not in result.stdout
    assert not (logdir / "metrics.json").exists()
    assert (logdir / "metadata.tsv").read_text().splitlines()[0] == "label\tclass_name\tindex"


@pytest.mark.slow  # lesson 1 in a subprocess, TensorFlow loading
def test_too_few_digits_for_the_perplexity_is_one_clear_line(small_mnist, tmp_path):
    result = run_script("mnist_tsne.py", "--data-dir", small_mnist, "--logdir", tmp_path / "run", "--num-images", 40)
    assert result.returncode == 2
    lines = stderr_lines(result.stderr)
    assert len(lines) == 1 and "lower --perplexity" in lines[0], result.stderr
    assert not (tmp_path / "run").exists()


def test_the_stop_rule_reads_a_negative_objective_by_its_magnitude():
    """During early exaggeration openTSNE reports the exaggerated objective, negative on few points. A change of
    10% a check is not settled, whatever the sign; a change of 0.01% is."""
    stop = StopWhenConverged(1e-3)
    assert [stop(i, value, None) for i, value in enumerate([-0.50, -0.55, -0.605, -0.6655])] == [False] * 4
    assert stop(4, -0.66556, None) is True
