"""The writer is the part people copy: the README's list of what to lift from lesson 1 works on its own.

The functions and constants the README names are cut out of ``mnist_tsne.py``
with their imports, into a file in an empty folder (no ``tutorial/``, no
lesson), and run there on colour pictures, text metadata and a bookmark. The
checker, which reads only files, finds the run sound; and importing the
lesson's functions leaves the process's environment as it was.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys

import pytest
from conftest import REPO

LESSON = REPO / "mnist_tsne.py"


def readme_lift_list() -> list[str]:
    """The functions the README says to take for the writer alone: the backticked names in its list."""
    readme = (REPO / "README.md").read_text()
    items = re.search(r"For the writer alone, copy these from `mnist_tsne.py`[^:]*:\n\n((?:- .*\n)+)", readme)[1]
    return [name for name in re.findall(r"`(\w+)`", items) if name != "mnist_tsne"]


def lifted_source(names: list[str]) -> str:
    """Those functions of lesson 1, its imports (none from tutorial/) and its upper-case constants."""
    source = LESSON.read_text()
    tree = ast.parse(source)
    parts = ["from __future__ import annotations"]
    for node in tree.body:
        segment = ast.get_source_segment(source, node)
        if isinstance(node, ast.Import | ast.ImportFrom):
            module = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
            if module not in ("__future__",) and not module.startswith("tutorial"):
                parts.append(segment)
        elif isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) and t.id.isupper() for t in node.targets):
            parts.append(segment)
        elif isinstance(node, ast.FunctionDef) and node.name in names:
            parts.append(segment)
    return "\n\n".join(parts) + "\n"


def test_the_readme_names_the_functions_to_lift_for_the_writer_and_for_the_pipeline():
    assert readme_lift_list() == ["write_projector_logs", "check_projector_input", "check_embeddings",
                                  "metadata_lines", "make_sprite", "projector_bookmark"]
    readme = (REPO / "README.md").read_text()
    assert "For the whole pipeline" in readme and "`write_embedding_run`" in readme


@pytest.mark.slow  # TensorFlow writes the checkpoint
def test_the_writer_lifted_alone_runs_without_the_lesson_or_tutorial(tmp_path):
    (tmp_path / "projector_writer.py").write_text(lifted_source(readme_lift_list()))
    script = """
import numpy as np
from projector_writer import projector_bookmark, write_projector_logs
rng = np.random.default_rng(0)
vectors = rng.normal(size=(30, 8))
pictures = rng.integers(0, 256, (30, 16, 16, 3), dtype=np.uint8)
view = projector_bookmark("mine", "pca", vectors[:, :3], color_by="kind", label_by="word")
write_projector_logs("logs/mine", {"features": vectors}, metadata={"word": [f"w{i}" for i in range(30)],
                     "kind": ["a", "b", "c"] * 10}, images=pictures, bookmarks={"features": [view]})
"""
    environment = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "TF_CPP_MIN_LOG_LEVEL")}
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                            timeout=300, env=environment)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "tutorial").exists()
    checked = subprocess.run([sys.executable, str(REPO / "tools" / "check_projector_logs.py"), str(tmp_path / "logs")],
                             capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0 and "1 run, 1 fine, 0 with errors, 0 warnings" in checked.stdout, checked.stdout
    assert (tmp_path / "logs" / "mine" / "sprite.png").is_file()


def test_importing_the_lessons_functions_changes_no_environment_variable():
    code = ("import os; before = dict(os.environ); import mnist_tsne, vectors_tsne; "
            "print(sorted(set(os.environ.items()) ^ set(before.items())))")
    environment = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                            env=environment)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
