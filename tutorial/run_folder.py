"""The atomic run folder: a run appears whole or not at all.

``staged_run(logdir, run_info)`` gives the script an empty staging folder to
write into and, when the ``with`` block ends without an error, puts it in
place of ``logdir`` with two renames. A crash, a full disk or Ctrl-C leaves any
earlier run as it was, and TensorBoard never reads half a run.

Ctrl-C while a run is staged does not raise KeyboardInterrupt: it deletes the
staging folder and exits 130 at once. A KeyboardInterrupt raised in the middle
of TensorFlow's own Python code (tracing the training step, making a dataset
iterator) can leave TensorFlow's state broken; unwinding from there has
crashed the interpreter ("corrupted size vs. prev_size", SIGABRT) instead of
giving the one-line exit.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tutorial.errors import INTERRUPTED_LINE, UserError

# A file in every run these scripts write; only such a folder is ever replaced.
RUN_MARKER = "run.json"
# Staging folders being written now: a run staged inside one (a lesson's write_embedding_run) writes into it.
_being_staged: set[Path] = set()


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


def _exit_on_ctrl_c(staging: Path) -> None:
    """From now on, Ctrl-C deletes ``staging`` and ends the process with status 130."""
    def abandon_run(signum: int, frame: object) -> None:
        try:
            sys.stdout.flush()
        except (OSError, RuntimeError):  # a closed pipe, or Ctrl-C came in the middle of a write
            pass
        os.write(2, f"{INTERRUPTED_LINE}\n".encode())
        shutil.rmtree(staging, ignore_errors=True)
        # No unwinding, no atexit, no destructors: no more TensorFlow code runs.
        os._exit(130)

    signal.signal(signal.SIGINT, abandon_run)


@contextmanager
def staged_run(logdir: str | Path, run_info: dict) -> Iterator[Path]:
    """Yield an empty staging folder; on success it replaces ``logdir`` whole.

    The run is written into a hidden ``.<name>.partial-*`` folder and renamed
    into place only when complete, so an earlier run survives a crash or
    Ctrl-C, and TensorBoard never reads a half-written run. An existing
    ``logdir`` is replaced only if these scripts wrote it (it holds
    ``run.json``) or it is empty; anything else is left alone. A ``logdir``
    that is itself a staging folder being written is yielded as it is: the
    outer ``staged_run`` puts it in place.
    """
    logdir = Path(logdir)
    if logdir.resolve() in _being_staged:
        yield logdir
        return
    if logdir.exists() and not logdir.is_dir():
        raise UserError(f"--logdir {logdir} is a file; choose a directory")
    if logdir.is_dir() and not _is_own_run(logdir):
        raise UserError(f"--logdir {logdir} holds files these scripts did not write; choose a new directory")
    logdir.parent.mkdir(parents=True, exist_ok=True)
    # Not tempfile.mkdtemp: its 0700 mode would hide the run from other users.
    tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    staging = _staging_parent(logdir) / f".{logdir.name}.partial-{tag}"
    # Signal handlers can only be set from the main thread.
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous_handler = signal.getsignal(signal.SIGINT) if in_main_thread else None
    staging.mkdir()
    _being_staged.add(staging.resolve())
    try:
        if in_main_thread:
            _exit_on_ctrl_c(staging)
        yield staging
        (staging / RUN_MARKER).write_text(json.dumps(run_info, indent=2, default=str) + "\n")  # paths as text
        old = staging.with_name(f".{logdir.name}.old-{tag}")
        # From here the run is complete: Ctrl-C is ignored during the two
        # renames, so it can neither leave no run nor report "not written"
        # about a run that was.
        if in_main_thread:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        if logdir.exists():
            os.replace(logdir, old)
        try:
            os.replace(staging, logdir)
        except OSError:
            if old.exists():
                os.replace(old, logdir)
            raise
        if old.exists():
            shutil.rmtree(old)
    finally:
        _being_staged.discard(staging.resolve())
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
        if in_main_thread:
            signal.signal(signal.SIGINT, previous_handler if previous_handler is not None else signal.SIG_DFL)
