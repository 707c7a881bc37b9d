"""Benchmarks behind the README's speed and quality figures.

    python bench/run.py --data-dir ../shared/data/mnist-t10k                 # everything (~40 min)
    python bench/run.py --data-dir ../shared/data/mnist-t10k --only e2e      # one section

Sections: ``writer`` (write_projector_logs vs torch's add_embedding), ``e2e``
(mnist_tsne.py --no-tsne --no-metrics vs import tensorflow), ``scaling`` (N = 1k, 10k,
70k), ``codes`` (lesson 2's pixels, PCA, dense and convolutional codes on held-out digits, over
``--seeds`` seeds, on MNIST and on --train-data-dir), ``lesson2`` (``python autoencoder_tsne.py``
with a 60,000-digit train split, timed), ``tsne`` (ours vs openTSNE's
fixed run and scikit-learn), ``disagree`` (lesson 1's "where the neighbours
disagree": the vote, the map's trust, the bookmark and the picture at 10,000),
``default`` (``python mnist_tsne.py`` as the README runs it), ``full`` (all
70,000 Fashion-MNIST images end to end beside openTSNE's default fit),
``neighbours`` (t-SNE's neighbour search: exact, Annoy, pynndescent),
``frames`` (what the optimisation's frames cost), ``vectors`` (``vectors_tsne.py --metric cosine`` on
50,000 vectors of 384 numbers beside openTSNE's cosine fit and Embedding Atlas) and ``aligned`` (lesson 2's
maps started from the pixels' map, against independent starts) and ``placing`` (Fashion-MNIST's test images placed on
a map of its training images, against mapping all 70,000; bench/placing.py). Prints a table and writes it as JSON
(``bench/results/latest.json`` unless ``--out`` says otherwise). Timings are
medians of ``--repeats`` runs. Goals are reported as met or missed in the
table; nothing here asserts.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import shutil
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
    """Run ``bench.run.<function>(**kwargs)`` (``bench.<module>.<function>`` for "module.function") in a fresh
    Python; its dict plus peak RSS in MB.

    A fresh process per measurement makes peak memory that measurement's own.
    """
    module, name = function.rsplit(".", 1) if "." in function else ("run", function)
    code = (
        "import importlib, json, sys; sys.path.insert(0, sys.argv[1]); from bench import run; "
        f"result = getattr(importlib.import_module('bench.{module}'), '{name}')(**json.loads(sys.argv[2])); "
        "result['peak_rss_mb'] = run.peak_rss_mb(); "
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


def serves_tensor(logdir: Path, run: str, tensor_shape: list[int]) -> bool:
    """Whether a real TensorBoard's projector lists ``run`` with a tensor of ``tensor_shape``."""
    sys.path.insert(0, str(REPO / "tests"))
    from projector_page import TensorBoardServer

    server = TensorBoardServer(logdir)
    try:
        info = json.loads(server.get(f"/data/plugin/projector/info?run={run}"))
        return any(e["tensorShape"] == tensor_shape for e in info["embeddings"])
    except OSError:
        return False
    finally:
        server.close()


# 1. Writing projector logs vs PyTorch's SummaryWriter.add_embedding ----------

def write_digits(run_dir: Path, pixels, images, labels, class_names: list[str]) -> None:
    """write_projector_logs as the lessons call it: label, class name and index columns, inverted digits."""
    import numpy as np

    from mnist_tsne import write_projector_logs
    from tutorial.mnist_data import metadata_columns

    write_projector_logs(run_dir, {"pixels": pixels}, metadata_columns(labels, class_names, np.arange(len(labels))),
                         images=255 - images)


def bench_writer(args: argparse.Namespace) -> list[dict]:
    """write_projector_logs vs torch's add_embedding: same digits, vectors, labels and sprite."""
    images, labels, class_names = shown_digits(args.data_dir, args.num_images)
    pixels = images.reshape(len(images), -1).astype("float32") / 255
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        ours = Path(tmp) / "ours"
        seconds = median_seconds(lambda: write_digits(ours / "run", pixels, images, labels, class_names), args.repeats)
        rows.append({"benchmark": f"write_projector_logs, {len(images)} x 784", "seconds": round(seconds, 2),
                     "MB_on_disk": round(folder_bytes(ours) / 1e6, 1),
                     "tensorboard_serves_it": serves_tensor(ours, "run", [len(images), 784])})
        try:
            import torch
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            rows.append({"benchmark": "torch SummaryWriter.add_embedding",
                         "note": "skipped: torch is not installed (pip install torch==2.13.0)"})
            return rows
        theirs = Path(tmp) / "torch"
        label_img = torch.from_numpy(images[:, None].astype("float32") / 255)
        metadata = [class_names[label] for label in labels]

        def torch_write() -> None:
            writer = SummaryWriter(str(theirs / "run"))
            writer.add_embedding(torch.from_numpy(pixels), metadata=metadata, label_img=label_img, tag="pixels")
            writer.close()

        torch_seconds = median_seconds(torch_write, args.repeats)
        shutil.rmtree(theirs)
        torch_write()
        ratio = torch_seconds / seconds
        rows.append({"benchmark": f"torch {torch.__version__} add_embedding, same data",
                     "seconds": round(torch_seconds, 2), "MB_on_disk": round(folder_bytes(theirs) / 1e6, 1),
                     "tensorboard_serves_it": serves_tensor(theirs, "run", [len(images), 784]),
                     "ours_faster_by": f"{ratio:.1f}x", "goal": ">= 5x faster", "goal_met": ratio >= 5})
    return rows


# 2. mnist_tsne.py end to end ---------------------------------------------------

def bench_e2e(args: argparse.Namespace) -> list[dict]:
    """mnist_tsne.py --no-tsne --no-metrics (the writer alone) end to end, against a bare TensorFlow import."""
    with tempfile.TemporaryDirectory() as tmp:
        script = [sys.executable, "mnist_tsne.py", "--data-dir", str(args.data_dir), "--logdir",
                  f"{tmp}/logs/mnist", "--no-tsne", "--no-metrics"]
        if args.num_images:
            script += ["--num-images", str(args.num_images)]
        baseline = timed_command([sys.executable, "-c", "import tensorflow"], args.repeats)
        seconds = timed_command(script, args.repeats)
    ratio = seconds / baseline
    return [
        {"benchmark": "python -c 'import tensorflow'", "seconds": round(baseline, 2)},
        {"benchmark": "mnist_tsne.py --no-tsne --no-metrics, end to end", "seconds": round(seconds, 2),
         "vs_import_tensorflow": round(ratio, 2), "goal": "<= 1.5x import tensorflow", "goal_met": ratio <= 1.5},
    ]


# 3. Scaling with N -------------------------------------------------------------

def scaling_worker(data_dir: str, n: int) -> dict:
    import numpy as np

    from mnist_tsne import make_sprite

    images, labels, class_names = shown_digits(Path(data_dir), n)
    pixels = images.reshape(n, -1).astype(np.float32) / 255
    start = time.perf_counter()
    sprite = make_sprite(255 - images)
    sprite_seconds = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        write_digits(Path(tmp) / "run", pixels, images, labels, class_names)
        seconds = time.perf_counter() - start
        sprite_mb = (Path(tmp) / "run" / "sprite.png").stat().st_size / 1e6
        (Path(tmp) / "run" / "events.out.tfevents.0.bench").touch(exist_ok=True)  # listed as a run
        # tools/check_projector_logs.py over the same run, as a user runs it (goal: under 5 s at 70,000).
        checker = [sys.executable, str(Path(__file__).resolve().parent.parent / "tools" / "check_projector_logs.py"),
                   tmp]
        start = time.perf_counter()
        checked = subprocess.run(checker, capture_output=True, text=True)
        check_seconds = time.perf_counter() - start
    return {"write_seconds": round(seconds, 2), "sprite_seconds": round(sprite_seconds, 2),
            "sprite_px": f"{sprite.shape[1]}x{sprite.shape[0]}", "sprite_MB": round(sprite_mb, 1),
            "check_seconds": round(check_seconds, 2), "check_exit": checked.returncode}


def bench_scaling(args: argparse.Namespace) -> list[dict]:
    """Log writing and sprite making for growing N (real digits, tiled past 10,000)."""
    rows = []
    for n in args.sizes:
        runs = [in_subprocess("scaling_worker", data_dir=str(args.data_dir), n=n) for _ in range(args.repeats)]
        row = {key: statistics.median(r[key] for r in runs) if isinstance(runs[0][key], float | int)
               else runs[0][key] for key in runs[0]}
        rows.append({"benchmark": f"write_projector_logs, N = {n}", **row,
                     "us_per_point": round(row["write_seconds"] / n * 1e6),
                     "check_goal": "check_projector_logs under 5 s", "check_goal_met": row["check_seconds"] < 5})
    return rows


# 4. Lesson 2: PCA, dense and convolutional codes, on digits no model was fitted on ----------

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


def lesson2_per_seed(folder: str, dataset: str, args: argparse.Namespace, read: Callable[[Path], dict]) -> list[dict]:
    """``autoencoder_tsne.py --no-tsne`` on ``folder`` once per seed (``--seeds``); ``read`` of each run's folder."""
    results = []
    for seed in range(args.seeds):
        with tempfile.TemporaryDirectory() as tmp:
            command = lesson2_command(folder, dataset, f"{tmp}/ae", args, "--no-tsne", "--seed", str(seed))
            subprocess.run(command, cwd=REPO, check=True, capture_output=True)
            results.append(read(Path(tmp, "ae")))
    return results


def paired_with(run: dict, tensor: str, reference: str) -> list:
    """[points ``tensor``'s vote puts right and ``reference``'s wrong, the reverse, exact McNemar p] in one run."""
    votes = run[f"neighbour_votes_vs_{reference}"][tensor]
    return [votes[f"right_where_{reference}_wrong"], votes[f"wrong_where_{reference}_right"], votes["mcnemar_p"]]


def train_test_knn(folder: str, dataset: str) -> dict:
    """For scale, the usual protocol: scikit-learn's ``KNeighborsClassifier(5)`` (uniform weights, Euclidean)
    fitted on the fit split's pixels and scored on the shown split, on pixels in [0, 1] and, as Fashion-MNIST's
    benchmark runner does, on pixels standardised by ``StandardScaler`` fitted on the train split."""
    import numpy as np
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.preprocessing import StandardScaler

    from tutorial.mnist_data import fit_and_shown_digits, load_dataset

    data = load_dataset(dataset, Path(folder))
    digits = fit_and_shown_digits(data, "test", None)
    fit_labels = digits.fit_labels
    fit = digits.fit_images.reshape(len(digits.fit_images), -1).astype(np.float32) / 255
    shown = digits.shown[0].reshape(len(digits.shown[0]), -1).astype(np.float32) / 255
    scaler = StandardScaler().fit(fit)
    scores = {"knn_train_test": KNeighborsClassifier(5, n_jobs=-1).fit(fit, fit_labels).score(shown, digits.shown[1]),
              "knn_train_test_standardised": KNeighborsClassifier(5, n_jobs=-1).fit(scaler.transform(fit), fit_labels)
              .score(scaler.transform(shown), digits.shown[1])}
    return {"fitted_on": len(fit), "scored_on": len(shown), **{key: round(float(v), 4) for key, v in scores.items()}}


def bench_codes(args: argparse.Namespace) -> list[dict]:
    """autoencoder_tsne.py --no-tsne with ``--seeds`` seeds on each data set: for the pixels and each code,
    kNN accuracy (with its 95% Wilson interval over the shown points), digits misplaced, reconstruction MSE,
    epochs and fit time, all on the shown (held-out) digits, as mean ± spread over the seeds; for each code
    against PCA and against the pixels, the paired counts and exact McNemar p of every seed; and, for scale,
    the pixels' 5-NN accuracy in the usual train/test protocol."""
    rows = []
    for name, folder, dataset in code_datasets(args):
        runs = lesson2_per_seed(folder, dataset, args, lambda run: json.loads((run / "metrics.json").read_text()))
        split = runs[0]["fit_and_scored"]
        for tensor in CODE_TENSORS:
            accuracies = [run["embeddings"][tensor]["knn_accuracy"] for run in runs]
            intervals = [run["embeddings"][tensor]["knn_accuracy_95ci"] for run in runs]
            row = {"benchmark": f"{tensor} on {name}", "seeds": len(runs),
                   "fitted_on": split["fitted_on"]["count"], "scored_on": split["scored_on"]["count"],
                   "scored_digits_fitted_on": split["scored_on"]["of_them_fitted_on"],
                   "knn_accuracy": mean_and_spread(accuracies, 4), "knn_accuracy_per_seed": accuracies,
                   "knn_accuracy_95ci_half_width": round(max((high - low) / 2 for low, high in intervals), 4),
                   "misplaced": mean_and_spread([run["embeddings"][tensor]["disagreeing_points"] for run in runs], 1)}
            if tensor != "pixels":
                models = [run["models"][tensor] for run in runs]
                row |= {"reconstruction_mse": mean_and_spread([m["shown_mse"] for m in models], 5),
                        "fit_seconds": mean_and_spread([m["fit_seconds"] for m in models], 1)}
                if "epochs" in models[0]:
                    row |= {"epochs": mean_and_spread([m["epochs"] for m in models], 1),
                            "epochs_per_seed": [m["epochs"] for m in models],
                            "stopped_early_every_seed": all(m["stopped_early"] for m in models)}
            for reference in ("pca_code", "pixels"):
                if tensor not in ("pixels", reference):
                    paired = [paired_with(run, tensor, reference) for run in runs]
                    beats = all(p < 0.05 and right > wrong for right, wrong, p in paired)
                    row |= {f"vs_{reference}_per_seed": paired, f"beats_{reference}_every_seed": beats}
            rows.append(row)
        rows.append({"benchmark": f"pixels on {name}, 5-NN fitted on the fit split, scored on the shown split",
                     **in_subprocess("train_test_knn", folder=folder, dataset=dataset)})
    return rows


def bench_lesson2(args: argparse.Namespace) -> list[dict]:
    """``python autoencoder_tsne.py`` as the README runs it, t-SNE maps included, with --train-data-dir's
    full train split (goal: at most 6 minutes on 2 cores)."""
    if not args.train_data_dir or not Path(args.train_data_dir).is_dir():
        return [{"benchmark": "autoencoder_tsne.py on a full train split", "note": "skipped: no --train-data-dir "
                 f"{args.train_data_dir} (apt-get install dataset-fashion-mnist gives 60,000 train digits)"}]
    name, folder, dataset = code_datasets(args)[-1]
    with tempfile.TemporaryDirectory() as tmp:
        run = in_subprocess("script_worker", command=lesson2_command(folder, dataset, f"{tmp}/ae", args))
        models = json.loads(Path(f"{tmp}/ae/metrics.json").read_text())["models"]
    return [{"benchmark": f"autoencoder_tsne.py (default: both models, 4 t-SNE maps, metrics) on {name}",
             **without_worker_memory(run), **{f"{code}_fit_seconds": models[code]["fit_seconds"] for code in models},
             "goal": "<= 360 s", "goal_met": run["seconds"] <= 360}]


# 5. t-SNE: ours (converged, method by size) vs openTSNE's fixed run vs scikit-learn

def tsne_points(data_dir: str, n: int) -> tuple:
    """The first ``n`` digits of a folder's test split, then its train split: pixels in [0, 1] and labels."""
    from mnist_tsne import pixel_vectors
    from tutorial.mnist_data import load_dataset, shown_digits

    data = load_dataset(dataset_in(data_dir), data_dir)
    images, labels, _, _ = shown_digits(data, "all", n)
    return pixel_vectors(images), labels


def tsne_worker(data_dir: str, n: int, library: str) -> dict:
    """One t-SNE of ``n`` points' pixels (PCA 50 first, perplexity 30, seed 0) and its map's quality."""
    from sklearn.decomposition import PCA

    pixels, labels = tsne_points(data_dir, n)
    start = time.perf_counter()
    if library == "ours":
        from tutorial.tsne import tsne_map

        coords = tsne_map(pixels, 2, 30.0, 0, "pixels")
    elif library == "openTSNE fixed":  # what mnist_tsne.py did before: openTSNE's fit, 250 + 500 FFT iterations
        from openTSNE import TSNE

        reduced = PCA(50, random_state=0).fit_transform(pixels)
        coords = TSNE(perplexity=30.0, negative_gradient_method="fft", random_state=0, n_jobs=-1).fit(reduced)
    else:
        from sklearn.manifold import TSNE

        reduced = PCA(50, random_state=0).fit_transform(pixels)
        coords = TSNE(2, perplexity=30.0, init="pca", random_state=0, n_jobs=-1).fit_transform(reduced)
    seconds = time.perf_counter() - start
    return {"seconds": round(seconds, 1), **map_quality(pixels, coords, labels)}


def map_quality(pixels, coords, labels) -> dict:
    """A map's leave-one-out 5-NN accuracy and its trustworthiness against the pixels (2,000 points, seed 0:
    the same points for every map, so differences between maps are not sampling noise)."""
    from tutorial.metrics import knn_accuracy, trustworthiness

    return {"knn_accuracy_of_map": round(knn_accuracy(coords, labels), 4),
            "trustworthiness": round(trustworthiness(pixels, coords)[0], 4)}


# Goals of issue 13: seconds at most, for ours.
TSNE_GOALS = {2_000: 4, 5_000: 8, 10_000: 15}


def bench_tsne(args: argparse.Namespace) -> list[dict]:
    """Ours against openTSNE's fixed run at every size, and scikit-learn at 10,000."""
    runs = [(str(args.data_dir), n) for n in args.tsne_sizes]
    rows = []
    for data_dir, n in runs:
        source = "Fashion-MNIST" if "fashion" in data_dir else "MNIST"
        results = {library: in_subprocess("tsne_worker", data_dir=data_dir, n=n, library=library)
                   for library in ("ours", "openTSNE fixed", *(["scikit-learn"] if n == 10_000 else []))}
        ours, fixed = results["ours"], results["openTSNE fixed"]
        for library, result in results.items():
            rows.append({"benchmark": f"{library} t-SNE, {n} {source} (PCA 50)", **result})
        same_quality = (abs(ours["knn_accuracy_of_map"] - fixed["knn_accuracy_of_map"]) <= 0.005
                        and abs(ours["trustworthiness"] - fixed["trustworthiness"]) <= 0.005)
        goal = f"<= {TSNE_GOALS.get(n, '-')} s, quality within 0.005 of fixed"
        met = ours["seconds"] <= TSNE_GOALS.get(n, float("inf")) and same_quality
        if "scikit-learn" in results:
            ratio = ours["seconds"] / results["scikit-learn"]["seconds"]
            rows[-3]["vs_scikit_learn"] = round(ratio, 2)
            goal += ", <= 0.5x scikit-learn"
            met = met and ratio <= 0.5
        rows[-len(results)].update(goal=goal, goal_met=met)
    return rows


# 6. What the map gets wrong: the neighbours' vote, the map's trust, the bookmark and the picture

def disagree_worker(data_dir: str, n: int) -> dict:
    """The cost of section 5 of lesson 1 for one tensor of ``n`` digits' pixels and its converged map."""
    import numpy as np

    from mnist_tsne import pixel_vectors, projector_bookmark
    from tutorial.classes import Classes
    from tutorial.neighbours import disagreement_columns, neighbour_searches
    from tutorial.plotting import plot_confusions
    from tutorial.tsne import tsne_map

    images, labels, class_names = shown_digits(Path(data_dir), n)
    pixels = pixel_vectors(images)
    coordinates = tsne_map(pixels, 2, 30.0, 0, "pixels")  # not timed: the run makes it anyway
    plot_confusions(labels[:50], labels[:50], images[:50], class_names)  # matplotlib's first figure, not timed
    start = time.perf_counter()
    neighbours = neighbour_searches({"pixels": pixels, "pixels_tsne_2d": coordinates}, maps=["pixels_tsne_2d"])
    classes = Classes("class_name", class_names, labels, [])
    columns, votes = disagreement_columns("pixels", neighbours, ["pixels_tsne_2d"], classes)
    projector_bookmark("Where the neighbours disagree", "tsne", coordinates, color_by="neighbours_pixels",
                       selected=np.flatnonzero(votes != labels))
    png = plot_confusions(labels, votes, images, class_names, ink=True)
    seconds = time.perf_counter() - start
    return {"seconds": round(seconds, 2), "disagreeing_points": int((votes != labels).sum()),
            "picture_KB": len(png) // 1024}


def bench_disagree(args: argparse.Namespace) -> list[dict]:
    """What lesson 1's section 5 adds to a run of the test digits (goal: at most 3 s at 10,000)."""
    n = args.num_images or 10_000
    row = in_subprocess("disagree_worker", data_dir=str(args.data_dir), n=n)
    return [{"benchmark": f"neighbours' vote, map trust, bookmark and confusions picture, N = {n}", **row,
             "goal": "<= 3 s at 10,000", "goal_met": row["seconds"] <= 3}]


# 7. The default run, and all 70,000 end to end against openTSNE's default ---------

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


def bench_default(args: argparse.Namespace) -> list[dict]:
    """``python mnist_tsne.py`` as the README runs it (t-SNE, metrics, pictures) on the test digits."""
    baseline = timed_command([sys.executable, "-c", "import tensorflow"], args.repeats)
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "mnist_tsne.py", "--data-dir", str(args.data_dir), "--logdir", f"{tmp}/mnist"]
        if args.num_images:
            command += ["--num-images", str(args.num_images)]
        runs = [in_subprocess("script_worker", command=command) for _ in range(args.repeats)]
    run = median_run(runs, "seconds")
    return [{"benchmark": "python -c 'import tensorflow'", "seconds": round(baseline, 2)},
            {"benchmark": f"mnist_tsne.py (default: t-SNE, metrics, pictures), {args.num_images or 10_000} digits",
             **without_worker_memory(run), "vs_import_tensorflow": round(
                 run["seconds"] / baseline, 2), "goal": "<= 20 s", "goal_met": run["seconds"] <= 20}]


def opentsne_default_worker(data_dir: str, n: int) -> dict:
    """openTSNE's default ``TSNE().fit`` on the 50 principal components of ``n`` images' pixels (only the fit
    is timed), and its map's quality."""
    import numpy as np
    from openTSNE import TSNE
    from sklearn.decomposition import PCA

    pixels, labels = tsne_points(data_dir, n)
    reduced = PCA(50, random_state=0).fit_transform(pixels)
    start = time.perf_counter()
    coords = np.asarray(TSNE(random_state=0, n_jobs=-1).fit(reduced))
    return {"seconds": round(time.perf_counter() - start, 1), **map_quality(pixels, coords, labels)}


def vote_check(run_dir: Path) -> dict:
    """How many points of a run have a ``neighbours_pixels`` vote, and whether its "Where the neighbours
    disagree" bookmark selects exactly the points whose vote is not their class."""
    header, *rows = (run_dir / "metadata.tsv").read_text().splitlines()
    columns = dict(zip(header.split("\t"), zip(*(row.split("\t") for row in rows), strict=True), strict=True))
    votes = columns.get("neighbours_pixels", ())
    misplaced = [i for i, (own, vote) in enumerate(zip(columns["class_name"], votes, strict=False)) if own != vote]
    views = json.loads((run_dir / "bookmarks_pixels.json").read_text())
    selected = [view["selectedPoints"] for view in views if view["label"] == "Where the neighbours disagree"]
    return {"points_with_a_vote": sum(bool(vote) for vote in votes),
            "bookmark_selects_the_misplaced": bool(votes) and selected == [misplaced]}


def bench_full(args: argparse.Namespace) -> list[dict]:
    """All ``--tsne-big`` images of --train-data-dir through mnist_tsne.py --split all, end to end, beside
    openTSNE's default fit of the same points (goal: at most 0.8x its time, 3 GB, same map quality)."""
    n = args.tsne_big
    if not n or not Path(args.train_data_dir).is_dir():
        return [{"benchmark": "all images end to end", "note": f"skipped: --tsne-big {n}, --train-data-dir "
                 f"{args.train_data_dir} (apt-get install dataset-fashion-mnist gives 70,000)"}]
    data_dir = str(args.train_data_dir)
    dataset = dataset_in(data_dir)
    theirs = in_subprocess("opentsne_default_worker", data_dir=data_dir, n=n)
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "full"
        ours = in_subprocess("script_worker", command=[
            sys.executable, "mnist_tsne.py", "--dataset", dataset, "--data-dir", data_dir, "--split", "all",
            "--num-images", str(n), "--logdir", str(run_dir)])
        metrics = json.loads((run_dir / "metrics.json").read_text())["embeddings"]
        vote = vote_check(run_dir)
    pixels, tsne_map = metrics["pixels"], metrics["pixels_tsne_2d"]
    ratio = ours["seconds"] / theirs["seconds"]
    same_quality = (abs(tsne_map["knn_accuracy"] - theirs["knn_accuracy_of_map"]) <= 0.005
                    and abs(tsne_map["trustworthiness"] - theirs["trustworthiness"]) <= 0.005)
    metrics_share = (ours.get("neighbours_seconds", 0) + ours.get("metrics_seconds", 0)) / ours["seconds"]
    source = "Fashion-MNIST" if dataset == "fashion_mnist" else "MNIST"
    return [
        {"benchmark": f"openTSNE default TSNE().fit, {n} {source} (PCA 50)", **theirs},
        {"benchmark": f"mnist_tsne.py --split all, {n} {source}, end to end", **without_worker_memory(ours),
         "knn_accuracy_of_map": tsne_map["knn_accuracy"], "trustworthiness": tsne_map["trustworthiness"],
         "knn_accuracy_of_pixels": pixels["knn_accuracy"], "pixels_searched_in": pixels.get("knn_space", "pixels"),
         **vote,
         "metrics_share": round(metrics_share, 3), "vs_opentsne_default": round(ratio, 2),
         "goal": "<= 0.8x openTSNE default, <= 3072 MB, map quality within 0.005, metrics <= 15%, a vote for "
                 "every point",
         "goal_met": ratio <= 0.8 and ours["child_peak_rss_mb"] <= 3072 and same_quality and metrics_share <= 0.15
         and vote["points_with_a_vote"] == n and vote["bookmark_selects_the_misplaced"]},
    ]


# 8. t-SNE's neighbour search: the alternatives openTSNE accepts ------------------

def neighbours_worker(data_dir: str, n: int, method: str) -> dict:
    """``tsne_map`` of ``n`` images with openTSNE's ``neighbors=method``: its search's time, the whole map's
    time and the map's quality."""
    import contextlib
    import io
    import re

    from tutorial.tsne import TsneEngine, tsne_map

    pixels, labels = tsne_points(data_dir, n)
    printed = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(printed):
        coords = tsne_map(pixels, 2, 30.0, 0, "pixels", engine=TsneEngine(neighbors=method))
    seconds = time.perf_counter() - start
    search = float(re.search(r"neighbours and affinities: ([\d.]+) s", printed.getvalue()).group(1))
    return {"search_seconds": search, "tsne_seconds": round(seconds, 1), **map_quality(pixels, coords, labels)}


def bench_neighbours(args: argparse.Namespace) -> list[dict]:
    """Exact search of the 50 PCA components (what tsne_map uses) against Annoy (openTSNE's default) and
    pynndescent, at --tsne-big points. Precomputed neighbours would be the exact ones, handed over."""
    import importlib.util

    from tutorial.tsne import NEIGHBOUR_SEARCH

    n, data_dir = args.tsne_big, str(args.train_data_dir)
    if not n or not Path(data_dir).is_dir():
        return [{"benchmark": "t-SNE neighbour search", "note": f"skipped: --tsne-big {n}, no {data_dir}"}]
    rows = []
    for method in ("exact", "annoy", "pynndescent"):  # Annoy comes with openTSNE; pynndescent may be missing
        if method == "pynndescent" and getattr(importlib.util.find_spec(method), "origin", None) is None:
            rows.append({"benchmark": f"neighbors={method!r}", "note": f"skipped: pip install {method}"})
            continue
        row = in_subprocess("neighbours_worker", data_dir=data_dir, n=n, method=method)
        rows.append({"benchmark": f"neighbors={method!r}, {n} points" + (" (ours)" if method == NEIGHBOUR_SEARCH
                                                                          else ""), **row})
    return rows


# 9. The optimisation as frames: what keeping and drawing them costs -------------

def frames_worker(data_dir: str, n: int, keep: bool) -> dict:
    """One t-SNE of ``n`` test digits, keeping its frames or not; with them, the time to draw them as the
    report does (pictures, GIF, image summaries)."""
    import tensorflow as tf

    from mnist_tsne import pixel_vectors
    from tutorial.report import write_progress
    from tutorial.tsne import tsne_map

    images, labels, _ = shown_digits(Path(data_dir), n)
    frames = [] if keep else None
    start = time.perf_counter()
    tsne_map(pixel_vectors(images), 2, 30.0, 0, "pixels", frames=frames)
    result = {"tsne_seconds": round(time.perf_counter() - start, 2)}
    if keep:
        with tempfile.TemporaryDirectory() as tmp:
            writer = tf.summary.create_file_writer(tmp)
            start = time.perf_counter()
            with writer.as_default():
                written = write_progress(Path(tmp) / "progress.gif", "progress", frames, labels)
            writer.close()
            result |= {"frames": written, "draw_seconds": round(time.perf_counter() - start, 2),
                       "gif_KB": (Path(tmp) / "progress.gif").stat().st_size // 1024}
    return result


def bench_frames(args: argparse.Namespace) -> list[dict]:
    """t-SNE of the test digits with and without frames, and drawing them (goal: at most 10% of the t-SNE)."""
    n = args.num_images or 10_000
    without = statistics.median(in_subprocess("frames_worker", data_dir=str(args.data_dir), n=n, keep=False)[
        "tsne_seconds"] for _ in range(args.repeats))
    kept = [in_subprocess("frames_worker", data_dir=str(args.data_dir), n=n, keep=True) for _ in range(args.repeats)]
    run = median_run(kept, "tsne_seconds")
    cost = max(0.0, run["tsne_seconds"] - without) + run["draw_seconds"]
    return [{"benchmark": f"t-SNE of {n} digits without frames", "tsne_seconds": round(without, 2)},
            {"benchmark": "the same, keeping a frame every 10 iterations, drawn as GIF and image summaries",
             **without_worker_memory(run), "share_of_tsne": round(cost / without, 3),
             "goal": "<= 10% of the t-SNE", "goal_met": cost / without <= 0.10}]


# 9. Your own vectors at practitioner scale: 50,000 x 384 in cosine distance ------------------------------


def practitioner_vectors(data_dir: str, n: int, dims: int, folder: Path) -> tuple[Path, Path]:
    """The first ``n`` train images of ``data_dir`` (Fashion-MNIST's, for the README) reduced to ``dims`` numbers
    by PCA, as sentence vectors are 384: ``vectors.npy`` and a ``metadata.tsv`` of their class names."""
    import numpy as np
    from sklearn.decomposition import PCA

    from mnist_tsne import pixel_vectors
    from tutorial.mnist_data import load_dataset

    data = load_dataset(dataset_in(data_dir), data_dir)
    images, labels = (data.train_images, data.train_labels) if len(data.train_images) else (
        data.test_images, data.test_labels)
    pixels = pixel_vectors(images[:n])
    vectors = PCA(min(dims, *pixels.shape), random_state=0).fit_transform(pixels).astype(np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "vectors.npy", vectors)
    names = [data.class_names[label] for label in labels[:n]]
    (folder / "metadata.tsv").write_text("class_name\n" + "\n".join(names) + "\n")
    return folder / "vectors.npy", folder / "metadata.tsv"


def opentsne_cosine_worker(vectors: str) -> dict:
    """openTSNE's default ``TSNE(metric="cosine").fit`` of the vectors (only the fit is timed)."""
    import numpy as np
    from openTSNE import TSNE

    x = np.load(vectors)
    start = time.perf_counter()
    TSNE(metric="cosine", random_state=0, n_jobs=-1).fit(x)
    return {"seconds": round(time.perf_counter() - start, 1)}


def atlas_worker(command: str, vectors: str, metadata: str, port: int) -> dict:
    """Embedding Atlas on the same vectors as a parquet file (``embedding-atlas FILE --vector COLUMN``, its cosine
    UMAP, seed 0), timed from the command's start until its page answers; the server is then stopped."""
    import urllib.request

    # The parquet file is written (untimed) by Embedding Atlas's own Python, which has pyarrow.
    interpreter = Path(command).read_text(errors="replace").splitlines()[0].removeprefix("#!").strip()
    parquet = Path(vectors).with_suffix(".parquet")
    subprocess.run([interpreter, "-c", (
        "import sys, numpy as np, pyarrow as pa, pyarrow.parquet as pq\n"
        "x = np.load(sys.argv[1]); names = open(sys.argv[2]).read().splitlines()[1:]\n"
        "vector = pa.FixedSizeListArray.from_arrays(pa.array(x.ravel()), x.shape[1])\n"
        "pq.write_table(pa.table({'class_name': names, 'vector': vector}), sys.argv[3])\n"),
        vectors, metadata, str(parquet)], check=True)
    log = parquet.with_suffix(".log").open("w")  # a file, not a pipe, which could fill and stall it
    start = time.perf_counter()
    process = subprocess.Popen([command, str(parquet), "--vector", "vector", "--host", "127.0.0.1", "--port",
                                str(port), "--no-auto-port", "--umap-random-state", "0"],
                               stdout=log, stderr=subprocess.STDOUT)
    try:
        while True:
            if process.poll() is not None:
                output = parquet.with_suffix(".log").read_text()[-300:]
                return {"note": f"embedding-atlas exited {process.returncode}: {output}"}
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read()
                return {"seconds_until_page_answers": round(time.perf_counter() - start, 1)}
            except OSError:
                time.sleep(0.5)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def bench_vectors(args: argparse.Namespace) -> list[dict]:
    """``vectors_tsne.py --metric cosine`` on ``--vectors-n`` vectors of 384 numbers, end to end, beside openTSNE's
    default cosine fit of the same vectors and Embedding Atlas serving them (goal: at most 0.8x openTSNE, 3 GB)."""
    import socket

    n = args.vectors_n
    data_dir = str(args.train_data_dir if Path(args.train_data_dir).is_dir() else args.data_dir)
    source = "Fashion-MNIST" if dataset_in(data_dir) == "fashion_mnist" else "MNIST"
    with tempfile.TemporaryDirectory() as tmp:
        vectors, metadata = practitioner_vectors(data_dir, n, 384, Path(tmp) / "data")
        theirs = in_subprocess("opentsne_cosine_worker", vectors=str(vectors))
        run_dir = Path(tmp) / "logs" / "vectors"
        ours = in_subprocess("script_worker", command=[
            sys.executable, "vectors_tsne.py", str(vectors), "--metadata", str(metadata), "--color-by", "class_name",
            "--metric", "cosine", "--logdir", str(run_dir)])
        metrics = json.loads((run_dir / "metrics.json").read_text())["embeddings"]
        atlas = shutil.which(args.embedding_atlas) or (args.embedding_atlas if Path(args.embedding_atlas).is_file()
                                                       else None)
        if atlas:
            with socket.socket() as free:
                free.bind(("127.0.0.1", 0))
                port = free.getsockname()[1]
            atlas_row = in_subprocess("atlas_worker", command=atlas, vectors=str(vectors), metadata=str(metadata),
                                      port=port)
        else:
            atlas_row = {"note": "skipped: pip install embedding-atlas (or --embedding-atlas PATH)"}
    ratio = ours["seconds"] / theirs["seconds"]
    what = f"{n} {source} train images as 384 PCA numbers, cosine"
    return [
        {"benchmark": f"openTSNE TSNE(metric='cosine').fit, {what}", **theirs},
        {"benchmark": f"vectors_tsne.py --metric cosine --color-by class_name, {what}, end to end",
         **without_worker_memory(ours), "knn_accuracy": metrics["vectors"]["knn_accuracy"],
         "knn_accuracy_of_map": metrics["vectors_tsne_2d"]["knn_accuracy"],
         "trustworthiness": metrics["vectors_tsne_2d"]["trustworthiness"], "vs_opentsne_cosine": round(ratio, 2),
         "goal": "<= 0.8x openTSNE's cosine fit, <= 3072 MB",
         "goal_met": ratio <= 0.8 and ours["child_peak_rss_mb"] <= 3072},
        {"benchmark": f"embedding-atlas FILE.parquet --vector vector (cosine UMAP), {what}", **atlas_row},
    ]


# 11. Lesson 2's maps aligned: each code's map started from the pixels' --------------------------

ALIGNED_GOAL = "class centres correlate with the pixels' at >= 0.9 (x with x, y with y); map kNN and " \
               "trustworthiness at most 0.005 below independent starts"


def aligned_worker(run_dir: str) -> dict:
    """Every code's 2-D map of a lesson-2 run's tensors twice: started from the pixels' converged map
    (``tsne_maps(aligned=True)``) and from its own PCA. For each: the correlation of its class centres with the
    pixels' map's, axis by axis, and its kNN accuracy and trustworthiness (the run's own metrics code)."""
    import numpy as np
    import tensorflow as tf

    from tutorial.metrics import knn_accuracy, trustworthiness
    from tutorial.tsne import tsne_maps

    checkpoint = tf.train.load_checkpoint(run_dir)
    tensors = {name: checkpoint.get_tensor(name) for name in CODE_TENSORS}
    lines = Path(run_dir, "metadata.tsv").read_text().splitlines()
    column = lines[0].split("\t").index("label")
    labels = np.array([int(line.split("\t")[column]) for line in lines[1:]])
    result = {}
    for aligned in (True, False):
        maps = tsne_maps(tensors, [2], 30.0, 0, {}, aligned=aligned)[0]
        pixels = np.array([maps["pixels_tsne_2d"][labels == c].mean(axis=0) for c in range(labels.max() + 1)])
        for name in CODE_TENSORS[1:]:
            coords = maps[f"{name}_tsne_2d"]
            centres = np.array([coords[labels == c].mean(axis=0) for c in range(labels.max() + 1)])
            result[f"{name}_{'aligned' if aligned else 'independent'}"] = {
                "centre_correlation_xy": [round(float(np.corrcoef(pixels[:, axis], centres[:, axis])[0, 1]), 4)
                                          for axis in (0, 1)],
                "knn_accuracy_of_map": round(knn_accuracy(coords, labels), 4),
                "trustworthiness": round(trustworthiness(tensors[name], coords)[0], 4)}
    return result


def bench_aligned(args: argparse.Namespace) -> list[dict]:
    """Lesson 2's codes (``autoencoder_tsne.py --no-tsne``, per seed), each mapped from the pixels' map and from
    its own start: does each class stay where it was, and at what cost in quality?"""
    rows = []
    for name, folder, dataset in code_datasets(args):
        per_seed = lesson2_per_seed(folder, dataset, args,
                                    lambda run: in_subprocess("aligned_worker", run_dir=str(run)))
        for code in CODE_TENSORS[1:]:
            together = [seed[f"{code}_aligned"] for seed in per_seed]
            apart = [seed[f"{code}_independent"] for seed in per_seed]
            lowest = min(min(r["centre_correlation_xy"]) for r in together)
            costs = [max(i["knn_accuracy_of_map"] - a["knn_accuracy_of_map"],
                         i["trustworthiness"] - a["trustworthiness"]) for a, i in zip(together, apart, strict=True)]
            rows.append({"benchmark": f"{code} on {name}, seeds 0-{args.seeds - 1}",
                         "centre_correlation_aligned_per_seed": [r["centre_correlation_xy"] for r in together],
                         "centre_correlation_independent_per_seed": [r["centre_correlation_xy"] for r in apart],
                         "knn_accuracy_of_map_aligned": [r["knn_accuracy_of_map"] for r in together],
                         "knn_accuracy_of_map_independent": [r["knn_accuracy_of_map"] for r in apart],
                         "trustworthiness_aligned": [r["trustworthiness"] for r in together],
                         "trustworthiness_independent": [r["trustworthiness"] for r in apart],
                         "lowest_correlation_aligned": lowest, "largest_cost": round(max(costs), 4),
                         "goal": ALIGNED_GOAL, "goal_met": lowest >= 0.9 and max(costs) <= 0.005})
    return rows


BENCHMARKS: dict[str, Callable[[argparse.Namespace], list[dict]] | str] = {
    "writer": bench_writer,
    "e2e": bench_e2e,
    "scaling": bench_scaling,
    "codes": bench_codes,
    "lesson2": bench_lesson2,
    "tsne": bench_tsne,
    "disagree": bench_disagree,
    "default": bench_default,
    "full": bench_full,
    "neighbours": bench_neighbours,
    "frames": bench_frames,
    "vectors": bench_vectors,
    "aligned": bench_aligned,
    "placing": "placing.bench_placing",  # a module of its own (bench/placing.py), loaded when run
}


def format_table(rows: list[dict]) -> str:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    cells = [[str(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = [" | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("-+-".join("-" * w for w in widths))
    lines += [" | ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True, help="folder with the MNIST t10k IDX files")
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), default=list(BENCHMARKS),
                        help="which benchmarks to run (default: all)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per timing; the median is reported")
    parser.add_argument("--num-images", type=int, default=None, help="digits to use (default: all 10,000)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 70_000],
                        help="N for the scaling benchmark (real digits tiled past the split)")
    parser.add_argument("--train-data-dir", type=Path, default=Path("/usr/share/datasets/fashion-mnist"),
                        help="MNIST-format folder with a 60,000-digit train split for lesson 2's benchmarks "
                             "(default: Debian's dataset-fashion-mnist)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="most autoencoder epochs (default: the script's, 7,500 weight updates' worth)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds for the codes' figures (default: %(default)s)")
    parser.add_argument("--tsne-sizes", type=int, nargs="+", default=[2_000, 5_000, 10_000],
                        help="points for the t-SNE runs on --data-dir (default: %(default)s)")
    parser.add_argument("--tsne-big", type=int, default=70_000,
                        help="points for the large runs (full, neighbours), from --train-data-dir's test then "
                             "train split (0: no large run)")
    parser.add_argument("--vectors-n", type=int, default=50_000,
                        help="vectors of 384 numbers for the own-vectors section (default: %(default)s)")
    parser.add_argument("--embedding-atlas", default="embedding-atlas",
                        help="Embedding Atlas's command, compared in the own-vectors section (skipped if missing)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "latest.json")
    args = parser.parse_args(argv)

    rows = []
    for name in args.only:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        bench = BENCHMARKS[name]
        if isinstance(bench, str):  # "module.function" in bench/
            module, function = bench.split(".")
            bench = getattr(importlib.import_module(f"bench.{module}"), function)
        section = [{"section": name, **row} for row in bench(args)]
        print(format_table(section) + "\n", flush=True)
        rows += section
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    machine = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(), "cpu": cpu}
    args.out.write_text(json.dumps({"machine": machine, "rows": rows}, indent=2) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
