"""How the code is laid out: lessons hold the lesson, helpers only plumbing."""

from __future__ import annotations

import ast
import re
import subprocess
import sys

import pytest
from conftest import REPO

HELPERS = sorted((REPO / "tutorial").glob("*.py"))


def test_importing_lesson_1_loads_no_heavy_library():
    # A mistyped flag or a bad data folder is reported before TensorFlow,
    # scikit-learn, openTSNE or matplotlib take seconds to load.
    code = ("import sys, mnist_tsne; heavy = ('tensorflow', 'keras', 'sklearn', 'openTSNE', 'matplotlib'); "
            "print(sorted(m for m in heavy if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("path", HELPERS, ids=[p.name for p in HELPERS])
def test_helpers_never_receive_the_parsed_command_line(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for arg in node.args.args + node.args.kwonlyargs:
                annotation = ast.unparse(arg.annotation) if arg.annotation else ""
                assert arg.arg != "args" and "Namespace" not in annotation, f"{path.name}: {node.name}({arg.arg})"


@pytest.mark.parametrize("path", HELPERS, ids=[p.name for p in HELPERS])
def test_each_helper_says_what_it_hides(path):
    assert ast.get_docstring(ast.parse(path.read_text())), f"{path.name} has no module docstring"


@pytest.mark.parametrize("script", ["mnist_tsne.py", "autoencoder_tsne.py", "vectors_tsne.py"])
def test_each_lesson_has_its_numbered_sections_in_order(script):
    headings = [line.removeprefix("# ## ") for line in (REPO / script).read_text().splitlines()
                if line.startswith("# ## ")]
    numbered = [h.split(".")[0] for h in headings if h[0].isdigit()]
    assert numbered == [str(i) for i in range(1, len(numbered) + 1)] and len(numbered) >= 4, headings


def test_lesson_3_loads_nothing_heavy_before_its_files_are_checked_and_reuses_lesson_1s_pipeline():
    # A bad vectors file is reported in a second: TensorFlow and the rest load only once the files are good.
    code = ("import sys, vectors_tsne; heavy = ('tensorflow', 'keras', 'sklearn', 'openTSNE', 'matplotlib'); "
            "print(sorted(m for m in heavy if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stderr
    source = (REPO / "vectors_tsne.py").read_text()
    assert "from mnist_tsne import write_embedding_run" in source and "def write_projector_logs" not in source
    assert len(source.splitlines()) <= 200


def test_lesson_1_reads_in_one_sitting():
    lines = (REPO / "mnist_tsne.py").read_text().splitlines()
    assert len(lines) <= 400
    # What the reader came for, the Projector's files, starts early.
    assert lines.index("# ## 2. The Projector's files") < 150


def test_lesson_2_reads_in_one_sitting_and_reuses_lesson_1s_writer():
    source = (REPO / "autoencoder_tsne.py").read_text()
    assert len(source.splitlines()) <= 335
    assert "from mnist_tsne import pixel_vectors, write_embedding_run" in source
    assert "def write_projector_logs" not in source and "SaveV2" not in source  # reused, not copied


def test_the_readme_is_short_and_its_reference_pages_exist():
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 250  # each figure with the file behind it
    for page in re.findall(r"\]\((docs/[^)#]+)", readme):
        assert (REPO / page).is_file(), page
