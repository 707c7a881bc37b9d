"""Every measured figure is in a committed file: ``docs/results.md`` paragraph by paragraph, and the README's
through ``docs/results.md``.

A figure is a decimal number, a number with a unit of time, memory, share or ratio (``15.9 s``, ``13 min
19 s``, ``1,231 MB``, ``84%``, ``0.75x``), or any number in a results table's cells.

- In ``docs/results.md``, each must be found, as written, among the numbers of a ``bench/results/*.json`` or
  ``docs/results/*.json`` file cited in its paragraph. A table takes the citations of the paragraphs around
  it, a list item those of the paragraph that leads into its list.
- The README keeps few figures. Each is in ``docs/results.md`` as written, or in a committed file its section
  cites; and each README section links to its evidence at most once.

Settings and versions that are not measurements are listed below with why. Changing a figure, or citing a
file that does not hold it, fails.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import REPO

CITATION = re.compile(r"(?:bench|docs)/results/[\w.-]+\.json")
# Numbers that are settings or versions, not measurements: each says why it is exempt.
NOT_MEASURED = {
    "0.0001": "early stopping's min_delta, a setting",
    "3.10": "a Python version", "3.13": "a Python version",
    "2.21": "TensorFlow's version", "0.26.0": "Embedding Atlas's version", "3.0": "MNIST's licence, CC BY-SA 3.0",
    "95": "the confidence level of an interval", "0.05": "the significance level the prose uses",
    "0.001": "a p-value bound the prose states",
    "0.851": "Fashion-MNIST's benchmark page's published 5-NN figure, quoted to say which ours matches",
}
NUMBER = r"\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?"
FIGURE = re.compile(
    rf"(?<![\w.-])(?:(?P<minutes>\d+)\s+min\s+(?P<seconds>\d+)\s+s\b"
    rf"|(?P<value>{NUMBER})(?P<unit>\s+s\b|\s+MB\b|%|x\b)"
    r"|(?P<decimal>\d+\.\d+)(?![\d.]))"
)


def readme_blocks(text: str) -> list[str]:
    """Paragraphs, list items and tables of the README, code blocks and pictures left out."""
    text = re.sub(r"```.*?```|!\[[^\]]*\]\([^)]*\)", "", text, flags=re.S)
    blocks = []
    for paragraph in re.split(r"\n\s*\n", text):
        blocks += re.split(r"\n(?=\d+\. |- )", paragraph.strip())
    return [block for block in blocks if block]


def is_table(block: str) -> bool:
    return block.startswith("|") and "\n|---" in block.replace(" ", "")


def figures_in(block: str) -> list[tuple[str, float, int]]:
    """(as written, value, decimals) of every figure: in a table every cell's number but the first column's."""
    if is_table(block):
        cells = [cell for row in block.splitlines()[2:] for cell in row.strip("|").split("|")[1:]]
        found = [(match.group(), match.group()) for cell in cells for match in re.finditer(
            rf"(?<![\w.])-?(?:{NUMBER})(?![\w.])", cell.replace("`", ""))]  # a minus sign is part of it
    else:
        found = []
        prose = re.sub(r"\]\([^)]*\)|`[^`]*`", "]", block)  # link targets and code are not figures
        for match in FIGURE.finditer(prose):
            if match.group("minutes"):
                found.append((match.group(), str(int(match.group("minutes")) * 60 + int(match.group("seconds")))))
            else:
                found.append((match.group(), match.group("value") or match.group("decimal")))
    figures = []
    for written, number in found:
        if number in NOT_MEASURED:
            continue
        plain = number.replace(",", "")
        figures.append((written, float(plain), len(plain.split(".")[1]) if "." in plain else 0))
    return figures


def numbers_in(path: Path) -> list[float]:
    """Every number in a JSON file: its values, and the numbers written inside its strings ("0.96 ± 0.01")."""
    numbers = []

    def walk(value) -> None:
        if isinstance(value, bool):
            return
        if isinstance(value, int | float):
            numbers.append(float(value))
        elif isinstance(value, str):
            numbers.extend(float(n.replace(",", "")) for n in re.findall(NUMBER, value))
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(json.loads(path.read_text()))
    return numbers


def holds(numbers: list[float], written: str, value: float, decimals: int) -> bool:
    """A number in the file rounds to ``value`` (shares also as fractions: 84% is 0.84...)."""
    tolerance = 0.5 * 10 ** -decimals + 1e-9
    scales = (1, 100) if written.endswith("%") else (1,)
    return any(abs(number * scale - value) <= tolerance for number in numbers for scale in scales)


RESULTS = REPO / "docs" / "results.md"


def cited_figures() -> list[tuple[str, list[str], str]]:
    blocks = readme_blocks(RESULTS.read_text())
    cases, lead_in = [], []
    for i, block in enumerate(blocks):
        citations = CITATION.findall(block)
        if not block.startswith("- "):
            lead_in = citations
        elif not citations:  # a list item without a citation of its own takes its lead-in paragraph's
            citations = lead_in
        if is_table(block):  # a table is cited by the paragraphs just before and after it
            citations += CITATION.findall(blocks[i - 1] if i else "")
            citations += CITATION.findall(blocks[i + 1] if i + 1 < len(blocks) else "")
        for written, value, decimals in figures_in(block):
            cases.append((written, citations, block, value, decimals))
    return cases


CASES = cited_figures()


def test_the_results_page_has_figures_and_cites_committed_files():
    assert len(CASES) > 40
    cited = {path for _, citations, *_ in CASES for path in citations}
    tracked = set(__import__("subprocess").run(["git", "ls-files", "bench/results", "docs/results"], cwd=REPO,
                                               capture_output=True, text=True).stdout.split())
    assert cited and cited <= tracked, f"cited but not committed: {sorted(cited - tracked)}"


@pytest.mark.parametrize("written, citations, block, value, decimals", CASES,
                         ids=[f"{i}:{case[0]}" for i, case in enumerate(CASES)])
def test_each_figure_is_in_a_file_its_paragraph_cites(written, citations, block, value, decimals):
    assert citations, f"{written!r} cites no bench or results file, in docs/results.md: {block[:200]!r}"
    assert any(holds(numbers_in(REPO / path), written, value, decimals) for path in citations), (
        f"{written!r} is in none of {citations}, in: {block[:200]!r}")


def readme_sections() -> dict[str, str]:
    text = (REPO / "README.md").read_text()
    return {part.split("\n", 1)[0]: part for part in re.split(r"\n(?=## )", text)}


EVIDENCE = re.compile(r"\]\((docs/results\.md[^)]*|(?:bench|docs)/results/[\w.-]+\.json)\)")


@pytest.mark.parametrize("heading", list(readme_sections()))
def test_each_figure_the_readme_keeps_is_in_the_results_page_or_a_file_its_section_cites(heading):
    section = readme_sections()[heading]
    links = EVIDENCE.findall(section)
    assert len(links) <= 1, f"{heading}: {len(links)} links to evidence; one a section at most"
    results = [(written, value, decimals) for block in readme_blocks(RESULTS.read_text())
               for written, value, decimals in figures_in(block)]
    cited = [REPO / link for link in links if link.endswith(".json")]
    for block in readme_blocks(section):
        for written, value, decimals in figures_in(block):
            in_results = any(abs(value - other) <= 0.5 * 10 ** -decimals + 1e-9 and other_decimals >= decimals
                             for _, other, other_decimals in results)
            in_file = any(holds(numbers_in(path), written, value, decimals) for path in cited)
            assert in_results or in_file, f"{heading}: {written!r} is neither in docs/results.md nor in {links}"


def test_the_readme_keeps_few_figures_and_no_statistics():
    figures = [figure for block in readme_blocks((REPO / "README.md").read_text()) for figure in figures_in(block)]
    assert 0 < len(figures) <= 20
    prose = " ".join(readme_blocks((REPO / "README.md").read_text()))
    for word in ("p <", "p =", "McNemar", "Wilson", "bench `", "AMD EPYC", "aimed at", "±"):
        assert word not in prose, word
