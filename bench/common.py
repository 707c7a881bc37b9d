"""What every bench section shares: running a worker in a fresh Python, timing, memory, the digits, and
the helpers more than one section calls."""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def timed_command(cmd: list[str], repeats: int) -> float:
    """Median wall-clock seconds of running ``cmd`` ``repeats`` times."""
    return median_seconds(lambda: subprocess.run(cmd, cwd=REPO, check=True, stdout=subprocess.DEVNULL,
                                                 stderr=subprocess.DEVNULL), repeats)


def peak_rss_mb() -> int:
    """This process's peak resident memory (VmHWM; ru_maxrss would carry the parent's over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024)
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def in_subprocess(function: str, **kwargs) -> dict:
    """Run ``bench.<module>.<function>(**kwargs)``, named "module.function", in a fresh Python; its dict plus
    peak RSS in MB.

    A fresh process per measurement makes peak memory that measurement's own.
    """
    module, name = function.rsplit(".", 1)
    code = (
        "import importlib, json, sys; sys.path.insert(0, sys.argv[1]); from bench import common; "
        f"result = getattr(importlib.import_module('bench.{module}'), '{name}')(**json.loads(sys.argv[2])); "
        "result['peak_rss_mb'] = common.peak_rss_mb(); "
        "print('RESULT ' + json.dumps(result))"
    )
    output = subprocess.run([sys.executable, "-c", code, str(REPO), json.dumps(kwargs)], cwd=REPO, check=True,
                            capture_output=True, text=True).stdout
    return json.loads(output.split("RESULT ", 1)[1])


def shown_digits(data_dir: Path, n: int | None) -> tuple:
    """The first ``n`` test digits, tiled (repeated) when ``n`` is more than the split holds."""
    import numpy as np

    from tutorial.mnist_data import load_dataset

    data = load_dataset("mnist", data_dir)
    n = n or len(data.test_images)
    reps = -(-n // len(data.test_images))
    images = np.concatenate([data.test_images] * reps)[:n]
    labels = np.concatenate([data.test_labels] * reps)[:n]
    return images, labels, data.class_names


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())


def median_run(runs: list[dict], key: str) -> dict:
    """The run whose ``key`` is the median (the upper one of an even count), with all its other figures."""
    return sorted(runs, key=lambda run: run[key])[len(runs) // 2]


def without_worker_memory(result: dict) -> dict:
    """A worker's result without ``peak_rss_mb``, the worker process's own peak (a lesson run's is
    ``child_peak_rss_mb``)."""
    return {key: value for key, value in result.items() if key != "peak_rss_mb"}


def median_seconds(function: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def serves_tensor(logdir: Path, runs: list[str], tensor_shape: list[int]) -> dict[str, bool]:
    """Whether a real TensorBoard's projector lists each of ``runs`` with a tensor of ``tensor_shape`` (one
    TensorBoard serving ``logdir`` answers for all of them)."""
    sys.path.insert(0, str(REPO / "tests"))
    from projector_page import TensorBoardServer

    server = TensorBoardServer(logdir)

    def serves(run: str) -> bool:
        try:
            info = json.loads(server.get(f"/data/plugin/projector/info?run={run}"))
            return any(e["tensorShape"] == tensor_shape for e in info["embeddings"])
        except OSError:
            return False

    try:
        return {run: serves(run) for run in runs}
    finally:
        server.close()


def write_digits(run_dir: Path, pixels, images, labels, class_names: list[str]) -> None:
    """write_projector_logs as the lessons call it: label, class name and index columns, inverted digits."""
    import numpy as np

    from mnist_tsne import write_projector_logs
    from tutorial.mnist_data import metadata_columns

    write_projector_logs(run_dir, {"pixels": pixels}, metadata_columns(labels, class_names, np.arange(len(labels))),
                         images=255 - images)


CODE_TENSORS = ("pixels", "pca_code", "dense_code", "conv_code")


def mean_and_spread(values: list[float], digits: int) -> str:
    """"mean ± sample standard deviation" over the seeds."""
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{round(statistics.mean(values), digits)} ± {round(spread, digits)}"


def dataset_in(folder: str | Path) -> str:
    """The ``--dataset`` a folder holds, by its name: Debian's dataset-fashion-mnist, else MNIST."""
    return "fashion_mnist" if "fashion" in str(folder) else "mnist"


def lesson2_command(folder: str, dataset: str, logdir: str, args: argparse.Namespace, *flags: str) -> list[str]:
    """``autoencoder_tsne.py`` on ``folder`` with the bench's --epochs and --num-images, and ``flags``."""
    command = [sys.executable, "autoencoder_tsne.py", "--data-dir", folder, "--dataset", dataset, "--logdir", logdir,
               *(["--epochs", str(args.epochs)] if args.epochs else []), *flags]
    return command + (["--num-images", str(args.num_images)] if args.num_images else [])


def code_datasets(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    """(name, folder, --dataset) of each data set the codes are compared on: --data-dir (MNIST's test split,
    the models fitted on the bundled training digits) and --train-data-dir (a full train split), if there and
    another folder."""
    sets = [("mnist", str(args.data_dir), "mnist")]
    same_folder = args.train_data_dir and Path(args.train_data_dir).resolve() == Path(args.data_dir).resolve()
    if args.train_data_dir and Path(args.train_data_dir).is_dir() and not same_folder:
        dataset = dataset_in(args.train_data_dir)
        sets.append((dataset if dataset != "mnist" else "mnist (train split)", str(args.train_data_dir), dataset))
    return sets


# Lesson 2's --no-tsne runs, one per (command, seed), kept for the bench's whole run: ``codes`` and ``aligned``
# read the same runs (made once: training is the slow part of both).
_LESSON2_RUNS: dict[tuple[str, ...], Path] = {}
_LESSON2_FOLDER = None


def lesson2_per_seed(folder: str, dataset: str, args: argparse.Namespace, read: Callable[[Path], dict]) -> list[dict]:
    """``autoencoder_tsne.py --no-tsne`` on ``folder`` once per seed (``--seeds``); ``read`` of each run's folder.

    A run made earlier in this bench's run with the same flags is read again, not made again."""
    global _LESSON2_FOLDER
    if _LESSON2_FOLDER is None:
        _LESSON2_FOLDER = tempfile.TemporaryDirectory()  # removed when the bench ends
    results = []
    for seed in range(args.seeds):
        key = tuple(lesson2_command(folder, dataset, "", args, "--no-tsne", "--seed", str(seed)))
        if key not in _LESSON2_RUNS:
            logdir = Path(_LESSON2_FOLDER.name, f"ae{len(_LESSON2_RUNS)}")
            command = lesson2_command(folder, dataset, str(logdir), args, "--no-tsne", "--seed", str(seed))
            subprocess.run(command, cwd=REPO, check=True, capture_output=True)
            _LESSON2_RUNS[key] = logdir
        results.append(read(_LESSON2_RUNS[key]))
    return results


@functools.cache
def import_tensorflow_seconds(repeats: int) -> float:
    """Median seconds of ``python -c "import tensorflow"``: what every TensorFlow script pays before its first
    line of work. Measured once per bench run (``e2e`` and ``default`` both compare against it)."""
    return timed_command([sys.executable, "-c", "import tensorflow"], repeats)


def tsne_points(data_dir: str, n: int) -> tuple:
    """The first ``n`` digits of a folder's test split, then its train split: pixels in [0, 1] and labels."""
    from mnist_tsne import pixel_vectors
    from tutorial.mnist_data import load_dataset, shown_digits

    data = load_dataset(dataset_in(data_dir), data_dir)
    images, labels, _, _ = shown_digits(data, "all", n)
    return pixel_vectors(images), labels


def map_quality(pixels, coords, labels) -> dict:
    """A map's leave-one-out 5-NN accuracy and its trustworthiness against the pixels (2,000 points, seed 0:
    the same points for every map, so differences between maps are not sampling noise)."""
    from tutorial.metrics import knn_accuracy, trustworthiness

    return {"knn_accuracy_of_map": round(knn_accuracy(coords, labels), 4),
            "trustworthiness": round(trustworthiness(pixels, coords)[0], 4)}


def script_worker(command: list[str]) -> dict:
    """Run ``command`` (a lesson) once: wall-clock seconds, the child's peak memory, and the stage times it prints."""
    import re
    import resource

    start = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    stages = dict(re.findall(r"\n(\S[^\n]*?) \.\.\.\n(?:[^\n]*\n)*?  done in ([\d.]+) s", "\n" + result.stdout))
    tsne = [float(v) for k, v in stages.items() if k.startswith("t-SNE")]  # every map's, added up
    searches = [float(v) for k, v in stages.items() if k.startswith("Nearest neighbours of every tensor")]
    stage = {"tsne": round(sum(tsne), 1) if tsne else None, "neighbours": searches[0] if searches else None,
             "metrics": stages.get("Measuring every tensor (kNN accuracy, trustworthiness)"),
             "pictures": stages.get("Drawing the maps, their progress and the confusions")}
    return {"seconds": round(seconds, 1), "child_peak_rss_mb": round(resource.getrusage(
        resource.RUSAGE_CHILDREN).ru_maxrss / 1024), **{f"{k}_seconds": float(v) for k, v in stage.items() if v}}
