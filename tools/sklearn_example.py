"""Write one of scikit-learn's bundled data sets as the files ``vectors_tsne.py`` reads: real data, offline.

    python tools/sklearn_example.py iris examples/iris       # 150 flowers, 4 numbers, species as text
    python tools/sklearn_example.py digits examples/digits   # 1,797 handwritten digits, 8 x 8, with images
    python tools/sklearn_example.py photos examples/photos   # 520 colour patches of two photos, 32 x 32 x 3

Each writes ``vectors.npy`` (float32 [N, D]) and ``metadata.tsv`` (a header row, then a row per point);
``digits`` and ``photos`` also ``images.npy`` (uint8; the digits dark on white). ``--later K`` keeps the last
K points apart, in ``<folder>/later``, as points that arrive after the map is made (lesson 3, section 7).
Then, e.g.:

    python vectors_tsne.py examples/iris/vectors.npy --metadata examples/iris/metadata.tsv --color-by species
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

PATCH = 32
PATCHES_PER_PHOTO = 260


def iris() -> tuple[np.ndarray, dict[str, list], None]:
    """The 150 iris flowers: 4 measurements (cm) each; species as text."""
    from sklearn.datasets import load_iris

    data = load_iris()
    species = [str(data.target_names[t]) for t in data.target]
    return data.data.astype(np.float32), {"species": species, "index": list(range(len(species)))}, None


def digits() -> tuple[np.ndarray, dict[str, list], np.ndarray]:
    """The 1,797 8 x 8 digits: 64 grey levels (0-16) each, their digit, and the pictures dark on white."""
    from sklearn.datasets import load_digits

    data = load_digits()
    images = (255 - data.images * 255 / 16).round().astype(np.uint8)
    return data.data.astype(np.float32), {"digit": data.target.tolist(), "index": list(range(len(images)))}, images


def photos() -> tuple[np.ndarray, dict[str, list], np.ndarray]:
    """520 RGB patches, 32 x 32, 260 from each of scikit-learn's two sample photos (a temple in China, a
    flower), at evenly spaced places: vectors are the patches' 3,072 pixel values in [0, 1]."""
    from sklearn.datasets import load_sample_images

    data = load_sample_images()
    patches, photo, rows, columns = [], [], [], []
    for name, picture in zip(("china", "flower"), data.images, strict=True):
        height, width = picture.shape[:2]
        grid_rows, grid_columns = 13, 20  # 260 places
        for row in np.linspace(0, height - PATCH, grid_rows).astype(int):
            for column in np.linspace(0, width - PATCH, grid_columns).astype(int):
                patches.append(picture[row:row + PATCH, column:column + PATCH])
                photo.append(name)
                rows.append(int(row))
                columns.append(int(column))
    images = np.stack(patches).astype(np.uint8)
    vectors = images.reshape(len(images), -1).astype(np.float32) / 255
    return vectors, {"photo": photo, "top": rows, "left": columns}, images


DATASETS = {"iris": iris, "digits": digits, "photos": photos}


def write_example(name: str, folder: Path, later: int = 0) -> Path:
    """Write data set ``name`` into ``folder`` (made if missing), its last ``later`` points into ``folder/later``;
    return the folder."""
    vectors, metadata, images = DATASETS[name]()
    if later:
        kept = len(vectors) - later
        write_files(folder / "later", vectors[kept:], {name: values[kept:] for name, values in metadata.items()},
                    None if images is None else images[kept:])
        vectors, metadata = vectors[:kept], {name: values[:kept] for name, values in metadata.items()}
        images = None if images is None else images[:kept]
    return write_files(folder, vectors, metadata, images)


def write_files(folder: Path, vectors: np.ndarray, metadata: dict[str, list], images: np.ndarray | None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "vectors.npy", vectors)
    lines = ["\t".join(metadata)] + ["\t".join(map(str, row)) for row in zip(*metadata.values(), strict=True)]
    (folder / "metadata.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if images is not None:
        np.save(folder / "images.npy", images)
    return folder


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=sorted(DATASETS))
    parser.add_argument("folder", type=Path)
    parser.add_argument("--later", type=int, default=0, metavar="K",
                        help="keep the last K points apart, in FOLDER/later, to place on the map later")
    args = parser.parse_args(argv)
    folder = write_example(args.dataset, args.folder, args.later)
    print(f"Wrote {', '.join(sorted(p.name for p in folder.iterdir()))} in {folder}", file=sys.stdout)


if __name__ == "__main__":
    main()
