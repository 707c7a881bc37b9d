"""run_tensorboard.sh: what it serves, where it listens, and what it says when it cannot."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, free_port, make_digits
from projector_page import get_when_up

from mnist_tsne import write_projector_logs

LAUNCHER = REPO / "run_tensorboard.sh"


@pytest.fixture(scope="module")
def logs(tmp_path_factory) -> Path:
    logs = tmp_path_factory.mktemp("launcher") / "logs"
    images, labels = make_digits(30)
    pixels = images.reshape(30, -1) / 255
    write_projector_logs(logs / "mnist", {"pixels": pixels}, {"label": labels}, images)
    return logs


def launch(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(["bash", str(LAUNCHER), *args], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(LAUNCHER), *args], cwd=REPO, capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def served_runs(process: subprocess.Popen) -> tuple[str, list[str]]:
    """The URL the launcher printed, and the runs its TensorBoard lists there."""
    line = process.stdout.readline()
    assert "#projector" in line, (line, process.stderr.read() if process.poll() is not None else "")
    url = line.split("http://", 1)[1].split("/#projector")[0]
    return url, json.loads(get_when_up(f"http://{url}/data/plugin/projector/runs", process))


def other_addresses() -> list[str]:
    """This machine's IPv4 addresses that are not loopback (may be none in a sandbox)."""
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        return []
    return sorted({info[4][0] for info in infos if not info[4][0].startswith("127.")})


def stop(process: subprocess.Popen) -> str:
    process.terminate()
    try:
        _, stderr = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
    return stderr


@pytest.mark.slow
def test_serves_the_runs_on_127_0_0_1_and_prints_the_projector_url(logs):
    port = free_port()
    process = launch("--logdir", str(logs), "--port", str(port))
    try:
        url, runs = served_runs(process)
        assert url == f"127.0.0.1:{port}" and runs == ["mnist"]
        for address in other_addresses():  # loopback only: this machine's other addresses get no answer
            with socket.socket() as s:
                s.settimeout(5)
                assert s.connect_ex((address, port)) != 0, f"TensorBoard answers on {address}"
    finally:
        stop(process)


@pytest.mark.slow
def test_a_logdir_under_a_hidden_folder_is_served_and_a_hidden_staging_folder_is_not(logs, tmp_path):
    hidden = tmp_path / ".cache" / "x" / "logs"
    shutil.copytree(logs, hidden)
    process = launch("--logdir", str(hidden), "--port", str(free_port()))
    try:
        assert served_runs(process)[1] == ["mnist"]
    finally:
        stop(process)
    staging_only = tmp_path / "staging"
    shutil.copytree(logs / "mnist", staging_only / ".mnist.partial-1")  # a run still being written
    result = run("--logdir", str(staging_only))
    assert result.returncode == 1 and "holds no projector runs" in result.stderr


@pytest.mark.slow
def test_a_port_in_use_moves_to_the_next_free_one_and_says_so(logs):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = launch("--logdir", str(logs), "--port", str(port))
        try:
            url, runs = served_runs(process)
            assert runs == ["mnist"] and url != f"127.0.0.1:{port}"
        finally:
            stderr = stop(process)
    assert f"note: port {port} is in use; using {url.split(':')[1]} instead." in stderr


@pytest.mark.slow
def test_host_0_0_0_0_warns_that_it_exposes_tensorboard(logs):
    process = launch("--logdir", str(logs), "--port", str(free_port()), "--host", "0.0.0.0")
    try:
        served_runs(process)
    finally:
        stderr = stop(process)
    assert "warning: --host 0.0.0.0 makes TensorBoard reachable from other machines" in stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--logdir", "{tmp}/nowhere"], "no folder '{tmp}/nowhere' yet; run: python mnist_tsne.py"),
        (["--logdir", "{tmp}"], "holds no projector runs; run: python mnist_tsne.py"),
        (["--port", "http"], "--port must be a number from 1 to 65535, got 'http'"),
        (["--port", "70000"], "--port must be a number from 1 to 65535, got '70000'"),
        (["--port"], "--port needs a value"),
        (["--verbose"], "unknown argument '--verbose' (see --help)"),
    ],
)
def test_failures_get_one_line_and_exit_1(args, message, tmp_path):
    result = run(*[a.format(tmp=tmp_path) for a in args])
    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message.format(tmp=tmp_path) in lines[0]


def test_without_tensorboard_it_says_how_to_install_it(logs, tmp_path):
    # A PATH with the shell tools and a python3 from a venv without packages: no TensorBoard.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "bare")], check=True)
    bin_dir = tmp_path / "bare" / "bin"  # its python3 finds ../pyvenv.cfg only when started from here
    for tool in ("bash", "find"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    result = run("--logdir", str(logs), env={"PATH": str(bin_dir)})
    assert result.returncode == 1
    assert result.stderr == "error: TensorBoard is not installed; run: pip install -r requirements.txt\n"


def test_help():
    result = run("--help")
    assert result.returncode == 0 and result.stdout.startswith("Usage: ./run_tensorboard.sh")
    assert "0.0.0.0 exposes TensorBoard" in result.stdout


def test_shellcheck_clean():
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed: pip install -r requirements-dev.txt")
    result = subprocess.run(["shellcheck", str(LAUNCHER)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
