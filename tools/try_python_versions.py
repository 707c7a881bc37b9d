"""Install the project into a fresh venv of each Python and run it as a new user would.

    python tools/try_python_versions.py 3.10 3.13 --data-dir ../shared/data/mnist-t10k
    python tools/try_python_versions.py 3.10 --lowest     # the lowest versions requirements.txt allows
    python tools/try_python_versions.py 3.11 --lowest --tests tests/test_browser.py tests/test_own_vectors_served.py

For each version it makes a new venv (with pyenv's interpreter, or
``pythonX.Y`` on PATH), runs ``pip install -r requirements.txt`` (or, with
``--lowest``, uv's ``--resolution lowest-direct``), then ``mnist_tsne.py`` and
a short ``autoencoder_tsne.py``, then asks a real TensorBoard from that venv
what its Projector serves; ``--tests`` then runs those test files in the venv
(pytest, playwright and hypothesis added at their newest; the browser tests
need Chromium). It prints one line per step and a summary table;
the exit status is 1 if any step failed. It downloads TensorFlow (~600 MB)
per venv and takes minutes per version, so it is not part of ``.ci/run``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("tensorflow", "tensorboard", "keras", "numpy", "pillow", "opentsne", "scikit-learn", "matplotlib",
            "mlxtend")

# Run by the venv's Python: what does its own TensorBoard serve for the two runs?
SERVED = """
import json, sys
sys.path.insert(0, sys.argv[2])
from projector_page import TensorBoardServer
server = TensorBoardServer(sys.argv[1])
try:
    served = {}
    for run in json.loads(server.get("/data/plugin/projector/runs")):
        info = json.loads(server.get(f"/data/plugin/projector/info?run={run}"))
        served[run] = {e["tensorName"]: e["tensorShape"] for e in info["embeddings"]}
        metadata = server.get(f"/data/plugin/projector/metadata?run={run}&name=pixels").decode()
        served[run]["metadata_rows"] = len(metadata.splitlines()) - 1
    print(json.dumps(served, sort_keys=True))
finally:
    server.close()
"""


def interpreter(version: str) -> str:
    """The python of ``version``: pyenv's, else ``pythonX.Y`` on PATH."""
    if shutil.which("pyenv"):
        prefix = subprocess.run(["pyenv", "prefix", version], capture_output=True, text=True)
        if prefix.returncode == 0:
            return str(Path(prefix.stdout.strip().splitlines()[-1]) / "bin" / "python")
    found = shutil.which(f"python{version}")
    if not found:
        sys.exit(f"error: no Python {version} (neither pyenv nor python{version} on PATH)")
    return found


def step(name: str, command: list[str], log: Path, **kwargs) -> tuple[bool, float, str]:
    """Run one step, its output into ``log``; (ok, seconds, last output line)."""
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    seconds = time.perf_counter() - start
    log.write_text(f"$ {' '.join(map(str, command))}\n{result.stdout}\n--- stderr ---\n{result.stderr}")
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    print(f"  {name}: {'ok' if result.returncode == 0 else f'FAILED ({result.returncode})'} in {seconds:.0f} s"
          f"{'' if result.returncode == 0 else ': ' + (lines[-1] if lines else '')}  [{log}]", flush=True)
    return result.returncode == 0, seconds, result.stdout


def try_version(version: str, work: Path, args: argparse.Namespace) -> dict:
    print(f"Python {version}", flush=True)
    venv, logs = work / f"venv-{version}", work / f"logs-{version}"
    shutil.rmtree(venv, ignore_errors=True)
    shutil.rmtree(logs, ignore_errors=True)
    python = str(venv / "bin" / "python")
    row = {"python": version}
    ok, _, _ = step("venv", [interpreter(version), "-m", "venv", str(venv)], work / f"{version}-venv.log")
    if args.lowest:
        install = ["uv", "pip", "install", "--python", python, "--resolution", "lowest-direct",
                   "-r", str(REPO / "requirements.txt")]
    else:
        install = [python, "-m", "pip", "install", "-q", "-r", str(REPO / "requirements.txt")]
    ok = ok and step("install", install, work / f"{version}-install.log")[0]
    row["install"] = ok
    if not ok:
        return row
    listing = subprocess.run([python, "-m", "pip", "list", "--format=json"], capture_output=True, text=True)
    installed = {p["name"].lower(): p["version"] for p in json.loads(listing.stdout)}
    row["versions"] = {name: installed.get(name, "-") for name in PACKAGES}
    print("  " + ", ".join(f"{k} {v}" for k, v in row["versions"].items()), flush=True)

    data = ["--data-dir", str(args.data_dir)] if args.data_dir else []
    n = ["--num-images", str(args.num_images)]
    row["mnist_tsne"], row["mnist_tsne_seconds"], _ = step(
        "mnist_tsne.py", [python, "mnist_tsne.py", *data, *n, "--logdir", str(logs / "mnist")],
        work / f"{version}-mnist_tsne.log", cwd=REPO)
    row["autoencoder_tsne"], row["autoencoder_seconds"], _ = step(
        "autoencoder_tsne.py", [python, "autoencoder_tsne.py", *data, *n, "--epochs", "2", "--no-tsne",
                                "--logdir", str(logs / "autoencoder")],
        work / f"{version}-autoencoder_tsne.log", cwd=REPO)
    ok, _, out = step("TensorBoard serves", [python, "-c", SERVED, str(logs), str(REPO / "tests")],
                      work / f"{version}-served.log")
    row["served"] = json.loads(out.splitlines()[-1]) if ok else None
    if ok:
        print(f"  served: {row['served']}", flush=True)
    if args.tests:
        tools = [python, "-m", "pip", "install", "-q", "pytest", "pytest-xdist", "hypothesis", "playwright"]
        ok = step("test tools", tools, work / f"{version}-test-tools.log")[0]
        row["tests"], row["tests_seconds"], out = step(
            "tests", [python, "-m", "pytest", "-p", "no:cacheprovider", *map(str, args.tests)],
            work / f"{version}-tests.log", cwd=REPO, env={**os.environ, "REQUIRE_BROWSER": "1"}) if ok else (
            False, 0.0, "")
        row["test_files"], row["tests_summary"] = [str(path) for path in args.tests], out.strip() or "not run"
        print(f"  tests: {row['tests_summary']}", flush=True)
    return row


def mark(row: dict, key: str, seconds: str | None = None) -> str:
    """A summary cell: ok (with its time), FAILED, or - for a step never reached."""
    if key not in row:
        return "-"
    return ("ok" if row[key] else "FAILED") + (f" ({row[seconds]:.0f} s)" if seconds and row[key] else "")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("versions", nargs="+", help="Python versions, e.g. 3.10 3.13")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="MNIST IDX folder for the scripts (default: their own: Keras, else the bundled sample)")
    parser.add_argument("--num-images", type=int, default=2000, help="digits per run (default: %(default)s)")
    parser.add_argument("--lowest", action="store_true",
                        help="install the lowest versions requirements.txt allows (needs uv: pip install uv)")
    parser.add_argument("--tests", type=Path, nargs="+", default=[],
                        help="test files to run in each venv after the scripts (e.g. tests/test_browser.py)")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "try_python_versions",
                        help="where the venvs, runs and logs go (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.lowest and not shutil.which("uv"):
        parser.error("--lowest needs uv on PATH: pip install uv")
    args.work.mkdir(parents=True, exist_ok=True)
    rows = [try_version(version, args.work.resolve(), args) for version in args.versions]

    print("\n| Python | install | mnist_tsne.py | autoencoder_tsne.py | TensorBoard serves | tests |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['python']} | {mark(row, 'install')} | {mark(row, 'mnist_tsne', 'mnist_tsne_seconds')} | "
              f"{mark(row, 'autoencoder_tsne', 'autoencoder_seconds')} | {mark(row, 'served')} | "
              f"{mark(row, 'tests', 'tests_seconds')} |")
    (args.work / "summary.json").write_text(json.dumps(rows, indent=2) + "\n")
    failed = [row["python"] for row in rows
              if not all(row.get(k) for k in ("install", "mnist_tsne", "autoencoder_tsne", "served"))]
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
