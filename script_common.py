"""What both example scripts share: their common flags, choosing the digits to
show, writing a run atomically, and turning errors into one line on stderr.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import shutil
import signal
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from mnist_data import CLASS_NAMES, DataError, Dataset

# A file in every run these scripts write; only such a folder is ever replaced.
RUN_MARKER = "run.json"


class UserError(Exception):
    """A flag the scripts cannot use; the message says why and what to do."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad flag gets one line on stderr instead of the usage."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


def add_common_args(parser: argparse.ArgumentParser, default_logdir: str) -> None:
    """Flags every script has: where the data comes from and where the run goes."""
    parser.add_argument("--logdir", default=default_logdir,
                        help="run directory to write; TensorBoard serves its parent (default: %(default)s)")
    parser.add_argument("--data-dir", default=None,
                        help="folder with MNIST-format IDX files (plain or .gz) or a Keras mnist.npz; "
                             "default: Keras' download, or the bundled 5,000-digit sample when offline")
    parser.add_argument("--dataset", choices=sorted(CLASS_NAMES), default="mnist",
                        help="which class names and Keras download to use (default: %(default)s)")
    parser.add_argument("--num-images", type=positive_int, default=None,
                        help="how many test digits to embed and show (default: 10000, "
                             "or the whole test split when it is smaller)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    parser.add_argument("--tsne", action=argparse.BooleanOptionalAction, default=True,
                        help="also store a converged t-SNE of every embedding, a picture of the map and "
                             "quality metrics (default: on; --no-tsne is much faster)")
    parser.add_argument("--perplexity", type=positive_float, default=30.0,
                        help="t-SNE perplexity: roughly how many neighbours each point keeps close "
                             "(default: %(default)s)")
    parser.add_argument("--tsne-dims", type=int, nargs="+", choices=(2, 3), default=[2],
                        help="t-SNE map dimensions, 2 and/or 3 (default: 2); the picture needs 2")


def select_shown(data: Dataset, num_images: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The first ``num_images`` test digits: images, labels, source index."""
    available = len(data.test_images)
    if available == 0:
        raise DataError(f"{data.source} has no test images to show")
    if num_images is None:
        num_images = min(10_000, available)
    elif num_images > available:
        raise UserError(f"--num-images {num_images} is more than the {available} test images in {data.source}")
    return data.test_images[:num_images], data.test_labels[:num_images], data.test_index[:num_images]


def _is_own_run(path: Path) -> bool:
    return (path / RUN_MARKER).is_file() or not any(path.iterdir())


def _staging_parent(logdir: Path) -> Path:
    """Where to build a run: outside the folder TensorBoard watches if we can.

    TensorBoard serves the parent of ``logdir`` (``logs/``) and lists every
    folder below it, hidden ones too, so the run is built one level higher,
    beside ``logs/``, when that is writable and on the same file system (a
    rename is atomic only within one file system).
    """
    parent = logdir.resolve().parent
    grandparent = parent.parent
    if (grandparent != parent and os.access(grandparent, os.W_OK | os.X_OK)
            and os.stat(grandparent).st_dev == os.stat(parent).st_dev):
        return grandparent
    return parent


@contextmanager
def staged_run(logdir: str | Path, run_info: dict) -> Iterator[Path]:
    """Yield an empty staging folder; on success it replaces ``logdir`` whole.

    The run is written into a hidden ``.<name>.partial-*`` folder and renamed
    into place only when complete, so an earlier run survives a crash or
    Ctrl-C, and TensorBoard never reads a half-written run. An existing
    ``logdir`` is replaced only if these scripts wrote it (it holds
    ``run.json``) or it is empty; anything else is left alone.
    """
    logdir = Path(logdir)
    if logdir.exists() and not logdir.is_dir():
        raise UserError(f"--logdir {logdir} is a file; choose a directory")
    if logdir.is_dir() and not _is_own_run(logdir):
        raise UserError(f"--logdir {logdir} holds files these scripts did not write; choose a new directory")
    logdir.parent.mkdir(parents=True, exist_ok=True)
    # Not tempfile.mkdtemp: its 0700 mode would hide the run from other users.
    tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    staging = _staging_parent(logdir) / f".{logdir.name}.partial-{tag}"
    staging.mkdir()
    try:
        yield staging
        (staging / RUN_MARKER).write_text(json.dumps(run_info, indent=2) + "\n")
        old = staging.with_name(f".{logdir.name}.old-{tag}")
        # Ctrl-C is held back during the two renames, so it cannot leave no run.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            if logdir.exists():
                os.replace(logdir, old)
            try:
                os.replace(staging, logdir)
            except OSError:
                if old.exists():
                    os.replace(old, logdir)
                raise
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        if old.exists():
            shutil.rmtree(old)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def write_embedding_run(run_dir: Path, args: argparse.Namespace, embeddings: dict[str, np.ndarray],
                        images: np.ndarray, labels: np.ndarray, index: np.ndarray, class_names: list[str],
                        description: str, evaluate: bool, extra_metrics: dict | None = None) -> dict:
    """Add t-SNE maps (with ``args.tsne``), measure, and write the Projector run.

    Each embedding gets ``<name>_tsne_2d`` / ``_3d`` tensors and, for 2-D, a
    picture ``tsne_map_<name>.png``. With ``evaluate``, every tensor's kNN
    accuracy and trustworthiness go to ``metrics.json``, the terminal and the
    Text tab. Returns the metrics (empty without ``evaluate``).
    """
    # TensorFlow (behind projector_logs) takes seconds to import: importing it
    # here, after the flags and the data are checked, reports those at once.
    from projector_logs import check_embeddings, write_projector_logs

    # Before the t-SNE, which would spend minutes on (or choke on) NaN.
    tensors = check_embeddings(embeddings, len(labels))
    # Trustworthiness is measured against what a tensor was computed from.
    sources = {name: "pixels" for name in embeddings if name != "pixels" and "pixels" in embeddings}
    maps = {}
    if args.tsne:
        from tsne_map import plot_tsne_map, tsne_embedding  # openTSNE and matplotlib load only when used

        for name, values in embeddings.items():
            for dims in sorted(set(args.tsne_dims)):
                tsne_name = f"{name}_tsne_{dims}d"
                tensors[tsne_name] = tsne_embedding(values, dims, args.perplexity, args.seed, name)
                sources[tsne_name] = name
                if dims == 2:
                    maps[name] = plot_tsne_map(tensors[tsne_name], labels, images, class_names,
                                               title=f"t-SNE of {name} (perplexity {args.perplexity:g})",
                                               seed=args.seed)

    metrics = {}
    if evaluate:
        from embedding_metrics import evaluate_embeddings, metrics_table

        print("Measuring every tensor (kNN accuracy, trustworthiness) ...", flush=True)
        metrics = {"embeddings": evaluate_embeddings(tensors, labels, sources, args.seed), **(extra_metrics or {})}
        table = metrics_table(metrics["embeddings"])
        print(table)
        (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")

    write_projector_logs(run_dir, tensors, labels, images, class_names, index=index, description=description)

    import tensorflow as tf

    writer = tf.summary.create_file_writer(str(run_dir))
    with writer.as_default():
        if metrics:
            tf.summary.text("metrics", table, step=0)
        for name, png in maps.items():
            (run_dir / f"tsne_map_{name}.png").write_bytes(png)
            tf.summary.image(f"tsne_map/{name}", tf.image.decode_png(png, channels=3)[None], step=0)
    writer.close()
    return metrics


# What to do about the file-system errors a user can meet when writing a run.
_WRITE_HINTS = {
    errno.ENOSPC: "the disk is full: free some space or pass --logdir on another disk",
    errno.EDQUOT: "the disk quota is used up: free some space or pass --logdir on another disk",
    errno.EFBIG: "a file size limit was hit: raise it (ulimit -f) or write fewer --num-images",
    errno.EROFS: "that file system is read-only: pass a --logdir you can write to",
    errno.EACCES: "no permission: pass a --logdir you can write to",
    errno.EPERM: "no permission: pass a --logdir you can write to",
}


def _shown_path(path: str) -> str:
    """A path the user knows: the folder that holds our staging folder, not its files."""
    parts = Path(path).parts
    for i, part in enumerate(parts):
        if ".partial-" in part:
            return str(Path(*parts[:i]))
    return path


def _file_error_line(what: str, code: int | None) -> str:
    hint = f"; {_WRITE_HINTS[code]}" if code in _WRITE_HINTS else ""
    return f"error: {what}{hint}. Nothing was replaced: any earlier run is unchanged"


def _tensorflow_file_error(err: Exception) -> str | None:
    """One line for a TensorFlow error that is really a file-system error, else None.

    TensorFlow's own writers (checkpoints, event files) raise its OpError
    types, not OSError, e.g. ResourceExhaustedError for a full disk.
    """
    if not type(err).__module__.startswith("tensorflow"):
        return None
    message = getattr(err, "message", str(err))
    for code in _WRITE_HINTS:
        reason = os.strerror(code)
        if reason in message:
            # "{{function_node ...}} /path/file.tempstate123; No space left on device [Op:SaveV2]"
            path = message.split("}}")[-1].split(";")[0].strip()
            return _file_error_line(f"cannot write in {_shown_path(path)}: {reason}", code)
    return None


def run_script(main: Callable[[], None]) -> None:
    """Run ``main``; expected failures become one line on stderr, no traceback."""
    try:
        main()
    except (DataError, UserError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except OSError as err:
        where = f" {_shown_path(str(err.filename))}" if err.filename else ""
        print(_file_error_line(f"cannot write or read{where}: {err.strerror or err}", err.errno), file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("interrupted: the run was not written; any earlier run is unchanged", file=sys.stderr)
        sys.exit(130)
    except Exception as err:
        line = _tensorflow_file_error(err)
        if line is None:
            raise
        print(line, file=sys.stderr)
        sys.exit(1)
