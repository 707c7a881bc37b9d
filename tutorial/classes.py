"""A metadata column as classes: what the neighbours' vote counts, and the colour the Projector gives each.

``classes_of(metadata, column, n)`` turns one metadata column (strings, ints,
floats: any values) into ``Classes``: the distinct values sorted (numerically
when every one is a number, else as text), each point's class number, and each
class's colour. A tie in the vote goes to the nearest tied neighbour's class,
whatever the classes are called (``tutorial/neighbours.py``).

The colours are the Projector's own (TensorBoard 2.21, ``projector_binary.js``):
it lists a column's values in the order a JavaScript object keeps them (whole
numbers like "7" first, ascending; then the others as first met in
``metadata.tsv``) and gives the v-th the colour ``CATEGORY10[3 * v % 10]`` of
d3's ten. So the Projector repeats its colours past 10 classes; our pictures
give classes 11 to 20 the lighter partner of the same hue (matplotlib's tab20),
and every class past the 20th grey. A column of more than
50 distinct values is not offered as categories by the Projector at all, so it
cannot colour the views and is refused.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tutorial.errors import InputError

# d3.schemeCategory10, the Projector's categorical palette, and tab20's lighter partner of each.
CATEGORY10 = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
              "#17becf"]
LIGHTER = ["#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d",
           "#9edae5"]
OTHER = "#b0b0b0"
MAX_DISTINCT_COLOURS = 20
# More distinct values than this and the Projector (TensorBoard 2.21) offers no categories for a text column.
PROJECTOR_MAX_CATEGORIES = 50


def cell_text(value: object) -> str:
    """A metadata value as ``metadata.tsv`` holds it: None and NaN are empty cells, the rest ``str``."""
    return "" if value is None or value != value else str(value)  # as write_projector_logs: NaN != NaN


def projector_order(texts: Sequence[str]) -> list[str]:
    """A column's distinct values in the order the Projector numbers them for colours (see the module's text)."""
    seen = dict.fromkeys(text for text in texts if text != "")
    whole = sorted((text for text in seen if re.fullmatch(r"0|[1-9]\d{0,9}", text) and int(text) < 2 ** 32 - 1),
                   key=int)
    return whole + [text for text in seen if text not in set(whole)]


def projector_colour(position: int) -> str:
    """The colour of the ``position``-th value in ``projector_order``: the Projector's, lighter past 10, grey
    past 20."""
    if position >= MAX_DISTINCT_COLOURS:
        return OTHER
    palette = CATEGORY10 if position < 10 else LIGHTER
    return palette[3 * position % 10]


@dataclass
class Classes:
    """A colour column's classes: ``names`` sorted, ``codes[i]`` point i's class number, ``colours`` per class."""

    column: str
    names: list[str]
    codes: np.ndarray
    colours: list[str]


def classes_of(metadata: dict[str, Sequence], column: str | None, n: int) -> Classes | None:
    """The classes of metadata ``column`` (None: no classes); InputError, saying what to do, when the column is
    missing, has an empty cell, or more distinct values than the Projector colours by category."""
    if column is None:
        return None
    if column not in metadata:
        raise InputError(f"color_by column {column!r} is not in the metadata, whose columns are "
                         f"{', '.join(map(repr, metadata)) or 'none'}")
    texts = [cell_text(value) for value in metadata[column]]
    if len(texts) != n:
        raise InputError(f"metadata column {column!r} has {len(texts)} values for {n} points")
    if empty := [i for i, text in enumerate(texts) if text.strip() == ""]:
        raise InputError(f"color_by column {column!r} is empty in {len(empty)} row{'s' * (len(empty) > 1)} (the "
                         f"first: row {empty[0]}); "
                         "give every point a class, or colour by another column")
    distinct = set(texts)
    if len(distinct) > PROJECTOR_MAX_CATEGORIES:
        raise InputError(f"color_by column {column!r} has {len(distinct)} distinct values; the Projector colours "
                         f"at most {PROJECTOR_MAX_CATEGORIES} classes: colour by a column with fewer")
    try:
        names = sorted(distinct, key=float)
    except ValueError:
        names = sorted(distinct)
    number = {name: i for i, name in enumerate(names)}
    position = {name: i for i, name in enumerate(projector_order(texts))}
    return Classes(column, names, np.array([number[text] for text in texts], dtype=np.int64),
                   [projector_colour(position[name]) for name in names])
