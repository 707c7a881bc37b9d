"""Notebook plumbing: pictures shown inline, and TensorBoard inside a notebook, started through this
repository's launcher.

``show(picture)`` displays a picture when the code runs in a Jupyter kernel, and does nothing in a terminal,
so a lesson's ``main()`` and its notebook run the same lines.

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
from collections.abc import Callable
from pathlib import Path

import numpy as np

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


def in_a_notebook() -> bool:
    """True in a Jupyter kernel (IPython's ZMQ shell), False in a terminal or a plain ``python`` script."""
    shell = sys.modules.get("IPython") and sys.modules["IPython"].get_ipython()
    return type(shell).__name__ == "ZMQInteractiveShell"


def show(picture: bytes | Path | np.ndarray | Callable[[], bytes]) -> None:
    """Display ``picture`` inline in a notebook: PNG bytes, a PNG file, an image array (uint8, or floats in
    [0, 1]; grey [H, W] or [H, W, 1], or RGB), or a function that draws one (called only in a notebook). In a
    terminal, nothing happens."""
    if not in_a_notebook():
        return
    import io

    from IPython.display import Image, display
    from PIL import Image as Picture

    picture = picture() if callable(picture) else picture
    if isinstance(picture, Path):
        picture = picture.read_bytes()
    if isinstance(picture, np.ndarray):
        values = picture if picture.dtype == np.uint8 else (np.clip(picture, 0, 1) * 255).astype(np.uint8)
        png = io.BytesIO()
        Picture.fromarray(values[..., 0] if values.ndim == 3 and values.shape[-1] == 1 else values).save(png, "PNG")
        picture = png.getvalue()
    from tutorial.report import small_png

    display(Image(small_png(picture)))  # a 256-colour palette keeps the notebook small
