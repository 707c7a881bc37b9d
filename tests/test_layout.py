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
    assert re.search(r"from mnist_tsne import .*write_embedding_run", source)
    assert "def write_projector_logs" not in source
    # 200 lines, then 250: section 7 adds points to a finished map (its plumbing is in tutorial/placing.py).
    assert len(source.splitlines()) <= 250


def test_lesson_1_reads_in_one_sitting():
    lines = (REPO / "mnist_tsne.py").read_text().splitlines()
    # Since its main() calls one step per section (a notebook cell each), the lesson holds the pipeline's steps,
    # the writer's checks in a function of their own and the paired bookmarks: 510 lines, from 400. Then 515:
    # write_run also saves what placing new points needs (lesson 3), and its import takes a block.
    assert len(lines) <= 515
    # The sections follow the run: the Projector's files come right after the steps that make what they hold.
    assert lines.index("# ## 6. The Projector's files") < 230


def test_lesson_2_reads_in_one_sitting_and_reuses_lesson_1s_writer():
    source = (REPO / "autoencoder_tsne.py").read_text()
    assert len(source.splitlines()) <= 380  # 335 before main() called a step per section and it compared pairs
    assert "from mnist_tsne import pixel_vectors, write_embedding_run" in source
    assert "def write_projector_logs" not in source and "SaveV2" not in source  # reused, not copied


def test_the_readme_is_short_and_its_reference_pages_exist():
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 250  # each figure with the file behind it
    for page in re.findall(r"\]\((docs/[^)#]+)", readme):
        assert (REPO / page).is_file(), page


@pytest.mark.parametrize("path", HELPERS, ids=[p.name for p in HELPERS])
def test_only_the_mnist_loader_imports_the_mnist_loader(path):
    """Generic plumbing (errors, flags, vector files, ...) works for anyone's vectors, without MNIST."""
    imported = {node.module for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Import)
                 for alias in node.names}
    assert path.name == "mnist_data.py" or "tutorial.mnist_data" not in imported, path.name


def test_no_public_function_takes_more_than_nine_parameters():
    """Settings that are only passed on travel as one dataclass (tutorial/pipeline.py's RunSettings)."""
    wide = []
    for path in [*HELPERS, *(REPO / name for name in ("mnist_tsne.py", "autoencoder_tsne.py", "vectors_tsne.py"))]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                count = len(node.args.posonlyargs + node.args.args + node.args.kwonlyargs)
                if count - bool(node.args.args and node.args.args[0].arg == "self") > 9:
                    wide.append(f"{path.name}: {node.name} ({count})")
    assert not wide
