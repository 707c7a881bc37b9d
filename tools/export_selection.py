"""Take a selection out of the Projector: the rows a saved view selects, as a CSV of your points.

    python tools/export_selection.py RUN STATE [--view LABEL] [--out FILE.csv] [--all]

In the Projector, select points (search, or draw a box), then in the **Bookmarks** panel click **Add
bookmark** and **Save bookmarks**. The browser downloads a file named ``state``: every saved view, each with
the points it selects. This writes those points' rows, one per point:

- ``row``: the point's row in the run (``row_in_files`` or ``index``, a metadata column, gives its row in
  your own files when the run sampled them);
- every metadata column, the neighbours' vote and each map's trust included;
- each t-SNE map's coordinates (``<map>_x``, ``<map>_y``; ``_z`` for 3-D maps), from the run's checkpoint.

The file also holds the run's own bookmarks; without ``--view`` the last view saved is used. A view saved
with *Isolate selection* on counts its selected points among the isolated ones; they are mapped
back through its ``filteredPoints``. ``--all`` writes every point. Without ``--out`` the CSV goes to stdout.
Bad input gets one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository's tutorial/
from tutorial.run_folder import read_run_metadata  # noqa: E402


class ExportError(ValueError):
    """A run or state file this cannot use; the message says what to do."""


def selected_rows(state: dict) -> list[int]:
    """The run's rows a saved view selects: its ``selectedPoints``, through its ``filteredPoints`` if isolated."""
    selected = [int(i) for i in state.get("selectedPoints") or []]
    filtered = state.get("filteredPoints") or []
    if filtered:
        if any(i >= len(filtered) for i in selected):
            raise ExportError(f"view {state.get('label')!r} selects point {max(selected)} of only {len(filtered)} "
                              "isolated points; save the view again")
        return [int(filtered[i]) for i in selected]
    return selected


def read_state(path: Path, label: str | None) -> dict:
    """The saved view named ``label`` in a downloaded ``state`` file; without a label, the last one saved (the
    file also holds the run's own bookmarks, listed first)."""
    try:
        states = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ExportError(f"{path} is not a state file the Bookmarks panel saved ({err})") from None
    if not isinstance(states, list) or not all(isinstance(s, dict) and "selectedPoints" in s for s in states):
        raise ExportError(f"{path} is not a state file the Bookmarks panel saved (a list of views)")
    labels = [str(state.get("label", "")) for state in states]
    if label is not None:
        if label not in labels:
            raise ExportError(f"{path} has no view {label!r}; its views: {', '.join(map(repr, labels))}")
        return states[labels.index(label)]
    if not states:
        raise ExportError(f"{path} holds no views; click Add bookmark before Save bookmarks")
    if len(states) > 1:
        print(f"note: the view {labels[-1]!r}, the last of {len(states)} ({', '.join(map(repr, labels[:-1]))} "
              "before it); --view picks another", file=sys.stderr)
    return states[-1]


def map_coordinates(run: Path) -> dict[str, np.ndarray]:
    """Each t-SNE map of the run (``run.json``'s ``maps``), as ``<map>_x``, ``<map>_y`` (, ``<map>_z``)."""
    maps = json.loads((run / "run.json").read_text()).get("maps", {}) if (run / "run.json").is_file() else {}
    if not maps:
        return {}
    import tensorflow as tf

    checkpoint = tf.train.load_checkpoint(str(run))
    columns = {}
    for name, of in maps.items():
        values = checkpoint.get_tensor(name)
        for axis, letter in zip(range(of["dims"]), "xyz", strict=False):
            columns[f"{name}_{letter}"] = values[:, axis]
    return columns


def export(run: Path, state: Path | None, view: str | None = None, every: bool = False) -> str:
    """The CSV of the points a view of ``state`` selects in ``run`` (every point with ``every``)."""
    if not (run / "projector_config.pbtxt").is_file():
        raise ExportError(f"{run} is not a Projector run (no projector_config.pbtxt); pass a run folder")
    chosen = None if every else read_state(state, view)  # before TensorFlow loads: bad input fails at once
    metadata = read_run_metadata(run)
    coordinates = map_coordinates(run)
    n = len(next(iter(metadata.values()))) if metadata else len(next(iter(coordinates.values()), []))
    if every:
        rows = list(range(n))
    else:
        rows = selected_rows(chosen)
        if not rows:
            raise ExportError(f"view {chosen.get('label')!r} selects no points; select some, save the view again, "
                              "or pass --all")
        if max(rows) >= n:
            raise ExportError(f"view {chosen.get('label')!r} selects row {max(rows)}, and {run} has {n} points; "
                              "was it saved from another run?")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["row", *metadata, *coordinates])
    for row in rows:
        writer.writerow([row, *(values[row] for values in metadata.values()),
                         *(f"{values[row]:.5g}" for values in coordinates.values())])
    return out.getvalue()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="the run folder, e.g. logs/mnist")
    parser.add_argument("state", type=Path, nargs="?", default=None,
                        help="the file the Bookmarks panel's Save bookmarks downloaded (named 'state')")
    parser.add_argument("--view", default=None, help="the saved view's label (needed when the file holds several)")
    parser.add_argument("--out", type=Path, default=None, help="CSV file to write (default: stdout)")
    parser.add_argument("--all", action="store_true", help="every point of the run, not a view's selection")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow loads: no C++ log lines
    try:
        if args.state is None and not args.all:
            raise ExportError("give the state file the Bookmarks panel saved, or --all")
        text = export(args.run, args.state, args.view, args.all)
    except ExportError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    if args.out:
        args.out.write_text(text)
        print(f"wrote {len(text.splitlines()) - 1} rows to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
