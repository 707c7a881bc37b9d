"""Errors a user can cause, turned into one line on stderr and an exit status.

``run_main(main)`` runs a script's ``main``:

- ``InputError`` (bad data, flags or folder) exits 2;
- a file that cannot be written (full disk, read-only folder, no permission) exits 1 with a hint;
- Ctrl-C deletes the run being staged and exits 130 (``AbandonRunsOnCtrlC``).

None of them shows a traceback. Anything else is a bug and keeps its traceback, with its cause.
Called from Python (a notebook), nothing here applies: errors are raised, and Ctrl-C raises
``KeyboardInterrupt`` after the staging folder is deleted (``tutorial/run_folder.py``).
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


class InputError(ValueError):
    """Input a user can fix (a file, a flag, a folder, their vectors); the message says what is wrong and what
    to do. The one error the scripts turn into a line on stderr and exit status 2."""


INTERRUPTED_LINE = "interrupted: the run was not written; any earlier run is unchanged"


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


@contextmanager
def as_input_error() -> Iterator[None]:
    """Within the block, a ValueError is the user's input: it becomes an ``InputError``, its cause kept.

    Lesson 1's writer raises plain ValueError so that it can be copied without ``tutorial/``; its checks,
    run on a user's input before slow work, go through this.
    """
    try:
        yield
    except InputError:
        raise
    except ValueError as err:
        raise InputError(str(err)) from err


class AbandonRunsOnCtrlC:
    """A script's SIGINT handler: delete every staging folder registered with it, then exit 130 at once.

    No KeyboardInterrupt is raised: one raised in the middle of TensorFlow's own Python code (tracing the
    training step, making a dataset iterator) can leave TensorFlow's state broken, and unwinding from there
    has crashed the interpreter ("corrupted size vs. prev_size", SIGABRT) instead of giving the one-line exit.
    ``staged_run`` registers its folder with this handler when it is the one installed.
    """

    def __init__(self) -> None:
        self.staging: list[Path] = []

    def __call__(self, signum: int, frame: object) -> None:
        try:
            sys.stdout.flush()
        except (OSError, RuntimeError):  # a closed pipe, or Ctrl-C came in the middle of a write
            pass
        os.write(2, f"{INTERRUPTED_LINE}\n".encode())
        for folder in self.staging:
            shutil.rmtree(folder, ignore_errors=True)
        # No unwinding, no atexit, no destructors: no more TensorFlow code runs.
        os._exit(130)


def run_main(main: Callable[[], None]) -> None:
    """Run a script's ``main``: an ``InputError`` or a file-system error becomes one line on stderr, Ctrl-C
    deletes the run being staged and exits 130; anything else keeps its traceback."""
    if threading.current_thread() is threading.main_thread():  # signal handlers can only be set from it
        signal.signal(signal.SIGINT, AbandonRunsOnCtrlC())
    try:
        main()
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except OSError as err:
        where = f" {_shown_path(str(err.filename))}" if err.filename else ""
        print(_file_error_line(f"cannot write or read{where}: {err.strerror or err}", err.errno), file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:  # a KeyboardInterrupt raised by code, not by Ctrl-C (that exits at once)
        print(INTERRUPTED_LINE, file=sys.stderr)
        sys.exit(130)
    except Exception as err:
        line = _tensorflow_file_error(err)
        if line is None:
            raise
        print(line, file=sys.stderr)
        sys.exit(1)
