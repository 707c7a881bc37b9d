"""Prose measured as a reader meets it: words, and sentences split by a stated rule.

``prose_blocks(markdown)`` keeps the prose of a markdown text: code blocks, tables, pictures, headings and
HTML comments go, link targets go (the link text stays), inline code stays as one word each.

``sentences(block)`` splits one paragraph or list item:

- at ``.``, ``!`` or ``?`` followed by a space and a capital letter or a backtick;
- at the end of each paragraph and of each list item.

"e.g." and "i.e." do not end a sentence (no capital follows them), and a decimal point is not one (no space
follows it).
"""

from __future__ import annotations

import re

SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?]\)))(?<!\be\.g\.)(?<!\bi\.e\.) +(?=[A-Z`*\[(\"])")


def prose_blocks(markdown: str) -> list[str]:
    """The paragraphs and list items of ``markdown``, prose only (see the module's text)."""
    text = re.sub(r"```.*?```|<!--.*?-->", "", markdown, flags=re.S)
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", text)  # pictures
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links: their text
    text = re.sub(r"<(https?://[^>]+)>", "the address", text)
    blocks = []
    for paragraph in re.split(r"\n\s*\n", text):
        lines = [line for line in paragraph.strip().splitlines()
                 if not line.lstrip().startswith(("|", "#", "    ")) or line.lstrip().startswith(("- ", "* "))]
        joined = "\n".join(lines)
        for item in re.split(r"\n(?=\s*(?:\d+\. |- |\* ))", joined):
            item = re.sub(r"^\s*(?:\d+\. |- |\* )", "", item)
            item = " ".join(item.split())
            if re.search(r"[A-Za-z]", item):
                blocks.append(item)
    return blocks


def sentences(block: str) -> list[str]:
    """The sentences of one paragraph or list item."""
    return [part.strip() for part in SENTENCE_END.split(block) if part.strip()]


def lists_things(sentence: str) -> bool:
    """A sentence that names five or more things in a row: four commas outside brackets, parentheses, code
    and numbers (10,000)."""
    plain = re.sub(r"`[^`]*`|\([^()]*\)|\[[^\]]*\]|(?<=\d),(?=\d{3})", "", sentence)
    return plain.count(",") >= 4


def words(sentence: str) -> int:
    return len(re.findall(r"[\w`'’.,/-]+", sentence))


def comment_prose(source: str) -> str:
    """A Python file's comment blocks (``# ...`` lines, one paragraph per block) as markdown."""
    blocks, current = [], []
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.startswith("#") and not stripped.startswith(("#!", "# %%", "# noqa", "# type:")):
            current.append(stripped.lstrip("#").strip())
        else:
            if current:
                blocks.append("\n".join(current))
            current = []
    return "\n\n".join(blocks)
