"""Every row of the bad-input table in docs/bad-input.md, run as a user would run it.

Each case starts with an earlier, complete run at ``--logdir``, runs a script
with one bad input, and checks: exit status, exactly one line on stderr that
says what is wrong (TensorFlow's own start-up lines aside), no traceback, the
earlier run byte-for-byte unchanged, and no staging folder left behind.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, idx_bytes, make_digits, run_script, stderr_lines, write_mnist_dir


@dataclass
class Case:
    name: str  # the table's first column (docs/bad-input.md), word for word
    message: str  # part of the one stderr line
    status: int
    args: list = field(default_factory=list)
    script: str = "mnist_tsne.py"


def _folder_with(tmp: Path, **files) -> Path:
    folder = tmp / "data"
    folder.mkdir()
    for name, data in files.items():
        (folder / name.replace("_", "-")).write_bytes(data)
    return folder


def _pair(images: np.ndarray, labels: np.ndarray) -> dict:
    return {"t10k_images_idx3_ubyte": idx_bytes(images), "t10k_labels_idx1_ubyte": idx_bytes(labels)}


DIGITS, LABELS = make_digits(5)

DATA_FOLDERS = {
    "A `--data-dir` that does not exist": lambda tmp: tmp / "nowhere",
    "An empty data folder": lambda tmp: _folder_with(tmp),
    "A data folder missing one of its files": lambda tmp: _folder_with(
        tmp, t10k_images_idx3_ubyte=idx_bytes(DIGITS)),
    "A truncated `.gz` file": lambda tmp: _folder_with(
        tmp, **{"t10k_images_idx3_ubyte.gz": gzip.compress(idx_bytes(DIGITS))[:200],
                "t10k_labels_idx1_ubyte": idx_bytes(LABELS)}),
    "A file that is not IDX (wrong magic number)": lambda tmp: _folder_with(
        tmp, t10k_images_idx3_ubyte=b"PK\x03\x04" + bytes(100), t10k_labels_idx1_ubyte=idx_bytes(LABELS)),
    "Images of the wrong rank": lambda tmp: _folder_with(tmp, **_pair(DIGITS.reshape(5, 784), LABELS)),
    "Images and labels of different counts": lambda tmp: _folder_with(tmp, **_pair(DIGITS, make_digits(6)[1])),
    "A label outside the class range": lambda tmp: _folder_with(tmp, **_pair(DIGITS, np.array([1, 2, 3, 4, 12]))),
    "Images that are not 28 x 28": lambda tmp: _folder_with(tmp, **_pair(np.zeros((5, 32, 32)), LABELS)),
    "Lesson 2's `--split train` with no train split": lambda tmp: write_mnist_dir(tmp / "data", n_test=300),
    "Lesson 2's `--num-images` leaving nothing to fit on": lambda tmp: write_mnist_dir(tmp / "data", n_test=300),
}

CASES = [
    Case("A `--data-dir` that does not exist", "does not exist; pass --data-dir a folder", 2),
    Case("An empty data folder", "has no t10k-images-idx3-ubyte", 2),
    Case("A data folder missing one of its files", "no t10k-labels-idx1-ubyte", 2),
    Case("A truncated `.gz` file", "not a complete gzip file", 2),
    Case("A file that is not IDX (wrong magic number)", "bad magic", 2),
    Case("Images of the wrong rank", "rank 2, expected 3", 2),
    Case("Images and labels of different counts", "5 images but 6 labels", 2),
    Case("A label outside the class range", "label 12, outside", 2),
    Case("Images that are not 28 x 28", "32x32, expected 28x28", 2),
    Case("`--num-images 0`", "--num-images: must be at least 1", 2, ["--num-images", "0"]),
    Case("`--num-images -3`", "--num-images: must be at least 1", 2, ["--num-images", "-3"]),
    Case("`--num-images` larger than the split", "more than the 300 test images", 2, ["--num-images", "301"]),
    Case("`--logdir` that is an existing file", "is a file; choose a directory", 2),
    Case("`--logdir` holding files the scripts did not write", "did not write; choose a new directory", 2),
    Case("`--logdir` inside a read-only folder", "read-only: pass a --logdir you can write to", 1),
    Case("`--logdir` on a full disk", "the disk is full", 1),
    Case("An embedding with NaN or inf (a diverged model)", "'dense_code' contains NaN or infinite", 2,
         script="autoencoder_tsne.py"),
    Case("`--load-model` that does not exist", "does not exist; train one first", 2, script="autoencoder_tsne.py"),
    Case("`--load-model` that is not a model", "is not a Keras model", 2, script="autoencoder_tsne.py"),
    Case("`--load-model` with the wrong input size", "takes input (None, 100)", 2, script="autoencoder_tsne.py"),
    Case("`--load-model` with two models of one kind", "got two models of one kind", 2, script="autoencoder_tsne.py"),
    Case("Lesson 2's `--split train` with no train split", "has no train split, so --split train", 2,
         ["--split", "train"], script="autoencoder_tsne.py"),
    Case("Lesson 2's `--num-images` leaving nothing to fit on", "--num-images 300 leaves none of the 300 images",
         2, ["--num-images", "300", "--dataset", "fashion_mnist"], script="autoencoder_tsne.py"),
    Case("Ctrl-C during training", "interrupted: the run was not written", 130, script="autoencoder_tsne.py"),
    Case("Ctrl-C while the run is being written", "interrupted: the run was not written", 130),
]


@pytest.fixture(scope="module")
def earlier_run(tmp_path_factory) -> Path:
    """A complete run, written by mnist_tsne.py, to be found unchanged after every failure."""
    data = write_mnist_dir(tmp_path_factory.mktemp("earlier_data"), n_test=20)
    run_dir = tmp_path_factory.mktemp("earlier") / "logs" / "mnist"
    result = run_script("mnist_tsne.py", "--data-dir", data, "--logdir", run_dir, "--no-tsne")
    assert result.returncode == 0, result.stderr
    return run_dir


@pytest.fixture(scope="module")
def good_data(tmp_path_factory) -> Path:
    """300 test digits and 600 train digits."""
    return write_mnist_dir(tmp_path_factory.mktemp("good_data"), n_test=300, n_train=600)


def fingerprint(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def save_model(path: Path, kind: str) -> Path:
    """A saved .keras file: an autoencoder with NaN weights, a file of text, or a model of the wrong size."""
    import keras

    if kind == "nan":
        sys.path.insert(0, str(REPO))
        from autoencoder_tsne import build_dense_autoencoder

        model = build_dense_autoencoder()
        model.fit(np.zeros((8, 784)), np.zeros((8, 784)), verbose=0)  # as if trained, until it diverged
        model.set_weights([np.full_like(w, np.nan) for w in model.get_weights()])
        model.save(path)
    elif kind == "dense":
        sys.path.insert(0, str(REPO))
        from autoencoder_tsne import build_dense_autoencoder

        build_dense_autoencoder().save(path)
    elif kind == "text":
        path.write_text("this is not a model")
    elif kind == "wrong_input":
        inputs = keras.Input(shape=(100,))
        keras.Model(inputs, keras.layers.Dense(10, name="code")(inputs)).save(path)
    return path


def in_private_mount(tmp_path: Path, disk_options: str, earlier_run: Path, read_only: bool,
                     command: list[str]) -> tuple[subprocess.CompletedProcess, Path]:
    """Run ``command`` with a small tmpfs at ``tmp_path/disk`` holding a copy of the earlier run.

    The mount lives in a private mount namespace (``unshare -m``) and vanishes
    with the command, so the disk's content is copied back out to
    ``tmp_path/after`` for the test to inspect. Returns the result and the
    copied-out run folder.
    """
    if shutil.which("unshare") is None:
        pytest.skip("simulating a read-only folder or a full disk needs unshare (util-linux)")
    disk, after = tmp_path / "disk", tmp_path / "after"
    disk.mkdir()
    shell = (
        'mount -t tmpfs -o "$1" tmpfs "$2" || exit 99; mkdir -p "$2/logs" && cp -a "$3" "$2/logs/mnist" || exit 98; '
        + ('mount -o remount,ro "$2" || exit 99; ' if read_only else "")
        + 'disk=$2 after=$4; shift 4; "$@"; rc=$?; cp -a "$disk" "$after"; exit $rc'
    )
    result = subprocess.run(["unshare", "-m", "sh", "-c", shell, "sh", disk_options, str(disk), str(earlier_run),
                             str(after), *command], capture_output=True, text=True, timeout=600)
    if result.returncode == 99:
        pytest.skip("simulating a read-only folder or a full disk needs a private mount (unshare -m, as root)")
    return result, after / "logs" / "mnist"


def interrupt_when(command: list[str], ready: str, where: Path) -> subprocess.CompletedProcess:
    """Start ``command``; send SIGINT (Ctrl-C) once a file matching ``where/ready`` exists."""
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not list(where.glob(ready)):
        assert process.poll() is None, "the script ended before it could be interrupted"
        assert time.monotonic() < deadline, f"{ready} never appeared"
        time.sleep(0.005)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=300)
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


MODELS = {
    "An embedding with NaN or inf (a diverged model)": "nan",
    "`--load-model` that does not exist": "missing",
    "`--load-model` that is not a model": "text",
    "`--load-model` with the wrong input size": "wrong_input",
    "`--load-model` with two models of one kind": "dense",
}


# Each case runs a lesson in a subprocess after an earlier run: seconds each, so none is in the quick check
# (-m "not slow"). Lesson 3's table (tests/test_vectors_tsne.py) and the placing table are, with no TensorFlow.
PARAMS = [pytest.param(case, marks=pytest.mark.slow) for case in CASES]


@pytest.mark.parametrize("case", PARAMS, ids=[re.sub(r"\W+", "_", c.name).strip("_") for c in CASES])
def test_bad_input(case: Case, earlier_run: Path, good_data: Path, tmp_path: Path):
    data_dir = DATA_FOLDERS[case.name](tmp_path) if case.name in DATA_FOLDERS else good_data
    logdir = tmp_path / "logs" / ("autoencoder" if case.script == "autoencoder_tsne.py" else "mnist")
    keep = {}  # when there is no earlier run to keep: other files that must survive
    if case.name == "`--logdir` that is an existing file":
        logdir = tmp_path / "notes.txt"
        keep[logdir] = b"my notes"
    elif case.name == "`--logdir` holding files the scripts did not write":
        logdir = tmp_path / "thesis"
        keep[logdir / "chapter1.tex"] = b"\\section{Intro}"
    elif case.name in ("`--logdir` inside a read-only folder", "`--logdir` on a full disk"):
        logdir = tmp_path / "disk" / "logs" / "mnist"  # the copy is made inside the mount
    else:
        shutil.copytree(earlier_run, logdir)
    for path, content in keep.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    before = fingerprint(earlier_run)
    command = [sys.executable, str(REPO / case.script), "--data-dir", str(data_dir), "--logdir", str(logdir),
               *case.args]

    if case.name == "`--logdir` inside a read-only folder":
        result, logdir = in_private_mount(tmp_path, "size=4m", earlier_run, True, command)
    elif case.name == "`--logdir` on a full disk":
        # Room for the earlier 20-digit run, not for the 940 KB checkpoint of 300 digits.
        result, logdir = in_private_mount(tmp_path, "size=400k", earlier_run, False, [*command, "--no-tsne"])
    elif case.name == "Ctrl-C during training":
        result = interrupt_when([*command, "--epochs", "500", "--no-tsne"],
                                ".autoencoder.partial-*/training/*/train/*", tmp_path)
    elif case.name == "Ctrl-C while the run is being written":
        # The sprite is written after the checkpoint, before the metadata, config, metrics and map picture.
        result = interrupt_when(command, ".mnist.partial-*/sprite.png", tmp_path)
    else:
        if case.name in MODELS:
            model = str(save_model(tmp_path / "model.keras", MODELS[case.name]))
            twice = case.name == "`--load-model` with two models of one kind"
            command += ["--load-model", *[model] * (2 if twice else 1), "--no-tsne"]
        result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)

    lines = stderr_lines(result.stderr)
    assert result.returncode == case.status, result.stderr
    assert "Traceback" not in result.stderr
    assert len(lines) == 1 and case.message in lines[0], result.stderr
    if keep:
        assert all(path.read_bytes() == content for path, content in keep.items())
    else:
        assert fingerprint(logdir) == before, "the earlier run was changed"
    assert not list(tmp_path.rglob("*.partial-*")) and not list(tmp_path.rglob("*.old-*")), "staging left behind"


def test_the_bad_input_table_has_a_test_for_every_row():
    page = (REPO / "docs" / "bad-input.md").read_text()
    table = page.split("\n## ", 1)[0]  # the scripts' table; the writer's comes after it
    rows = [line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| ")][2:]
    assert rows == [case.name for case in CASES]
