"""Small MNIST-format data made by the tests themselves, and shared helpers."""

from __future__ import annotations

import gzip
import os
import re
import struct
import subprocess
import sys
from collections import Counter
from pathlib import Path

import forked
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from projector_page import TensorBoardServer, free_port  # noqa: F401 - re-exported for the tests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# The two pytest workers share 2 cores, and openTSNE's OpenMP threads spin while they wait for work: two
# t-SNEs at once then take turns a scheduler slice at a time (a Barnes-Hut map of 300 points: 0.3 s alone,
# 13.5 s beside another). Passive waiting puts them to sleep instead (0.4 s beside another) and changes no
# number. Set before OpenMP loads, and inherited by every script, kernel and TensorBoard the tests start.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")
# The TensorBoards and lesson runs the tests start fork from a Python that has imported TensorFlow (tests/forked.py).
forked.ENABLED = True


def make_digits(n: int, seed: int = 0, varied: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``n`` 28x28 uint8 digits drawn with a font, randomly shifted and scaled (``varied``).

    Labels cycle through 0..9 in a shuffled order. Different digits look
    different, so nearest neighbours and an autoencoder have something to find.
    Shifts and sizes make neighbours of other classes; without them
    (``varied=False``), each class is one shape plus noise: ten tight clusters.
    """
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % 10).astype(np.uint8)
    fonts = {size: ImageFont.load_default(size=size) for size in (18, 20, 22, 24)}
    images = np.zeros((n, 28, 28), np.uint8)
    for i, label in enumerate(labels):
        image = Image.new("L", (28, 28), 0)
        center = (14 + int(rng.integers(-3, 4)), 14 + int(rng.integers(-3, 4)))
        font = fonts[int(rng.choice(list(fonts)))]
        stroke = int(rng.integers(0, 2))
        if not varied:
            center, font, stroke = (14, 14), fonts[22], 1
        ImageDraw.Draw(image).text(center, str(label), fill=255, font=font, anchor="mm", stroke_width=stroke,
                                   stroke_fill=255)
        noise = rng.integers(0, 40, (28, 28))
        images[i] = np.clip(np.asarray(image, dtype=np.int64) + noise * (rng.random((28, 28)) < 0.05), 0, 255)
    return images, labels


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array in the IDX format (magic 00 00 08 rank, sizes, data)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def write_idx(path: Path, array: np.ndarray) -> Path:
    """Write ``array`` as an IDX file, gzipped when ``path`` ends in ``.gz``."""
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def write_mnist_dir(folder: Path, n_test: int, n_train: int = 0, gz: bool = True, seed: int = 0,
                    varied: bool = True) -> Path:
    """A folder in the MNIST layout: the t10k pair, plus the train pair if n_train (digits as ``make_digits``)."""
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    images, labels = make_digits(n_test + n_train, seed, varied)
    write_idx(folder / f"t10k-images-idx3-ubyte{suffix}", images[:n_test])
    write_idx(folder / f"t10k-labels-idx1-ubyte{suffix}", labels[:n_test])
    if n_train:
        write_idx(folder / f"train-images-idx3-ubyte{suffix}", images[n_test:])
        write_idx(folder / f"train-labels-idx1-ubyte{suffix}", labels[n_test:])
    return folder


@pytest.fixture(scope="session")
def small_mnist(tmp_path_factory) -> Path:
    """300 test digits (gzipped IDX), no train split."""
    return write_mnist_dir(tmp_path_factory.mktemp("small_mnist"), n_test=300)


# The slowest test files first (one worker's seconds in a run of the whole suite on 2 cores: docs/testing.md).
# pytest-xdist's loadfile hands each worker the next file as it frees, in collection order (with
# --no-loadscope-reorder, in pyproject.toml; otherwise files with the most tests go first, and the one-test,
# two-minute bench smoke test went last while the other worker had nothing left).
SLOWEST_FILES_FIRST = ("test_browser.py", "test_bench.py", "test_bad_input.py", "test_notebooks.py",
                       "test_autoencoder_tsne.py", "test_own_vectors_served.py", "test_run_tensorboard.py",
                       "test_paired_votes.py", "test_check_projector_logs.py", "test_tsne_map.py",
                       "test_vectors_tsne.py", "test_placing.py", "test_mnist_tsne.py")


def pytest_collection_modifyitems(items) -> None:
    """Run the files in ``SLOWEST_FILES_FIRST`` first, in that order; each file's tests keep their order."""
    def rank(item) -> int:
        name = item.path.name
        return SLOWEST_FILES_FIRST.index(name) if name in SLOWEST_FILES_FIRST else len(SLOWEST_FILES_FIRST)

    items.sort(key=rank)


def shared_root(tmp_path_factory) -> Path:
    """A folder every worker of this test session sees (pytest-xdist gives each worker a basetemp of its own,
    side by side), and no other session does."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def shared_run(tmp_path_factory, name: str, make, meanwhile: tuple = ()) -> Path:
    """The folder ``name``, made once per test session by ``make(folder)`` (which returns a CompletedProcess).

    Two workers may ask at once; a file lock makes the second wait for the first, then read what it made.
    Rather than wait idle, the second first makes whichever of ``meanwhile`` (``(name, make)`` pairs: runs the
    suite reads too) nobody has made or is making. The script's stdout, stderr and exit status are kept beside
    the run, for ``shared_result``."""
    import fcntl

    root = shared_root(tmp_path_factory) / "shared-runs"
    root.mkdir(exist_ok=True)
    with open(root / f"{name}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # another worker is making it
            for other, make_other in meanwhile:
                with open(root / f"{other}.lock", "w") as other_lock:
                    try:
                        fcntl.flock(other_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        continue
                    _make_once(root / other, make_other)
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        _make_once(root / name, make)
    return root / name


def _make_once(folder: Path, make) -> None:
    """``make(folder)``, unless it was made already; the caller holds the folder's lock."""
    if not (folder / "made").is_file():
        folder.mkdir(exist_ok=True)
        result = make(folder)
        (folder / "stdout").write_text(result.stdout)
        (folder / "stderr").write_text(result.stderr)
        (folder / "made").write_text(str(result.returncode))


def shared_result(folder: Path) -> subprocess.CompletedProcess:
    """What the script that made a ``shared_run`` printed, and its exit status."""
    return subprocess.CompletedProcess([], int((folder / "made").read_text()), (folder / "stdout").read_text(),
                                       (folder / "stderr").read_text())


LESSON_1_SHOWN = 300
LESSON_2_SHOWN = 200


def make_lesson_1_run(folder: Path) -> subprocess.CompletedProcess:
    """Lesson 1 as the README runs it (every default), on 300 drawn test digits (those of ``small_mnist``), in a
    fresh Python and a shell with no TensorFlow log level set."""
    data = write_mnist_dir(folder / "data", n_test=LESSON_1_SHOWN)
    return run_script("mnist_tsne.py", "--data-dir", data, "--logdir", folder / "logs" / "mnist",
                      env={"TF_CPP_MIN_LOG_LEVEL": None}, fresh=True)


def make_lesson_2_run(folder: Path) -> subprocess.CompletedProcess:
    """Lesson 2 on 200 of 300 drawn test digits, its models fitted on 600 train digits for 2 epochs, in a fresh
    Python and a shell with no TensorFlow log level set."""
    data = write_mnist_dir(folder / "data", n_test=300, n_train=600)
    return run_script("autoencoder_tsne.py", "--data-dir", data, "--logdir", folder / "logs" / "autoencoder",
                      "--num-images", LESSON_2_SHOWN, "--epochs", 2, "--perplexity", 10,
                      env={"TF_CPP_MIN_LOG_LEVEL": None}, fresh=True)


def lesson_run(tmp_path_factory, name: str) -> tuple[Path, subprocess.CompletedProcess]:
    """The test session's run of a lesson (``lesson1`` or ``lesson2``): its run folder and what the script
    printed. While the other worker makes it, this one makes the other lesson's run."""
    makers = {"lesson1": make_lesson_1_run, "lesson2": make_lesson_2_run}
    folder = shared_run(tmp_path_factory, name, makers[name],
                        meanwhile=tuple((other, make) for other, make in makers.items() if other != name))
    result = shared_result(folder)
    assert result.returncode == 0, result.stderr
    (run,) = (folder / "logs").iterdir()
    return run, result


@pytest.fixture(scope="session")
def lesson_1_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """Lesson 1 as the README runs it (``make_lesson_1_run``), made once per test session and read by
    tests/test_mnist_tsne.py, tests/test_browser.py, tests/test_autoencoder_tsne.py and
    tests/test_check_projector_logs.py. Copy it before changing anything in it."""
    return lesson_run(tmp_path_factory, "lesson1")


@pytest.fixture(scope="session")
def lesson_2_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """Lesson 2's run (``make_lesson_2_run``), made once per test session (training takes the longest of any
    run here) and read by tests/test_autoencoder_tsne.py, tests/test_browser.py and
    tests/test_check_projector_logs.py."""
    return lesson_run(tmp_path_factory, "lesson2")


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium per pytest worker, for every browser test it runs (each opens its own pages)."""
    from projector_page import launch_browser, skip_without_browser

    skip_without_browser()
    with launch_browser() as chromium:
        yield chromium


def run_script(script: str, *args: str, cwd: Path | None = None, timeout: float = 600,
               env: dict[str, str | None] | None = None, fresh: bool = False) -> subprocess.CompletedProcess:
    """Run one of the example scripts as a user would, capturing its output.

    ``env`` adds to this process's environment; a value of None removes that variable. The script forks from
    a Python that has imported TensorFlow already (tests/forked.py), unless ``fresh``: then a fresh ``python``
    runs it, for what only a fresh one shows (what TensorFlow prints while it loads).
    """
    environment = {name: value for name, value in {**os.environ, **(env or {})}.items() if value is not None}
    program = [str(REPO / script), *map(str, args)]
    if forked.available() and not fresh:
        return forked.run(program, cwd=cwd or REPO, env=environment, timeout=timeout)
    return subprocess.run([sys.executable, *program], cwd=cwd or REPO, capture_output=True, text=True,
                          timeout=timeout, env=environment)


# TensorFlow's C++ start-up lines, which no script of ours controls.
_TF_LOG_PREFIXES = ("I0000", "W0000", "E0000", "WARNING: All log messages before absl",
                    "To enable the following instructions")


# What TensorFlow 2.21 prints while its libraries load, before TF_CPP_MIN_LOG_LEVEL or absl's logging
# apply, so no script can silence it: where it finds no GPU (cudart_stub.cc, every machine without one),
# and on CPUs with AVX-512 (oneDNN's custom operations are on there: port.cc, "oneDNN custom operations").
LOAD_TIME_LINES = ("cudart_stub.cc", "oneDNN custom operations are on")


def tensorflow_log_lines(stderr: str) -> list[str]:
    """TensorFlow's C++ log lines (``E0000 ...``, ``W0000 ...``, ``I0000 ...``) in ``stderr``, less those
    TensorFlow 2.21 prints while its libraries load, before any setting can silence them (which depend on
    the machine: ``LOAD_TIME_LINES``)."""
    return [line for line in stderr.splitlines()
            if re.match(r"[EWIF]\d{4} ", line) and not any(part in line for part in LOAD_TIME_LINES)]


def stderr_lines(stderr: str) -> list[str]:
    """The lines a script itself wrote to stderr, without TensorFlow's start-up noise."""
    return [line for line in stderr.splitlines() if line.strip() and not line.startswith(_TF_LOG_PREFIXES)]


def metadata_table(lines: list[str]) -> dict[str, tuple[str, ...]]:
    """A metadata.tsv with a header row, given as its lines: column name -> its values, one per point."""
    header, *rows = lines
    return dict(zip(header.split("\t"), zip(*(row.split("\t") for row in rows), strict=True), strict=True))


def bookmark_coordinates(view: dict) -> np.ndarray:
    """Where a saved Projector view places each point: [N, 2 or 3], from its ``<projection>-<i>`` keys."""
    projection, points = view["selectedProjection"], view["projections"]
    return np.array([[point[f"{projection}-{i}"] for i in range(len(points[0]))] for point in points])


def summaries(folder) -> dict[str, list]:
    """tag -> list of tensor events, for every event file directly in ``folder``."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(folder), size_guidance={"tensors": 0})
    accumulator.Reload()
    return {tag: accumulator.Tensors(tag) for tag in accumulator.Tags()["tensors"]}


def vote_of(nearest_first) -> object:
    """The class most of these neighbours' classes (nearest first) carry; a tie goes to the nearest tied one.
    A plain loop: the oracle for the pipeline's vote."""
    counts = Counter(nearest_first)
    best = max(counts.values())
    return next(c for c in nearest_first if counts[c] == best)
