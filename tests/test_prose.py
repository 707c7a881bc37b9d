"""Readability, kept: the README reads as a short tutorial, and no sentence in the docs or lessons runs on.

How sentences are split is stated in ``tests/prose.py``: at ``.``, ``!`` or ``?`` followed by a space and a
capital letter or a backtick, and at the end of each paragraph and list item ("e.g." and "i.e." do not end a
sentence, and a decimal point is not one). Code, tables, pictures, headings and link targets are left out.
"""

from __future__ import annotations

import pytest
from conftest import REPO
from prose import comment_prose, lists_things, prose_blocks, sentences, words

LESSONS = ["mnist_tsne.py", "autoencoder_tsne.py", "vectors_tsne.py"]
DOCS = sorted((REPO / "docs").glob("*.md"))


def all_sentences(markdown: str) -> list[str]:
    return [sentence for block in prose_blocks(markdown) for sentence in sentences(block)]


def test_the_splitter_splits_as_stated():
    assert sentences("One idea. Two ideas, e.g. these. `code` starts one? Yes! It is 0.9527 here.") == [
        "One idea.", "Two ideas, e.g. these.", "`code` starts one?", "Yes!", "It is 0.9527 here."]
    assert prose_blocks("Intro:\n\n- first item\n- second item\n\n| a | b |\n|---|---|\n\n```\ncode.\n```") == [
        "Intro:", "first item", "second item"]
    assert lists_things("It needs a, b, c, d, e and f.") and not lists_things("Shapes [N, H, W, 3] are fine.")


def test_the_readme_is_short_with_short_sentences():
    found = all_sentences((REPO / "README.md").read_text())
    counts = [words(sentence) for sentence in found]
    assert sum(counts) <= 1200, f"{sum(counts)} words of prose"
    assert sum(counts) / len(counts) <= 18, f"a mean sentence of {sum(counts) / len(counts):.1f} words"
    assert max(counts) <= 40, max(found, key=words)


def test_the_readme_has_its_commands_on_the_first_screen():
    lines = (REPO / "README.md").read_text().splitlines()
    first_picture = next(i for i, line in enumerate(lines) if line.startswith("!["))
    for command in ("pip install -r requirements.txt", "python mnist_tsne.py", "./run_tensorboard.sh"):
        at = next(i for i, line in enumerate(lines) if line.startswith(command))
        assert at < 30 and at < first_picture, command


def test_every_term_is_defined_before_the_walkthrough_uses_it():
    readme = (REPO / "README.md").read_text()
    definitions, walkthrough = readme.index("## What you are looking at"), readme.index("## Walkthrough")
    for term in ("PCA", "t-SNE", "Perplexity", "UMAP", "The neighbours' vote", "kNN accuracy", "Trust",
                 "Trustworthiness"):
        assert definitions < readme.index(f"**{term}**") < walkthrough, term
    assert "normanheckscher/mnist-tensorboard-embeddings" in readme
    assert "Vooban/Autoencoder-TensorBoard-t-SNE" in readme


@pytest.mark.parametrize("path", [*DOCS, *(REPO / lesson for lesson in LESSONS)],
                         ids=[p.name for p in DOCS] + LESSONS)
def test_no_sentence_runs_over_40_words_or_lists_things(path):
    text = path.read_text()
    found = all_sentences(comment_prose(text) if path.suffix == ".py" else text)
    assert found
    too_long = [sentence for sentence in found if words(sentence) > 40]
    assert not too_long, too_long[0]
    listing = [sentence for sentence in found if lists_things(sentence)]
    assert not listing, f"a sentence that lists things becomes a list: {listing[0]}"
