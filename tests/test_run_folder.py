"""The atomic run folder: Ctrl-C while a run is staged, and what is left after it.

The scripts' own Ctrl-C cases are in test_bad_input.py; these run a few lines
around ``staged_run`` in a fresh Python, without TensorFlow, so they are quick
and the moment of the Ctrl-C is exact.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from conftest import REPO

from tutorial.errors import INTERRUPTED_LINE
from tutorial.run_folder import RUN_MARKER, staged_run

# A script that stages a run and presses Ctrl-C (SIGINT to itself) inside it.
CTRL_C_INSIDE_A_RUN = """
import os, signal, sys, time
sys.path.insert(0, sys.argv[2])
from tutorial.errors import run_main
from tutorial.run_folder import staged_run

def main():
    with staged_run(sys.argv[1], {"script": "test"}) as folder:
        (folder / "half_written.txt").write_text("half")
        print("before Ctrl-C", flush=True)
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(10)
        finally:
            print("unwound through the script", flush=True)

run_main(main)
"""


def python(code: str, *argv: object) -> subprocess.CompletedProcess:
    """``code`` in a fresh Python with ``argv``: its exit status, stdout and stderr."""
    return subprocess.run([sys.executable, "-c", code, *map(str, argv)], capture_output=True, text=True, timeout=60)


def earlier_run(logdir: Path) -> dict[str, bytes]:
    logdir.mkdir(parents=True)
    (logdir / RUN_MARKER).write_text('{"script": "earlier"}\n')
    (logdir / "sprite.png").write_bytes(b"earlier sprite")
    return {p.name: p.read_bytes() for p in logdir.iterdir()}


def test_ctrl_c_inside_a_staged_run_exits_at_once_and_keeps_the_earlier_run(tmp_path: Path):
    logdir = tmp_path / "logs" / "mnist"
    before = earlier_run(logdir)
    result = python(CTRL_C_INSIDE_A_RUN, logdir, REPO)
    assert result.returncode == 130, result.stderr
    assert result.stderr == INTERRUPTED_LINE + "\n"
    # No Python code runs after the Ctrl-C, so no KeyboardInterrupt can unwind
    # through TensorFlow's half-finished work (which has crashed the process).
    assert result.stdout == "before Ctrl-C\n"
    assert {p.name: p.read_bytes() for p in logdir.iterdir()} == before
    assert not list(tmp_path.rglob("*.partial-*")), "staging folder left behind"


# The same, called from Python as a notebook cell calls it: no run_main, so Ctrl-C is Python's own.
CTRL_C_INSIDE_A_LIBRARY_CALL = """
import os, signal, sys, time
sys.path.insert(0, sys.argv[2])
from tutorial.run_folder import staged_run

try:
    with staged_run(sys.argv[1], {"script": "test"}) as folder:
        (folder / "half_written.txt").write_text("half")
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(10)
except KeyboardInterrupt:
    print("KeyboardInterrupt reached the caller", flush=True)
print("the process goes on", flush=True)
"""


def test_ctrl_c_inside_a_library_call_raises_keyboard_interrupt_and_keeps_the_earlier_run(tmp_path: Path):
    logdir = tmp_path / "logs" / "mnist"
    before = earlier_run(logdir)
    result = python(CTRL_C_INSIDE_A_LIBRARY_CALL, logdir, REPO)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "KeyboardInterrupt reached the caller\nthe process goes on\n"
    assert {p.name: p.read_bytes() for p in logdir.iterdir()} == before
    assert not list(tmp_path.rglob("*.partial-*")), "staging folder left behind"


def test_a_finished_or_failed_run_leaves_ctrl_c_as_it_was(tmp_path: Path):
    handler = signal.getsignal(signal.SIGINT)
    with staged_run(tmp_path / "logs" / "ok", {}) as folder:
        assert signal.getsignal(signal.SIGINT) is handler  # called from Python: Python's own Ctrl-C
        (folder / "file.txt").write_text("done")
    assert signal.getsignal(signal.SIGINT) is handler
    assert (tmp_path / "logs" / "ok" / "file.txt").read_text() == "done"

    try:
        with staged_run(tmp_path / "logs" / "failed", {}):
            raise OSError("disk full")
    except OSError:
        pass
    assert signal.getsignal(signal.SIGINT) is handler
    assert not (tmp_path / "logs" / "failed").exists()
    assert not list(tmp_path.rglob("*.partial-*"))


INTERNAL_ERROR = """
import sys
sys.path.insert(0, sys.argv[1])
from tutorial.errors import InputError, run_main

def main():
    if sys.argv[2] == "input":
        raise InputError("your file is wrong; fix it")
    raise ValueError("a bug in the pipeline")  # a ValueError that is not an InputError: not the user's input

run_main(main)
"""


def test_only_input_errors_become_one_line_anything_else_keeps_its_traceback():
    own = python(INTERNAL_ERROR, REPO, "input")
    assert own.returncode == 2 and own.stderr == "error: your file is wrong; fix it\n"
    internal = python(INTERNAL_ERROR, REPO, "bug")
    assert internal.returncode == 1
    assert "Traceback" in internal.stderr and "ValueError: a bug in the pipeline" in internal.stderr
    assert 'File "<string>", line 9, in main' in internal.stderr  # where it came from


def test_the_writers_value_errors_become_input_errors_with_their_cause():
    from tutorial.errors import InputError, as_input_error

    try:
        with as_input_error():
            raise ValueError("embedding 'x' has shape (3,)")
    except InputError as err:
        assert str(err) == "embedding 'x' has shape (3,)" and isinstance(err.__cause__, ValueError)
