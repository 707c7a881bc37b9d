"""Errors a user can cause, turned into one line on stderr and an exit status.

``run_main(main)`` runs a script's ``main``: bad data or flags exit 2, a file
that cannot be written (full disk, read-only folder, no permission) exits 1
with a hint, Ctrl-C exits 130; none of them shows a traceback. Anything else
is a bug and keeps its traceback.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable
from pathlib import Path

from tutorial.mnist_data import DataError


class UserError(ValueError):
    """A flag or folder the scripts cannot use; the message says why and what to do. A ValueError, so that
    ``write_embedding_run`` called from Python refuses a foreign folder as it refuses bad input."""


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


def run_main(main: Callable[[], None]) -> None:
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
        # Ctrl-C before the run folder exists; inside it, run_folder exits at once.
        print(INTERRUPTED_LINE, file=sys.stderr)
        sys.exit(130)
    except Exception as err:
        line = _tensorflow_file_error(err)
        if line is None:
            raise
        print(line, file=sys.stderr)
        sys.exit(1)
