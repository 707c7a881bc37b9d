"""The atomic run folder: a run appears whole or not at all.

``staged_run(logdir, run_info)`` gives the script an empty staging folder to
write into and, when the ``with`` block ends without an error, puts it in
place of ``logdir`` with two renames. A crash, a full disk or Ctrl-C leaves any
earlier run as it was, and TensorBoard never reads half a run.

Ctrl-C while a run is staged:

- in a script (``run_main``), deletes the staging folder and exits 130 at once
  (``AbandonRunsOnCtrlC`` in ``tutorial/errors.py`` says why);
- called from Python (a notebook cell), raises ``KeyboardInterrupt`` as usual,
  after the staging folder is deleted: the cell stops, the kernel lives, and
  any earlier run is as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tutorial.errors import AbandonRunsOnCtrlC, InputError

# A file in every run these scripts write; only such a folder is ever replaced.
RUN_MARKER = "run.json"


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
        raise InputError(f"--logdir {logdir} is a file; choose a directory")
    if logdir.is_dir() and not _is_own_run(logdir):
        raise InputError(f"--logdir {logdir} holds files these scripts did not write; choose a new directory")
    logdir.parent.mkdir(parents=True, exist_ok=True)
    # Not tempfile.mkdtemp: its 0700 mode would hide the run from other users.
    tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    staging = _staging_parent(logdir) / f".{logdir.name}.partial-{tag}"
    # Signal handlers can only be set from the main thread.
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous_handler = signal.getsignal(signal.SIGINT) if in_main_thread else None
    staging.mkdir()
    if isinstance(previous_handler, AbandonRunsOnCtrlC):  # a script's: Ctrl-C deletes this folder and exits
        previous_handler.staging.append(staging)
    try:
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
        if isinstance(previous_handler, AbandonRunsOnCtrlC):
            previous_handler.staging.remove(staging)
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
        if in_main_thread:
            signal.signal(signal.SIGINT, previous_handler if previous_handler is not None else signal.SIG_DFL)


def read_run_metadata(run_dir: Path) -> dict[str, list[str]]:
    """A run's ``metadata.tsv`` as the Projector reads it: a header row when the first line has a tab, else one
    column it calls ``label``; every cell as text ({} without the file)."""
    path = Path(run_dir) / "metadata.tsv"
    if not path.is_file():
        return {}
    lines = path.read_text(encoding="utf-8").rstrip("\n").split("\n")
    if "\t" not in lines[0]:
        return {"label": lines}
    header, *rows = (line.split("\t") for line in lines)
    return {name: [row[i] if i < len(row) else "" for row in rows] for i, name in enumerate(header)}
