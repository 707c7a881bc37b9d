"""Start TensorBoard and the lessons from a fork server that has imported TensorFlow once.

The tests start TensorBoard about thirty times and the lessons about thirty more. A fresh Python spends about
5 CPU-seconds importing TensorFlow each time, on a machine of 2 cores. One fork server per pytest worker
imports ``PRELOADED`` once (``tutorial.quiet_tensorflow`` first, as the lessons do); each program then forks
from it and runs as ``python program args`` would: its script (or ``-m`` module) as ``__main__``, with that
``sys.argv``, ``sys.path``, folder and environment, and the interpreter's way out (``sys.exit``'s status, an
uncaught exception's traceback and status 1, threads joined, ``atexit`` handlers run).

What a fork cannot show, the tests run in a fresh Python (``run_script(..., fresh=True)``, or
``subprocess`` directly): what TensorFlow prints while it loads, which libraries a script loads (the fork has
``PRELOADED`` already), Ctrl-C, and every row of the bad-input table. tests/test_forked.py checks that a
forked program and a fresh ``python`` say the same.

``ENABLED`` is off for scripts that import ``projector_page`` (docs/make_screenshots.py, the bench): a fork
server re-runs the main script's own file. tests/conftest.py turns it on for the tests.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

ENABLED = False

# What TensorBoard and the lessons import before they do anything of their own.
PRELOADED = ["tutorial.quiet_tensorflow", "tensorflow", "keras", "tensorboard.main", "tensorboard.default",
             "tensorboard.plugins.projector.projector_plugin", "openTSNE", "sklearn.decomposition",
             "sklearn.neighbors", "matplotlib.pyplot", "PIL.Image"]

_context = None


def available() -> bool:
    """Whether programs start from the fork server: turned on, and a platform that has one."""
    import multiprocessing

    return ENABLED and "forkserver" in multiprocessing.get_all_start_methods()


def _fork_server():
    global _context
    if _context is None:
        import multiprocessing

        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(PRELOADED)
    return _context


@functools.cache
def _interpreter_path() -> tuple[str, ...]:
    """``sys.path`` of a fresh ``python`` past its first entry (the script's folder), with no PYTHONPATH."""
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    said = subprocess.run([sys.executable, "-c", "import json, sys; print(json.dumps(sys.path[1:]))"],
                          env=environment, capture_output=True, text=True, check=True).stdout
    return tuple(json.loads(said))


def _as_main(program: list[str], cwd: str, environment: dict, stdout_path: str, stderr_path: str,
             interpreter_path: tuple[str, ...]) -> None:
    """In the forked child: ``python *program`` from here on, then exit as the interpreter would."""
    import atexit
    import runpy
    import threading

    status = 0
    try:
        os.dup2(os.open(stdout_path, os.O_WRONLY | os.O_APPEND), 1)
        os.dup2(os.open(stderr_path, os.O_WRONLY | os.O_APPEND), 2)
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(environment)
        module = program[0] == "-m"
        target, argv = (program[1], program[2:]) if module else (program[0], program[1:])
        first = os.getcwd() if module else str(Path(target).resolve().parent)
        extra = [entry for entry in environment.get("PYTHONPATH", "").split(os.pathsep) if entry]
        sys.path[:] = [first, *extra, *interpreter_path]
        sys.argv = [target, *argv]
        if module:
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            runpy.run_path(target, run_name="__main__")
    except SystemExit as stop:
        if stop.code is None or isinstance(stop.code, int):
            status = stop.code or 0
        else:
            print(stop.code, file=sys.stderr)
            status = 1
    except BaseException as error:
        # The traceback from the program's own first frame, as the interpreter prints it (not this runner's).
        frames = error.__traceback__
        while frames is not None and frames.tb_frame.f_code.co_filename in (__file__, "<frozen runpy>",
                                                                            getattr(runpy, "__file__", "")):
            frames = frames.tb_next
        sys.excepthook(type(error), error.with_traceback(frames), frames)
        status = -signal.SIGINT if isinstance(error, KeyboardInterrupt) else 1
    getattr(threading, "_shutdown", lambda: None)()  # non-daemon threads, as at the interpreter's exit
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    if status == -signal.SIGINT:  # an uncaught Ctrl-C: the interpreter ends itself by SIGINT, as shells expect
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    os._exit(status)


class ForkedProcess:
    """A program forked from the fork server, with the part of ``subprocess.Popen``'s interface the tests use."""

    def __init__(self, process, args: list[str]):
        self._process = process
        self.args = args

    @property
    def pid(self) -> int:
        return self._process.pid

    def poll(self) -> int | None:
        return self._process.exitcode

    def terminate(self) -> None:
        self._process.terminate()

    def kill(self) -> None:
        self._process.kill()

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired(self.args, timeout)
        return self._process.exitcode


def start(program: list[str], stdout_path: str, stderr_path: str, cwd: Path | str | None = None,
          env: dict[str, str] | None = None) -> ForkedProcess:
    """``python *program`` forked from the fork server, its output appended to the two files."""
    process = _fork_server().Process(
        target=_as_main, daemon=True,
        args=(program, str(cwd or os.getcwd()), dict(os.environ if env is None else env), stdout_path, stderr_path,
              _interpreter_path()))
    process.start()
    return ForkedProcess(process, [sys.executable, *program])


def run(program: list[str], cwd: Path | str | None = None, env: dict[str, str] | None = None,
        timeout: float | None = None) -> subprocess.CompletedProcess:
    """``subprocess.run([sys.executable, *program], capture_output=True, text=True)``, forked."""
    with tempfile.TemporaryDirectory(prefix="forked-") as folder:
        stdout, stderr = Path(folder) / "stdout", Path(folder) / "stderr"
        stdout.touch()
        stderr.touch()
        process = start(program, str(stdout), str(stderr), cwd, env)
        try:
            status = process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
        return subprocess.CompletedProcess(process.args, status, stdout.read_text(errors="replace"),
                                           stderr.read_text(errors="replace"))
