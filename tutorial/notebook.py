"""Notebook plumbing: TensorBoard inside a notebook, started through this repository's launcher.

The lessons' notebooks (``notebooks/``, made by ``tools/make_notebooks.py``) end with TensorBoard's own
``%tensorboard`` magic. The magic starts the ``tensorboard`` command, whose Projector keeps serving a run's
old points after the run is written again (``tutorial/serve_tensorboard.py`` says why, and mends it).
``use_the_launcher`` makes the magic start that file instead, with the kernel's own Python, through the
``TENSORBOARD_BINARY`` variable TensorBoard's notebook support reads.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

LAUNCHER = Path(__file__).resolve().parent / "serve_tensorboard.py"


def use_the_launcher(folder: str | Path) -> Path:
    """Make ``%tensorboard`` start ``serve_tensorboard.py`` with this Python: an executable script in
    ``folder`` (created if needed) named by ``TENSORBOARD_BINARY``; returns its path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / ".tensorboard_launcher.sh"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{LAUNCHER}" "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    os.environ["TENSORBOARD_BINARY"] = str(script)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # as run_tensorboard.sh: no C++ log lines
    return script
