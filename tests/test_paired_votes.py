"""Two tensors of one run, point by point: maps that share a start, and the bookmarks that show which points
one tensor's neighbours put right and the other's wrong.

The data: 500 of scikit-learn's 8 x 8 digits, as their 64 pixels and as two weak codes of them (6 principal
components, and a random projection to 10 numbers), each right where the other is wrong on some digits. Every
check reads the files TensorBoard reads (bookmarks, metadata, checkpoint) and compares them with an
independent leave-one-out 5-NN vote computed here in float64.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import bookmark_coordinates, metadata_table, vote_of

from mnist_tsne import write_embedding_run
from tutorial.errors import InputError
from tutorial.pipeline import RunSettings

N = 500


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA

    data = load_digits()
    pixels = data.data[:N].astype(np.float32)
    pca_code = PCA(6, random_state=0).fit_transform(data.data)[:N].astype(np.float32)
    projection = (pixels @ np.random.default_rng(0).normal(size=(64, 10))).astype(np.float32)
    return ({"pixels": pixels, "pca_code": pca_code, "projection": projection}, data.target[:N],
            (data.images[:N] * 15).astype(np.uint8))


def independent_vote(values: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Leave-one-out 5-NN vote, float64 distances, a tie to the nearest tied neighbour (the pipeline's rule)."""
    values = values.astype(np.float64)
    distances = ((values[:, None, :] - values[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(distances, np.inf)
    nearest = np.argsort(distances, axis=1, kind="stable")[:, :5]
    return np.array([vote_of(labels[row].tolist()) for row in nearest])


def run(tmp_path, digits, name: str, **settings) -> tuple:
    tensors, labels, images = digits
    logdir = tmp_path / name
    metrics = write_embedding_run(logdir, tensors, {"digit": labels.tolist()}, images, color_by="digit",
                                  invert_images=True, settings=RunSettings(perplexity=20, **settings))
    return logdir, metrics


def class_centres(coordinates: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return np.array([coordinates[labels == c, :2].mean(axis=0) for c in range(10)])


@pytest.mark.slow  # two runs of two t-SNE maps of 1,797 points
def test_maps_share_a_start_so_each_class_stays_where_it_was(tmp_path):
    """All 1,797 digits, as pixels and as a code no PCA can line up with the pixels' (a random ReLU network's).
    bench/run.py --only aligned measures the same on lesson 2's codes of MNIST and Fashion-MNIST."""
    import tensorflow as tf
    from sklearn.datasets import load_digits

    data = load_digits()
    rng = np.random.default_rng(0)
    pixels = data.data.astype(np.float32)
    code = (np.maximum(pixels @ rng.normal(size=(64, 128)), 0) @ rng.normal(size=(128, 32))).astype(np.float32)
    correlations = {}
    for aligned in (True, False):
        logdir = tmp_path / f"aligned_{aligned}"
        write_embedding_run(logdir, {"pixels": pixels, "code": code}, {"digit": data.target.tolist()},
                            color_by="digit", settings=RunSettings(align_maps=aligned))
        checkpoint = tf.train.load_checkpoint(str(logdir))
        first, second = (class_centres(checkpoint.get_tensor(f"{name}_tsne_2d"), data.target)
                         for name in ("pixels", "code"))
        # x with x and y with y, as the Projector shows them: no rotation, no flip.
        correlations[aligned] = [np.corrcoef(first[:, axis], second[:, axis])[0, 1] for axis in (0, 1)]
    assert min(correlations[True]) >= 0.8, correlations
    assert all(together - apart >= 0.3 for together, apart in zip(*correlations.values(), strict=True)), correlations


@pytest.mark.slow  # two t-SNE maps of 1,797 points
def test_paired_bookmarks_select_exactly_the_points_one_tensor_puts_right_and_the_other_wrong(tmp_path, digits):
    tensors, labels, _ = digits
    logdir, metrics = run(tmp_path, digits, "paired", pairs=(("projection", "pca_code"),))
    right = {name: independent_vote(values, labels) == labels for name, values in tensors.items()}
    sides = {"projection right, pca_code wrong": right["projection"] & ~right["pca_code"],
             "pca_code right, projection wrong": right["pca_code"] & ~right["projection"]}
    assert all(side.sum() > 5 for side in sides.values()), {key: int(side.sum()) for key, side in sides.items()}
    # Their counts are metrics.json's, with the exact McNemar p.
    compared = metrics["paired_votes"]["projection vs pca_code"]
    assert compared["right_only_projection"] == sides["projection right, pca_code wrong"].sum()
    assert compared["right_only_pca_code"] == sides["pca_code right, projection wrong"].sum()
    assert 0 < compared["mcnemar_p"] <= 1
    # On both tensors' maps and on the first tensor's, each selecting exactly its side's points.
    for tensor in ("projection", "pca_code", "pixels"):
        views = {view["label"]: view for view in json.loads((logdir / f"bookmarks_{tensor}.json").read_text())}
        for side, selected in sides.items():
            [view] = [view for label, view in views.items() if label.startswith(side)]
            assert view["label"] == f"{side} ({selected.sum()})"
            assert view["selectedPoints"] == np.flatnonzero(selected).tolist()
            assert view["selectedColorOptionName"] == "projection_vs_pca_code"
            assert view["selectedProjection"] == "tsne"
            stored = __import__("tensorflow").train.load_checkpoint(str(logdir)).get_tensor(f"{tensor}_tsne_2d")
            assert np.allclose(bookmark_coordinates(view)[:, :2], stored[:, :2], atol=1e-4)
    # The metadata column says which side each point is on.
    column = metadata_table((logdir / "metadata.tsv").read_text().splitlines())["projection_vs_pca_code"]
    expected = np.select([right["projection"] & right["pca_code"], right["projection"], right["pca_code"]],
                         ["both right", "only projection", "only pca_code"], "both wrong")
    assert list(column) == expected.tolist()
    assert (logdir / "pairs_projection_vs_pca_code.png").stat().st_size > 5_000


def test_a_pair_must_name_two_tensors_and_have_classes(tmp_path, digits):
    tensors, labels, _ = digits
    with pytest.raises(InputError, match="compare two of pixels, pca_code, projection"):
        write_embedding_run(tmp_path / "bad", tensors, {"digit": labels.tolist()}, color_by="digit",
                            settings=RunSettings(pairs=(("pixels", "conv"),)))
    with pytest.raises(InputError, match="needs a colour column"):
        write_embedding_run(tmp_path / "bad", tensors, {"digit": labels.tolist()},
                            settings=RunSettings(pairs=(("pixels", "projection"),)))
    assert not (tmp_path / "bad").exists()
