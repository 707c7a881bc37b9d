"""Make the README's pictures from real runs, in headless Chromium.

Run by hand after writing both runs on real digits, then look at every PNG
before committing it:

    python mnist_tsne.py --data-dir ../shared/data/mnist-t10k --logdir /tmp/docs_logs/mnist
    python mnist_tsne.py --data-dir ../shared/data/mnist-t10k --logdir /tmp/docs_seed1/mnist --seed 1
    python autoencoder_tsne.py --data-dir ../shared/data/mnist-t10k --logdir /tmp/docs_logs/autoencoder
    python docs/make_screenshots.py --logdir /tmp/docs_logs --second-seed /tmp/docs_seed1/mnist --perplexities

Your own vectors' picture, from scikit-learn's iris flowers (``--own-vectors`` alone makes just it):

    python tools/sklearn_example.py iris /tmp/iris
    python vectors_tsne.py /tmp/iris/vectors.npy --metadata /tmp/iris/metadata.tsv --color-by species \
        --logdir /tmp/docs_own/iris
    python docs/make_screenshots.py --own-vectors /tmp/docs_own

The second seed's run (kept out of ``--logdir``, so the Projector lists two
runs, not three) gives the README's two maps side by side and what stays the
same between them. ``--perplexities`` maps the first run's pixels again at
perplexity 5, 30 and 100 from PCA's start, and at 30 from a random start
(``docs/tsne_perplexity.png``, a few minutes). Every figure printed on a
picture, and what the Projector's PCA panel showed, is written to
``docs/results/`` beside it.

It starts TensorBoard on a free 127.0.0.1 port, clicks through the Projector
and Time Series tabs the way the README's walkthrough says, and writes small
PNGs (a 256-colour palette keeps each well under 300 KB) into ``docs/``.
"""

from __future__ import annotations

import argparse
import functools
import io
import sys
from pathlib import Path

from PIL import Image

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent / "tests"))

from projector_page import ProjectorPage, TensorBoardServer, TimeSeriesPage, launch_browser  # noqa: E402


def save_small_png(png: bytes | Path, path: Path, max_width: int = 1000) -> None:
    """Shrink to ``max_width`` and store with a 256-colour palette."""
    image = Image.open(io.BytesIO(png) if isinstance(png, bytes) else png).convert("RGB")
    if image.width > max_width:
        image = image.resize((max_width, round(image.height * max_width / image.width)), Image.LANCZOS)
    image.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)
    print(f"wrote {path} ({path.stat().st_size // 1024} KB, {image.width}x{image.height})")


def wait_for_tsne_to_start(projector: ProjectorPage) -> None:
    """After a T-SNE bookmark: wait out the neighbour search until the Projector's own t-SNE counts iterations."""
    iteration = projector.frame.locator(".run-tsne-iter")
    for _ in range(1200):
        if iteration.inner_text().strip() not in ("", "0"):
            break
        projector.page.wait_for_timeout(250)
    projector.settle(1000)


def projector_pictures(browser, url: str, out: Path, logdir: Path) -> None:
    projector = ProjectorPage(browser, url, timeout_ms=180_000)
    try:
        # Raw pixels through the run's first bookmark: PCA, coloured by class.
        projector.choose_run("mnist")
        projector.choose_tensor("pixels")
        projector.wait_for_status("Points: 10000 | Dimension: 784")
        projector.open_bookmark("PCA, coloured by class")
        projector.settle(5000)
        save_small_png(projector.page.screenshot(), out / "projector_pixels_pca.png")
        screen_variance = projector.total_variance()

        # Its second: the converged map as the pixels' own T-SNE view. The
        # Projector first finds every point's neighbours (a dialog over the
        # map), then goes on with its own t-SNE from the map; the picture is
        # taken at its first iterations, when the map is still as computed.
        projector.open_bookmark("t-SNE (converged offline), coloured by class")
        wait_for_tsne_to_start(projector)
        save_small_png(projector.page.screenshot(), out / "projector_pixels_tsne.png")

        # Its third: the same map coloured by the neighbours' vote, the points they misplace selected.
        projector.open_bookmark("Where the neighbours disagree")
        wait_for_tsne_to_start(projector)
        save_small_png(projector.page.screenshot(), out / "projector_pixels_disagree.png")

        # The map's trust, a numeric column: the stored map, flat, coloured by it (the Projector's gradient).
        projector.choose_tensor("pixels_tsne_2d")
        projector.wait_for_status("Points: 10000 | Dimension: 3")
        projector.open_bookmark("PCA, coloured by class")
        projector.color_by("trust_pixels_tsne_2d")
        projector.settle(5000)
        save_small_png(projector.page.screenshot(), out / "projector_pixels_trust.png")

        # The convolutional autoencoder's code: its stored 2-D map, flat, through its bookmark.
        projector.choose_run("autoencoder")
        projector.choose_tensor("conv_code_tsne_2d")
        projector.wait_for_status("Points: 10000 | Dimension: 3")  # a 2-D map is stored with a zero third column
        projector.open_bookmark("PCA, coloured by class")
        projector.settle(5000)
        save_small_png(projector.page.screenshot(), out / "projector_code_tsne.png")
    finally:
        projector.close()
    pca_variance(logdir / "mnist", screen_variance, out)


def pca_variance(run: Path, screen_variance: float, out: Path) -> None:
    """What the PCA panel showed for the pixels, beside PCA of the pixels themselves and the spread of what the
    Projector's own computation (sphereized, 200 random directions) gives over 200 draws."""

    import numpy as np
    import tensorflow as tf
    from projector_page import projector_variance_shares

    pixels = tf.train.load_checkpoint(str(run)).get_tensor("pixels").astype(np.float64)
    centred = pixels - pixels.mean(axis=0)
    exact = np.linalg.svd(centred, compute_uv=False) ** 2
    sphereized = centred / np.linalg.norm(centred, axis=1, keepdims=True)
    sphereized_exact = np.linalg.svd(sphereized, compute_uv=False) ** 2
    draws = projector_variance_shares(pixels, components=3, draws=200) * 100
    result = {"run": "mnist_tsne.py on the 10,000 MNIST test digits (t10k)", "tensor": "pixels", "components": 3,
              "screen_total_variance_percent": screen_variance,
              "pca_of_the_pixels_percent": round(100 * exact[:3].sum() / exact.sum(), 1),
              "pca_of_the_sphereized_pixels_percent": round(100 * sphereized_exact[:3].sum() /
                                                             sphereized_exact.sum(), 1),
              "projector_method_200_draws_percent": {
                  name: round(float(value), 1) for name, value in zip(
                      ("min", "p5", "median", "p95", "max"), np.percentile(draws, [0, 5, 50, 95, 100]), strict=True)}}
    write_result(out / "results" / "projector-pca-variance.json", result)


def write_result(path: Path, result: dict) -> None:
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}: {result}")


def time_series_pictures(browser, url: str, out: Path) -> None:
    page = TimeSeriesPage(browser, url, width=900, height=900)
    try:
        page.scalar_table("epoch_loss", runs=4)  # waits until both models' curves and their table are drawn
        page.page.wait_for_timeout(1000)
        save_small_png(page.card("epoch_loss").screenshot(), out / "loss_curves.png")
        page.image_sizes("reconstructions")
        save_small_png(page.card("reconstructions").screenshot(), out / "reconstructions.png")
    finally:
        page.close()


def two_seeds(first: Path, second: Path, out: Path) -> None:
    """The pixels' maps of two seeds side by side, and what they share: each map's kNN accuracy and how many
    of a digit's 10 nearest on one map are among its 10 nearest on the other."""
    import json

    import numpy as np
    import tensorflow as tf

    sys.path.insert(0, str(DOCS.parent))
    from tutorial.neighbours import nearest_neighbours

    pictures = [Image.open(run / "tsne_map_pixels.png").convert("RGB") for run in (first, second)]
    both = Image.new("RGB", (sum(p.width for p in pictures), max(p.height for p in pictures)), "white")
    both.paste(pictures[0], (0, 0))
    both.paste(pictures[1], (pictures[0].width, 0))
    buffer = io.BytesIO()
    both.save(buffer, "PNG")
    save_small_png(buffer.getvalue(), out / "tsne_two_seeds.png", 1000)
    maps = [tf.train.load_checkpoint(str(run)).get_tensor("pixels_tsne_2d")[:, :2] for run in (first, second)]
    found = [nearest_neighbours(values).indices for values in maps]
    shared = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(*found, strict=True)])
    measured = [json.loads((run / "metrics.json").read_text())["embeddings"]["pixels_tsne_2d"]
                for run in (first, second)]
    seeds = [json.loads((run / "run.json").read_text())["args"]["seed"] for run in (first, second)]
    write_result(out / "results" / "tsne-two-seeds.json", {
        "maps": [{"seed": seed, "knn_accuracy": m["knn_accuracy"], "trustworthiness": m["trustworthiness"]}
                 for seed, m in zip(seeds, measured, strict=True)],
        "shared_of_10_nearest": round(float(shared), 4),
        "what": "pixels_tsne_2d of mnist_tsne.py on the 10,000 MNIST test digits, two seeds; the share of each "
                "digit's 10 nearest on one map that are among its 10 nearest on the other"})


PERPLEXITY_PANELS = ((5, "pca"), (30, "pca"), (100, "pca"), (30, "random"))


def perplexity_picture(run: Path, out: Path) -> None:
    """The run's pixels mapped again at perplexity 5, 30 and 100 from PCA's start and at 30 from a random one,
    seed 0, each panel titled with its map kNN accuracy and trustworthiness (as the run measures them)."""
    import tensorflow as tf

    sys.path.insert(0, str(DOCS.parent))
    from tutorial.classes import classes_of
    from tutorial.metrics import knn_accuracy, trustworthiness
    from tutorial.plotting import plot_tsne_map
    from tutorial.tsne import TsneEngine, tsne_map

    pixels = tf.train.load_checkpoint(str(run)).get_tensor("pixels")
    header, *rows = (run / "metadata.tsv").read_text().splitlines()
    column = header.split("\t").index("class_name")
    classes = classes_of({"class_name": [row.split("\t")[column] for row in rows]}, "class_name", len(rows))
    panels, pictures = [], []
    for perplexity, start in PERPLEXITY_PANELS:
        coords = tsne_map(pixels, 2, perplexity, seed=0, name="pixels", engine=TsneEngine(initialization=start))
        knn = round(knn_accuracy(coords, classes.codes), 4)
        trust = round(trustworthiness(pixels, coords, seed=0)[0], 4)
        panels.append({"perplexity": perplexity, "start": start, "map_knn_accuracy": knn, "trustworthiness": trust})
        title = (f"{len(pixels):,} MNIST test digits: perplexity {perplexity}, {'PCA' if start == 'pca' else 'random'}"
                 f" start, seed 0\nmap kNN {knn:.3f}, trustworthiness {trust:.3f}")
        png = plot_tsne_map(coords, classes.codes, None, classes.names, title=title, colours=classes.colours)
        pictures.append(Image.open(io.BytesIO(png)).convert("RGB"))
    width, height = max(p.width for p in pictures), max(p.height for p in pictures)
    grid = Image.new("RGB", (2 * width, 2 * height), "white")
    for i, picture in enumerate(pictures):
        grid.paste(picture, ((i % 2) * width, (i // 2) * height))
    buffer = io.BytesIO()
    grid.save(buffer, "PNG")
    save_small_png(buffer.getvalue(), out / "tsne_perplexity.png", 1000)
    write_result(out / "results" / "tsne-perplexity.json", {
        "what": f"t-SNE of the pixels of {len(pixels):,} MNIST test digits (t10k), seed 0; map kNN: leave-one-out "
                "5-NN vote on the map; trustworthiness against the pixels, from 2,000 points",
        "panels": panels})


def own_vectors_picture(browser, url: str, out: Path) -> None:
    """The iris run's converged map in the Projector, coloured by species: the map tensor's own view (a T-SNE
    bookmark would set the Projector's t-SNE refining it, which on 150 points soon makes it its own)."""
    projector = ProjectorPage(browser, url, timeout_ms=180_000)
    try:
        projector.wait_for_status("Points: 150 | Dimension: 4")
        projector.choose_tensor("vectors_tsne_2d")
        projector.wait_for_status("Points: 150 | Dimension: 3")
        projector.open_bookmark("PCA, coloured by species")
        projector.settle(2000)
        print(f"own vectors: legend {projector.legend()}, {projector.status()}")
        save_small_png(projector.page.screenshot(), out / "projector_iris_tsne.png")
    finally:
        projector.close()


def in_the_browser(logdir: Path, out: Path, *pictures) -> None:
    """TensorBoard serving ``logdir`` and one Chromium, for each of ``pictures(browser, url, out)`` in turn."""
    server = TensorBoardServer(logdir)
    try:
        server.get("/data/plugin/projector/runs")
        with launch_browser() as browser:
            for picture in pictures:
                picture(browser, server.url, out)
    finally:
        server.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--logdir", type=Path, default=Path("logs"),
                        help="folder holding the mnist and autoencoder runs (default: logs)")
    parser.add_argument("--out", type=Path, default=DOCS, help="where the PNGs go (default: docs/)")
    parser.add_argument("--second-seed", type=Path, default=None,
                        help="a run of mnist_tsne.py with another --seed, for the two maps side by side")
    parser.add_argument("--perplexities", action="store_true",
                        help="also map the mnist run's pixels at perplexity 5, 30 and 100 and from a random start")
    parser.add_argument("--own-vectors", type=Path, default=None,
                        help="a folder holding only vectors_tsne.py's iris run: make its picture alone")
    args = parser.parse_args(argv)
    if args.own_vectors:
        in_the_browser(args.own_vectors, args.out, own_vectors_picture)
        return
    for run in ("mnist", "autoencoder"):
        if not (args.logdir / run / "projector_config.pbtxt").is_file():
            parser.exit(2, f"{parser.prog}: error: no run {args.logdir / run}; write it first (see this file's "
                           "docstring)\n")

    save_small_png(args.logdir / "mnist" / "tsne_map_pixels.png", args.out / "tsne_map_pixels.png", 800)
    save_small_png(args.logdir / "mnist" / "confusions_pixels.png", args.out / "confusions_pixels.png", 900)
    (args.out / "results").mkdir(exist_ok=True)
    (args.out / "results" / "mnist-t10k-metrics.json").write_text((args.logdir / "mnist" / "metrics.json").read_text())
    if args.second_seed:
        two_seeds(args.logdir / "mnist", args.second_seed, args.out)
    if args.perplexities:
        perplexity_picture(args.logdir / "mnist", args.out)
    in_the_browser(args.logdir, args.out, functools.partial(projector_pictures, logdir=args.logdir),
                   time_series_pictures)


if __name__ == "__main__":
    main()
