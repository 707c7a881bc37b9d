"""Your own vectors, metadata and pictures from files, as ``vectors_tsne.py`` reads them.

- ``read_vectors``: ``.npy`` (one tensor), ``.npz`` (every array a tensor,
  all with the same rows), or ``.tsv``/``.csv`` of numbers, with or without a
  header row (the Projector's own vectors TSV loads as it is).
- ``read_metadata``: ``.tsv`` or ``.csv`` with a header row, any columns, text
  included; a cell holding a tab or line break (a quoted CSV cell can), which
  ``metadata.tsv`` cannot hold, becomes one with spaces, and is counted.
- ``read_images``: a ``.npy`` of uint8 ``[N, H, W]`` or ``[N, H, W, 3]``, or a
  metadata column of image files (paths relative to the metadata file), read
  with Pillow and resized to one thumbnail size.
- ``sample_rows``: ``--max-points`` points drawn with a seed, in proportion to
  each class of the colour column when there is one.

Nothing here needs TensorFlow: a bad file is reported in a second, before
anything slow starts. Every problem is a ``InputError`` whose one line says
which file, what is wrong, and what to do.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tutorial.errors import InputError

VECTOR_SUFFIXES = (".npy", ".npz", ".tsv", ".csv")
# The Projector (TensorBoard 2.21) asks for the first 100,000 rows of a tensor and of its metadata.
PROJECTOR_MAX_POINTS = 100_000
# Thumbnails read from image files are resized so that the longer side has at most this many pixels.
THUMBNAIL_SIDE = 64


def _rows_listed(rows: np.ndarray) -> str:
    shown = ", ".join(str(int(row)) for row in rows[:5])
    return f"{len(rows)} row{'s' * (len(rows) > 1)} ({shown}{', ...' if len(rows) > 5 else ''})"


def _existing(path: Path, what: str, suffixes: Sequence[str]) -> Path:
    if not path.is_file():
        raise InputError(f"{what} {path} does not exist; pass a {', '.join(suffixes)} file")
    if path.suffix.lower() not in suffixes:
        raise InputError(f"{what} {path} is not a {', '.join(suffixes)} file; save it as one of those")
    return path


def _starts_with(path: Path, magic: bytes) -> bool:
    with path.open("rb") as file:
        return file.read(len(magic)) == magic


def _text_numbers(path: Path) -> np.ndarray:
    """A table of numbers in a .tsv or .csv file, with or without one header row, as float32 [N, D]."""
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise InputError(f"{path} is not a text file; vectors in a .tsv or .csv are numbers as text") from None
    rows = [line.split(delimiter) for line in lines if line.strip()]
    if not rows:
        raise InputError(f"{path} holds no vectors; expected one row of numbers per point")

    def is_number(cell: str) -> bool:
        try:
            float(cell)
        except ValueError:
            return False
        return True

    if not all(is_number(cell) for cell in rows[0]):  # a header row: column names
        if not rows[0][0].strip() and len(rows[0]) > 1:  # DataFrame.to_csv(): an unnamed first column, its index
            print(f"note: {path}'s first column has no name: pandas' index, not a dimension; left out", flush=True)
            rows = [row[1:] for row in rows]
        rows = rows[1:]
    if not rows:
        raise InputError(f"{path} holds a header row and no vectors")
    if (short := next((i for i, row in enumerate(rows) if len(row) != len(rows[0])), None)) is not None:
        raise InputError(f"{path}: vector {short} has {len(rows[short])} numbers, the first has {len(rows[0])}; "
                        "every row needs as many")
    try:
        return np.array(rows, dtype=np.float32)
    except ValueError:  # find the cell, to name it
        number, bad = next((i, cell) for i, row in enumerate(rows) for cell in row if not is_number(cell))
        raise InputError(f"{path}: vector {number} holds {bad[:40]!r}, not a number; vectors files hold numbers "
                        "only (text goes in --metadata)") from None


def read_vectors(path: str | Path) -> dict[str, np.ndarray]:
    """The tensors in ``path``: name -> float32 [N, D] (the file's stem; an .npz's array names), all one N."""
    path = _existing(Path(path), "vectors file", VECTOR_SUFFIXES)
    suffix = path.suffix.lower()
    magic = {".npy": b"\x93NUMPY", ".npz": b"PK"}.get(suffix)
    if magic and not _starts_with(path, magic):
        raise InputError(f"{path} is not a NumPy {suffix} file; save it with numpy.save or numpy.savez")
    try:
        if suffix == ".npy":
            tensors = {path.stem: np.load(path, allow_pickle=False)}
        elif suffix == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                tensors = {name: archive[name] for name in archive.files}
        else:
            tensors = {path.stem: _text_numbers(path)}
    except (ValueError, OSError, EOFError) as err:  # not a NumPy file, truncated, or an array of objects
        raise InputError(f"{path} cannot be read as {suffix} ({str(err).splitlines()[0][:120]}); "
                        "save it with numpy.save or numpy.savez") from None
    if not tensors:
        raise InputError(f"{path} holds no arrays; save your vectors in it with numpy.savez(path, name=vectors)")
    first_name, first = next(iter(tensors.items()))
    checked = {}
    for name, values in tensors.items():
        if values.ndim != 2 or values.shape[0] == 0 or values.shape[1] == 0:
            raise InputError(f"{path}: {name!r} has shape {values.shape}; vectors are [N, D], one row per point")
        if values.dtype.kind not in "biuf":
            raise InputError(f"{path}: {name!r} holds {values.dtype} values, not numbers")
        if len(values) != len(first):
            raise InputError(f"{path}: {name!r} has {len(values)} rows and {first_name!r} {len(first)}; every array "
                            "must hold the same points, one row each")
        values = values.astype(np.float32)
        if (bad := np.flatnonzero(~np.isfinite(values).all(axis=1))).size:
            raise InputError(f"{path}: {name!r} has NaN or infinite values in {_rows_listed(bad)}; drop or fix "
                            "those rows")
        checked[name] = values
    return checked


def read_metadata(path: str | Path, n: int) -> tuple[dict[str, list[str]], int]:
    """``path``'s columns (header row -> one text per point) for ``n`` points, and how many cells held a tab
    or a line break (now spaces). Missing cells at a row's end are empty."""
    path = _existing(Path(path), "metadata file", (".tsv", ".csv"))
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text; save the metadata as UTF-8") from None
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    while rows and not any(cell.strip() for cell in rows[-1]):  # blank lines at the end
        rows.pop()
    if not rows:
        raise InputError(f"{path} is empty; the metadata needs a header row naming its columns, then a row per point")
    header, *rows = rows
    if len(header) > 1 and not header[0].strip():  # DataFrame.to_csv(): its index, an unnamed first column
        header = ["index" if "index" not in header else "pandas_index", *header[1:]]
    if any(not name.strip() for name in header) or len(set(header)) < len(header):
        raise InputError(f"{path}: the header row {header[:10]} needs a distinct name for every column")
    if len(rows) != n:
        raise InputError(f"{path} has {len(rows)} rows after its header for {n:,} vectors; give one row per vector, "
                        "in the same order")
    cleaned = 0
    columns: dict[str, list[str]] = {name: [] for name in header}
    for number, row in enumerate(rows):
        if len(row) > len(header):
            raise InputError(f"{path}: row {number} has {len(row)} cells for {len(header)} columns; quote a cell "
                            "that holds the delimiter")
        for name, cell in zip(header, row + [""] * (len(header) - len(row)), strict=True):
            if any(char in cell for char in "\t\r\n"):
                cell, cleaned = " ".join(cell.split()), cleaned + 1
            columns[name].append(cell)
    return columns, cleaned


def read_images(source: str, metadata: dict[str, list[str]], metadata_path: Path | None, n: int) -> np.ndarray:
    """uint8 [N, H, W] or [N, H, W, 3] from ``source``: a .npy file of them, or the name of a metadata column of
    image files (relative to ``metadata_path``'s folder), each resized to one thumbnail size."""
    if source in metadata:
        return _image_files(metadata[source], metadata_path.parent if metadata_path else Path("."), source)
    path = Path(source)
    if not path.is_file():
        raise InputError(f"--images {source} is neither a file nor a metadata column (the columns: "
                        f"{', '.join(metadata) or 'none, without --metadata'})")
    _existing(path, "images file", (".npy",))
    if not _starts_with(path, b"\x93NUMPY"):
        raise InputError(f"{path} is not a NumPy .npy file; save the images with numpy.save")
    try:
        images = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise InputError(f"{path} cannot be read as .npy ({str(err).splitlines()[0][:120]})") from None
    if images.ndim not in (3, 4) or images.ndim == 4 and images.shape[-1] != 3:
        raise InputError(f"{path} holds shape {images.shape}; images are [N, H, W] (grey) or [N, H, W, 3] (RGB)")
    if images.dtype != np.uint8:
        raise InputError(f"{path} holds {images.dtype} images; save them as uint8, 0 to 255 "
                        "(e.g. (images * 255).astype(np.uint8) for values in [0, 1])")
    if len(images) != n:
        raise InputError(f"{path} holds {len(images):,} images for {n:,} vectors; give one image per vector")
    return images


def _image_files(paths: list[str], folder: Path, column: str) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    pictures = []
    for number, name in enumerate(paths):
        try:
            with Image.open(folder / name) as image:
                pictures.append(image.convert("RGB"))
        except (OSError, UnidentifiedImageError) as err:
            reason = "no such file" if isinstance(err, FileNotFoundError) else "not an image Pillow reads"
            raise InputError(f"--images {column}: row {number}'s {name!r} ({folder / name}): {reason}; "
                            "paths are read relative to the metadata file's folder") from None
    width, height = pictures[0].size
    scale = min(1.0, THUMBNAIL_SIDE / max(width, height))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    images = np.stack([np.asarray(picture.resize(size, Image.Resampling.LANCZOS)) for picture in pictures])
    grey = (images == images[..., :1]).all()
    return images[..., 0] if grey else images


def sample_rows(n: int, max_points: int, seed: int, classes: np.ndarray | None = None) -> np.ndarray:
    """``max_points`` of ``n`` row numbers, sorted, drawn with ``seed``; with ``classes`` [n], each class keeps
    its share (largest remainders round), so rare classes are not lost."""
    rng = np.random.default_rng(seed)
    if classes is None:
        return np.sort(rng.choice(n, max_points, replace=False))
    names, counts = np.unique(classes, return_counts=True)
    quotas = counts * max_points / n
    kept = np.floor(quotas).astype(int)
    kept[np.argsort(-(quotas - kept), kind="stable")[:max_points - kept.sum()]] += 1
    rows = [rng.choice(np.flatnonzero(classes == name), k, replace=False) for name, k in zip(names, kept, strict=True)]
    return np.sort(np.concatenate(rows))
