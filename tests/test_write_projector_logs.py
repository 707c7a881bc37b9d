"""write_projector_logs and make_sprite: the files the Projector reads."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import tensorflow as tf
from conftest import bookmark_coordinates, make_digits
from google.protobuf import text_format
from PIL import Image
from tensorboard.plugins.projector import ProjectorConfig

from mnist_tsne import make_sprite, metadata_lines, projector_bookmark, write_projector_logs
from tutorial.mnist_data import metadata_columns
from tutorial.pca import pca_coordinates

CLASS_NAMES = [str(d) for d in range(10)]


def digit_metadata(labels):
    """The lessons' metadata columns for digits labelled ``labels``."""
    return metadata_columns(labels, CLASS_NAMES, np.arange(len(labels)))


@pytest.mark.parametrize("n", [1, 7, 30, 100])
def test_sprite_places_thumbnail_i_at_row_i_div_cols_col_i_mod_cols(n):
    images, _ = make_digits(n, seed=n)
    sprite = make_sprite(images)
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    # Square, blank rows included: the Projector's shader finds row i // rows, right only when rows == cols.
    assert sprite.shape == (cols * 28, cols * 28) and sprite.dtype == np.uint8
    for i in range(n):
        r, c = i // cols, i % cols
        assert np.array_equal(sprite[r * 28:(r + 1) * 28, c * 28:(c + 1) * 28], images[i])
    # Empty cells after the last thumbnail are white (blank), not random.
    if rows * cols > n:
        assert (sprite[(rows - 1) * 28:, (n % cols) * 28:] == 255).all()
    assert (sprite[rows * 28:] == 255).all()


def test_colour_and_non_square_thumbnails_keep_their_pixels():
    rng = np.random.default_rng(0)
    colour = rng.integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    sprite = make_sprite(colour)
    assert sprite.shape == (3 * 32, 3 * 32, 3)
    assert np.array_equal(sprite[32:64, 32:64], colour[4]) and (sprite[64:] == 255).all()
    wide = rng.integers(0, 256, (7, 10, 30), dtype=np.uint8)  # 10 px high, 30 wide
    sprite = make_sprite(wide)
    assert sprite.shape == (3 * 10, 3 * 30)
    assert np.array_equal(sprite[20:30, 0:30], wide[6])


@pytest.mark.parametrize(("images", "message"), [
    (np.zeros((4, 28, 28), np.float32), "must be uint8"),
    (np.zeros((4, 28, 28, 4), np.uint8), r"\[N, H, W, 3\]"),
    (np.zeros((4, 28), np.uint8), r"\[N, H, W\]"),
    (np.zeros((0, 28, 28), np.uint8), r"\[N, H, W\]"),
])
def test_make_sprite_refuses_what_it_cannot_tile(images, message):
    with pytest.raises(ValueError, match=message):
        make_sprite(images)


def test_sprite_of_70000_digits_fits_the_8192_px_limit():
    images = np.zeros((70_000, 28, 28), np.uint8)
    images[-1] = 200
    sprite = make_sprite(images)
    assert max(sprite.shape) <= 8192
    assert sprite.shape == (265 * 28, 265 * 28)  # 265 = ceil(sqrt(70000)): fits at full size
    cols = 265
    r, c = divmod(69_999, cols)
    assert (sprite[r * 28:(r + 1) * 28, c * 28:(c + 1) * 28] == 200).all()


def test_sprite_shrinks_thumbnails_past_the_limit():
    images = np.full((100, 28, 28), 100, np.uint8)
    sprite = make_sprite(images, max_size=200)  # 10 columns of 28 px would be 280: 20 px each
    assert sprite.shape == (200, 200)
    assert (sprite == 100).all()


@pytest.fixture(scope="module")
def written_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("logs") / "run"
    images, labels = make_digits(50)
    pixels = images.reshape(50, -1).astype(np.float32) / 255
    code = np.random.default_rng(0).normal(size=(50, 8)).astype(np.float32)
    index = np.arange(100, 150)
    write_projector_logs(run_dir, {"pixels": pixels, "code": code},
                         metadata_columns(labels, CLASS_NAMES, index), images, description="test run")
    return run_dir, images, labels, pixels, code, index


def test_checkpoint_holds_each_embedding_by_its_readable_name(written_run):
    run_dir, _, _, pixels, code, _ = written_run
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(run_dir)))
    assert reader.get_variable_to_shape_map() == {"pixels": [50, 784], "code": [50, 8]}
    assert reader.get_variable_to_dtype_map()["pixels"] == tf.float32
    assert np.array_equal(reader.get_tensor("pixels"), pixels)
    assert np.array_equal(reader.get_tensor("code"), code)


def test_a_2d_map_gets_a_zero_third_column_so_the_projector_draws_it(tmp_path):
    images, labels = make_digits(20)
    tsne_map = np.random.default_rng(0).normal(size=(20, 2)).astype(np.float32)
    write_projector_logs(tmp_path / "run", {"map": tsne_map})
    stored = tf.train.load_checkpoint(str(tmp_path / "run")).get_tensor("map")
    assert stored.shape == (20, 3)
    assert np.array_equal(stored[:, :2], tsne_map) and not stored[:, 2].any()


def test_metadata_has_header_and_one_row_per_point(written_run):
    run_dir, _, labels, _, _, index = written_run
    lines = (run_dir / "metadata.tsv").read_text().splitlines()
    assert lines[0] == "label\tclass_name\tindex"
    assert len(lines) == 51
    assert lines[1:] == [f"{label}\t{label}\t{i}" for label, i in zip(labels, index, strict=True)]


def test_config_uses_relative_paths_and_lists_every_tensor(written_run):
    run_dir = written_run[0]
    config = text_format.Parse((run_dir / "projector_config.pbtxt").read_text(), ProjectorConfig())
    assert [e.tensor_name for e in config.embeddings] == ["pixels", "code"]
    assert config.model_checkpoint_path == ""
    for embedding in config.embeddings:
        assert embedding.metadata_path == "metadata.tsv"
        assert embedding.sprite.image_path == "sprite.png"
        assert list(embedding.sprite.single_image_dim) == [28, 28]
    # A relative checkpoint path too, so the run can be moved.
    assert re.match(r'model_checkpoint_path: "embeddings\.ckpt-\d+"\n', (run_dir / "checkpoint").read_text())


def test_each_write_names_its_checkpoint_anew_and_removes_the_earlier_one(tmp_path):
    # A running TensorBoard reloads a run only when its latest checkpoint path changes.
    images, labels = make_digits(10)
    paths = []
    for value in (1, 2):
        write_projector_logs(tmp_path / "run", {"x": np.full((10, 4), value)}, digit_metadata(labels), images)
        paths.append(tf.train.latest_checkpoint(str(tmp_path / "run")))
    assert paths[0] != paths[1] and all(paths)
    left = sorted(p.name for p in (tmp_path / "run").glob("embeddings.ckpt-*"))
    assert left and all(name.startswith(paths[1].rsplit("/", 1)[1] + ".") for name in left)
    assert (tf.train.load_checkpoint(paths[1]).get_tensor("x") == 2).all()


def test_sprite_file_matches_make_sprite(written_run):
    run_dir, images = written_run[:2]
    assert np.array_equal(np.asarray(Image.open(run_dir / "sprite.png")), make_sprite(images))


def test_event_file_holds_the_text_summary(written_run):
    run_dir = written_run[0]
    events = list(run_dir.glob("events.out.tfevents.*"))
    assert len(events) == 1
    texts = [v.tensor.string_val[0].decode() for e in tf.compat.v1.train.summary_iterator(str(events[0]))
             for v in e.summary.value if v.tag == "projector_run"]
    assert len(texts) == 1 and "test run" in texts[0] and "| `code` | 50 | 8 |" in texts[0]


def test_moved_run_still_loads(written_run, tmp_path):
    import shutil
    moved = tmp_path / "elsewhere"
    shutil.copytree(written_run[0], moved)
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(moved)))
    assert reader.has_tensor("code")


@pytest.mark.parametrize(
    ("embeddings", "message"),
    [
        ({}, "no embeddings"),
        ({"x": np.zeros((50, 3)), "y": np.zeros((49, 3))}, r"'y' has shape \(49, 3\), expected \[50, D\]"),
        ({"x": np.zeros(50)}, "expected"),
        ({"x": np.zeros((0, 3))}, "expected"),
        ({"x": np.full((50, 3), np.nan)}, "NaN or infinite"),
        ({"x": np.full((50, 3), np.inf)}, "NaN or infinite"),
    ],
)
def test_bad_embeddings_raise_and_write_nothing(tmp_path, embeddings, message):
    images, labels = make_digits(50)
    with pytest.raises(ValueError, match=message):
        write_projector_logs(tmp_path / "run", embeddings, digit_metadata(labels), images)
    assert not (tmp_path / "run").exists()


def test_one_metadata_column_has_no_header_and_several_have_one():
    # The Projector reads a first line with a tab as a header; one column has no tab, so no header.
    assert metadata_lines({"word": ["king", "queen", 3]}, 3) == ["king", "queen", "3"]
    assert metadata_lines({"word": ["a", "b"], "count": [1, 2.5]}, 2) == ["word\tcount", "a\t1", "b\t2.5"]


@pytest.mark.parametrize(("metadata", "message"), [
    ({"note": ["a", "b"]}, "'note' has 2 values for 4 points"),
    ({"note": ["a\tb", "c", "d", "e"]}, "'note' holds a tab or line break"),
    ({"note": ["a", "b\n", "c", "d"]}, "'note' holds a tab or line break"),
    ({"note": ["a", "b\r", "c", "d"]}, "'note' holds a tab or line break"),
    ({"a\tb": ["a", "b", "c", "d"], "c": [1, 2, 3, 4]}, "holds a tab"),
    ({"word": ["a", "", "c", "d"]}, "row 1 is blank"),
    ({"word": ["a", "b", " ", "d"], "other": ["", "", "", "x"]}, "row 2 is blank"),
    ({}, "no columns"),
])
def test_bad_metadata_raises_and_writes_nothing(tmp_path, metadata, message):
    with pytest.raises(ValueError, match=message):
        write_projector_logs(tmp_path / "run", {"x": np.ones((4, 3))}, metadata)
    assert not (tmp_path / "run").exists()


def test_images_must_match_the_points(tmp_path):
    with pytest.raises(ValueError, match="3 images for 4 points"):
        write_projector_logs(tmp_path / "run", {"x": np.ones((4, 3))}, images=np.zeros((3, 8, 8), np.uint8))
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("with_metadata", [False, True])
@pytest.mark.parametrize("with_images", [False, True])
def test_the_config_names_only_the_files_written(tmp_path, with_metadata, with_images):
    images = np.zeros((4, 6, 9, 3), np.uint8) if with_images else None
    write_projector_logs(tmp_path / "run", {"x": np.ones((4, 3))}, {"w": list("abcd")} if with_metadata else None,
                         images)
    config = text_format.Parse((tmp_path / "run" / "projector_config.pbtxt").read_text(), ProjectorConfig())
    embedding = config.embeddings[0]
    assert (embedding.metadata_path == "metadata.tsv") == with_metadata == (tmp_path / "run/metadata.tsv").exists()
    assert embedding.HasField("sprite") == with_images == (tmp_path / "run/sprite.png").exists()
    if with_images:
        assert list(embedding.sprite.single_image_dim) == [9, 6]  # width, then height


@pytest.fixture(scope="module")
def bookmarked_run(tmp_path_factory):
    """A run whose code and 2-D map ship bookmarks."""
    run_dir = tmp_path_factory.mktemp("logs") / "run"
    images, labels = make_digits(30)
    rng = np.random.default_rng(1)
    code, tsne_map = rng.normal(size=(30, 8)), rng.normal(size=(30, 2)) * 20
    bookmarks = {
        "code": [projector_bookmark("PCA", "pca", pca_coordinates(code), color_by="class_name"),
                 projector_bookmark("t-SNE", "tsne", tsne_map, label_by="class_name", perplexity=12)],
        "map": [projector_bookmark("flat", "pca", pca_coordinates(tsne_map))],
    }
    write_projector_logs(run_dir, {"code": code, "map": tsne_map, "plain": code}, digit_metadata(labels), images,
                         bookmarks=bookmarks)
    return run_dir, code, tsne_map


def test_bookmarks_are_written_per_tensor_and_named_in_the_config(bookmarked_run):
    run_dir = bookmarked_run[0]
    config = text_format.Parse((run_dir / "projector_config.pbtxt").read_text(), ProjectorConfig())
    assert {e.tensor_name: e.bookmarks_path for e in config.embeddings} == {
        "code": "bookmarks_code.json", "map": "bookmarks_map.json", "plain": ""}
    code_views = json.loads((run_dir / "bookmarks_code.json").read_text())
    assert [v["label"] for v in code_views] == ["PCA", "t-SNE"]
    # The shape as stored: a 2-D map is padded to 3 columns.
    assert [v["dataSetDimensions"] for v in code_views] == [[30, 8], [30, 8]]
    assert json.loads((run_dir / "bookmarks_map.json").read_text())[0]["dataSetDimensions"] == [30, 3]


def test_a_tsne_bookmark_places_every_point_where_the_map_does(bookmarked_run):
    run_dir, _, tsne_map = bookmarked_run
    view = json.loads((run_dir / "bookmarks_code.json").read_text())[1]
    assert view["selectedProjection"] == "tsne" and view["tSNEis3d"] is False and view["tSNEPerplexity"] == 12
    assert np.allclose(bookmark_coordinates(view), tsne_map, atol=1e-5)
    assert view["selectedColorOptionName"] == "label" and view["selectedLabelOption"] == "class_name"


def test_a_pca_bookmark_of_a_flat_map_is_flat(bookmarked_run):
    run_dir, _, tsne_map = bookmarked_run
    view = json.loads((run_dir / "bookmarks_map.json").read_text())[0]
    assert view["selectedProjection"] == "pca" and view["pcaComponentDimensions"] == [0, 1]
    assert all(point.keys() == {"pca-0", "pca-1"} for point in view["projections"])


def test_every_field_the_projector_reads_is_in_a_bookmark():
    # Fields TensorBoard 2.21's loadState and restoreUIFromBookmark read; one missing stops it.
    view = projector_bookmark("v", "umap", np.zeros((3, 3)))
    assert {"projections", "selectedProjection", "pcaComponentDimensions", "tSNEis3d", "umapIs3d", "tSNEIteration",
            "tSNEPerplexity", "tSNELearningRate", "umapNeighbors", "umapMinDist", "selectedColorOptionName",
            "forceCategoricalColoring", "selectedLabelOption", "customSelectedSearchByMetadataOption",
            "customXLeftText", "customXLeftRegex", "customYDownText", "customYDownRegex", "selectedPoints",
            "filteredPoints"} <= view.keys()
    assert view["umapIs3d"] is True and view["projections"][0] == {"umap-0": 0, "umap-1": 0, "umap-2": 0}


@pytest.mark.parametrize(("projection", "coordinates", "message"), [
    ("mds", np.zeros((5, 2)), "projection pca, tsne or umap"),
    ("tsne", np.zeros((5, 4)), r"coordinates \[N, 2 or 3\]"),
    ("tsne", np.zeros(5), r"coordinates \[N, 2 or 3\]"),
    ("pca", np.full((5, 2), np.nan), "NaN or infinite"),
])
def test_a_bad_bookmark_is_refused(projection, coordinates, message):
    with pytest.raises(ValueError, match=message):
        projector_bookmark("v", projection, coordinates)


@pytest.mark.parametrize(("bookmarks", "message"), [
    ({"x": [projector_bookmark("v", "tsne", np.zeros((9, 2)))]}, "'v' of 'x' places 9 points, expected 10"),
    ({"y": [projector_bookmark("v", "tsne", np.zeros((10, 2)))]}, "bookmarks for 'y', which is not one of"),
])
def test_bookmarks_that_do_not_fit_raise_and_write_nothing(tmp_path, bookmarks, message):
    images, labels = make_digits(10)
    with pytest.raises(ValueError, match=message):
        write_projector_logs(tmp_path / "run", {"x": np.ones((10, 3))}, digit_metadata(labels), images,
                             bookmarks=bookmarks)
    assert not (tmp_path / "run").exists()


def test_pca_coordinates_are_the_principal_components():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(200, 5)) * [5, 3, 1, 0.5, 0.1] @ np.linalg.qr(rng.normal(size=(5, 5)))[0]
    coordinates = pca_coordinates(values)
    centred = values - values.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    for i in range(3):  # the same axes, up to sign, largest first
        assert abs(np.corrcoef(coordinates[:, i], centred @ components[i])[0, 1]) > 0.999
    assert pca_coordinates(values[:, :2]).shape == (200, 2)


def test_pca_coordinates_spherize_50_or_more_dimensions_as_the_projector_does():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(100, 60)) * rng.uniform(0.1, 10, size=(100, 1))  # very different lengths
    centred = values - values.mean(axis=0)
    spherized = centred / np.linalg.norm(centred, axis=1, keepdims=True)
    _, _, components = np.linalg.svd(spherized, full_matrices=False)
    assert abs(np.corrcoef(pca_coordinates(values)[:, 0], spherized @ components[0])[0, 1]) > 0.999


def test_tensors_whose_names_read_alike_get_bookmark_files_of_their_own(tmp_path):
    images, labels = make_digits(10)
    views = [projector_bookmark("v", "pca", np.zeros((10, 2)))]
    write_projector_logs(tmp_path / "run", {"a/b": np.ones((10, 3)), "a_b": np.ones((10, 3))},
                         bookmarks={"a/b": views, "a_b": views})
    config = text_format.Parse((tmp_path / "run" / "projector_config.pbtxt").read_text(), ProjectorConfig())
    assert [e.bookmarks_path for e in config.embeddings] == ["bookmarks_a_b.json", "bookmarks_a_b_1.json"]


def test_a_training_folder_keeps_its_checkpoint_and_the_writer_says_where_to_write(tmp_path):
    # The TensorFlow projector tutorial writes into the training log folder; copying the writer there must
    # not take tf.train.latest_checkpoint away from the model being trained.
    training = tmp_path / "train_logs"
    weights = tf.Variable(tf.ones([3, 4]))
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(weights=weights), str(training), max_to_keep=2)
    saved = manager.save()
    before = {path.name: path.read_bytes() for path in training.iterdir()}
    with pytest.raises(ValueError, match=r"holds checkpoint 'ckpt-1', which write_projector_logs did not make; "
                                         r"write the projector files to a folder of their own"):
        write_projector_logs(training, {"x": np.ones((5, 4))}, metadata={"word": list("abcde")})
    assert {path.name: path.read_bytes() for path in training.iterdir()} == before  # nothing written or changed
    assert tf.train.latest_checkpoint(str(training)) == saved
    write_projector_logs(training / "projector", {"x": np.ones((5, 4))})  # a folder of its own is fine
    assert tf.train.latest_checkpoint(str(training)) == saved
