"""Drive TensorBoard's pages in headless Chromium, as a user would click them.

Shared by the browser tests (``tests/test_browser.py``) and the script that
makes the README's pictures (``docs/make_screenshots.py``), so both look at
the page the same way. Playwright's CSS locators pierce the open shadow roots
of the Projector's Polymer elements; the Projector itself lives in an iframe.
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import forked
import numpy as np
from PIL import Image

# Flags from DEVELOPERS.md: no sandbox (root), no network chatter, and WebGL
# through SwiftShader so the Projector's three.js scatter renders without a GPU.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--enable-unsafe-swiftshader", "--use-angle=swiftshader",
]


def find_chromium() -> str | None:
    """Path of a Chromium binary ($CHROMIUM, Debian's /usr/bin/chromium, or on PATH), or None."""
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def skip_without_browser(module_level: bool = False) -> None:
    """Skip the test (or the whole module) when Playwright or Chromium is missing, saying which.

    Under ``REQUIRE_BROWSER=1`` (``.ci/run`` sets it) a missing browser is a
    failure instead: CI installs both, so the browser tests must run there.
    """
    import pytest

    missing = None
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing = "Playwright is not installed: pip install -r requirements-dev.txt"
    if missing is None and find_chromium() is None:
        missing = "Chromium not found: apt-get install -y chromium (or set CHROMIUM=/path/to/chromium)"
    if missing and os.environ.get("REQUIRE_BROWSER") == "1":
        raise RuntimeError(f"REQUIRE_BROWSER=1 but {missing}")
    if missing:
        pytest.skip(missing, allow_module_level=module_level)


def free_port() -> int:
    """A free 127.0.0.1 port for a server the test will start, below the ephemeral range.

    Ports the kernel hands out (``bind`` to 0, every outgoing connection) come
    from the ephemeral range, so a port from there could be taken again before
    the server binds it; below that range only another server could take it.
    """
    try:
        first_ephemeral = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        first_ephemeral = 32768
    candidates = random.Random().sample(range(10_000, max(first_ephemeral, 10_100)), 50)
    for port in candidates:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port found below the ephemeral range")


def get_when_up(url: str, process: subprocess.Popen, timeout: float = 120) -> bytes:
    """GET ``url`` from a server that ``process`` is starting: retry until it answers,
    the process ends, or ``timeout`` seconds pass (then the last error is raised)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                return response.read()
        except urllib.error.HTTPError:
            raise
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


# How run_tensorboard.sh starts TensorBoard.
SERVE_TENSORBOARD = Path(__file__).resolve().parent.parent / "tutorial" / "serve_tensorboard.py"


def start_tensorboard(program: list[str], stderr_path: str):
    """``python *program``, its stderr appended to ``stderr_path``: a process with ``poll``, ``terminate``,
    ``wait`` and ``kill``. In the tests it forks from a server that has imported TensorFlow and TensorBoard
    (``forked.start``): each TensorBoard then starts in about a second rather than five."""
    if forked.available():
        return forked.start(program, os.devnull, stderr_path)
    with open(stderr_path, "ab") as stderr:
        return subprocess.Popen([sys.executable, *program], stdout=subprocess.DEVNULL, stderr=stderr)


class TensorBoardServer:
    """A real TensorBoard on a free 127.0.0.1 port, serving ``logdir``.

    Started as ``run_tensorboard.sh`` starts it (``tutorial/serve_tensorboard.py``
    with TensorBoard's flags); ``plain=True`` starts TensorBoard's own
    ``tensorboard.main`` instead. Both start from a fork server that has
    imported TensorFlow already (``start_tensorboard``); tests/test_run_tensorboard.py
    starts the launcher itself. TensorBoard picks the port itself
    (``--port 0``) and names it when it starts serving: a port chosen here and
    handed over could be taken in between (by any connection made meanwhile,
    tests running side by side included), and TensorBoard would exit.
    """

    def __init__(self, logdir: Path, plain: bool = False):
        program = ["-m", "tensorboard.main"] if plain else [str(SERVE_TENSORBOARD)]
        self._stderr = tempfile.NamedTemporaryFile(prefix="tensorboard-", suffix=".log")  # noqa: SIM115
        self._url: str | None = None
        self.process = start_tensorboard([*program, "--logdir", str(logdir), "--host", "127.0.0.1", "--port", "0"],
                                         self._stderr.name)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``, once TensorBoard says where it serves (waits up to 120 s)."""
        deadline = time.monotonic() + 120
        while self._url is None:
            said = os.pread(self._stderr.fileno(), 1 << 20, 0).decode(errors="replace")
            if serving := re.search(r"TensorBoard \S+ at http://[^\s/]+:(\d+)/", said):
                self._url = f"http://127.0.0.1:{serving[1]}"
            elif self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"TensorBoard did not start serving; it said: {said[-2000:]}")
            else:
                time.sleep(0.1)
        return self._url

    def get(self, path: str, timeout: float = 120) -> bytes:
        """GET ``path``, waiting for the server to come up (at most ``timeout``)."""
        return get_when_up(self.url + path, self.process, timeout)

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._stderr.close()


@contextlib.contextmanager
def launch_browser() -> Iterator:
    """A headless Chromium browser from Playwright, closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class _Page:
    """A browser page (``self.page``) that closes when its ``with`` block ends."""

    def close(self) -> None:
        self.page.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class ProjectorPage(_Page):
    """TensorBoard's Projector tab in one browser page."""

    def __init__(self, browser, url: str, width: int = 1400, height: int = 900, timeout_ms: int = 60_000):
        self.timeout_ms = timeout_ms
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.page.set_default_timeout(timeout_ms)
        self.page.goto(url + "/#projector")
        self._find_panels()

    def reload(self) -> None:
        """Reload the page, as a user does after re-running a script."""
        self.page.reload()
        self._find_panels()

    def _find_panels(self) -> None:
        self.frame = self._projector_frame()
        # The run and tensor menus have no id; the tensor menu's items carry a
        # shape ("300x784"). The run menu is left out when there is one run.
        # It comes first, so the first menu is either the run or the tensor menu.
        first = self.frame.locator("vz-projector-data-panel paper-dropdown-menu:not([id])").first
        self.tensor_menu = self.frame.locator("vz-projector-data-panel paper-dropdown-menu:not([id])").filter(
            has=self.frame.locator(".item-details"))
        self.run_menu = first.filter(has_not=self.frame.locator(".item-details"))

    def _projector_frame(self):
        for _ in range(self.timeout_ms // 200):
            frame = self.page.frame(url=re.compile("projector_binary"))
            if frame:
                return frame
            self.page.wait_for_timeout(200)
        raise TimeoutError("the Projector's iframe never appeared")

    # What the data panel says -------------------------------------------------

    def status(self) -> str:
        """The line above the scatter, e.g. ``Points: 300 | Dimension: 784``."""
        points = self.frame.get_by_text(re.compile(r"Points: \d+")).first.inner_text()
        dimension = self.frame.get_by_text(re.compile(r"Dimension: \d+")).first.inner_text()
        return f"{points.strip()} | {dimension.strip()}"

    def wait_for_status(self, expected: str) -> str:
        """Wait until the status reads ``expected``; return what it last read."""
        status = ""
        for _ in range(max(1, self.timeout_ms // 250)):
            with contextlib.suppress(Exception):
                status = self.status()
            if status == expected:
                break
            self.page.wait_for_timeout(250)
        return status

    def _menu_items(self, menu) -> list[str]:
        self.tensor_menu.wait_for(state="attached")  # the panel has loaded its lists
        if not menu.count():
            return []
        return [text.split()[0] for text in menu.locator("paper-item").all_inner_texts() if text.strip()]

    def _choose(self, menu, name: str) -> None:
        menu.click()
        menu.locator("paper-item", has_text=re.compile(rf"^\s*{re.escape(name)}(\s|$)")).first.click()
        self.page.keyboard.press("Escape")  # close the menu if the click left it open

    def runs(self) -> list[str]:
        """Names in the run dropdown ([] when there is only one run: the Projector hides it)."""
        return self._menu_items(self.run_menu)

    def tensors(self) -> list[str]:
        """Names in the tensor dropdown, e.g. ``["pixels", "pixels_tsne_2d"]``."""
        return self._menu_items(self.tensor_menu)

    def choose_run(self, run: str) -> None:
        if run in self.runs() and self.run_menu.locator("input").first.input_value() != run:
            self._choose(self.run_menu, run)

    def choose_tensor(self, tensor: str) -> None:
        if self.tensor_menu.locator("input").first.input_value() != tensor:
            self._choose(self.tensor_menu, tensor)

    def color_by(self, field: str) -> None:
        self._choose(self.frame.locator("paper-dropdown-menu#colorby"), field)
        self.page.wait_for_timeout(500)

    def label_by(self) -> str:
        """The metadata column that labels points on hover and in search ("Label by")."""
        return self.frame.locator("vz-projector-data-panel").evaluate("panel => panel.selectedLabelOption")

    def legend(self) -> dict[str, int]:
        """The colour legend shown after ``color_by``: class -> number of points."""
        labels = self.frame.locator("vz-projector-legend .item .label").all_inner_texts()
        counts = self.frame.locator("vz-projector-legend .item .info").all_inner_texts()
        return {label.strip(): int(count) for label, count in zip(labels, counts, strict=True)}

    def legend_colours(self) -> dict[str, tuple[int, int, int]]:
        """The colour legend: class -> the RGB colour its points are drawn in."""
        items = self.frame.locator("vz-projector-legend .item").evaluate_all(
            """items => items.map(item => [item.querySelector('.label').innerText.trim(),
                getComputedStyle(item.querySelector('.shape')).backgroundColor])""")
        return {label: tuple(int(v) for v in re.findall(r"\d+", colour)[:3]) for label, colour in items}

    def legend_gradient(self) -> dict:
        """A numeric column's legend: its gradient's stop colours and the values written at its two ends
        ({"stops": [], ...} when the legend shows categories instead)."""
        return self.frame.locator("vz-projector-legend").first.evaluate(
            """legend => {
                const root = legend.shadowRoot || legend;
                return {stops: [...root.querySelectorAll('#gradient stop')].map(s => s.getAttribute('stop-color')),
                        ends: [...root.querySelectorAll('.gradient-boundaries div')].map(end => end.innerText.trim()),
                        categories: root.querySelectorAll('.item').length};
            }""")

    # The bookmarks panel ------------------------------------------------------

    def bookmarks(self, wait_ms: int = 10_000) -> list[str]:
        """Names listed in the bookmarks panel, once the Projector has fetched them ([] if none came)."""
        names = self.frame.locator("vz-projector-bookmark-panel .state-row paper-textarea")
        for _ in range(max(1, wait_ms // 250)):
            if names.count():
                break
            self.page.wait_for_timeout(250)
        return names.evaluate_all("areas => areas.map(area => area.value)")

    def open_bookmark(self, name: str) -> None:
        """Click a bookmark's radio button, as a user does to restore its view."""
        row = self.bookmarks().index(name)
        self.frame.locator("vz-projector-bookmark-panel .state-row").nth(row).locator("paper-icon-button").first.click()

    def pause_tsne(self) -> None:
        """Click the T-SNE tab's Pause, which stops the Projector refining a map with its own t-SNE."""
        self.frame.get_by_role("button", name="Pause").click()

    # The inspector panel: search, and what it says about a point ------------

    def search(self, text: str) -> str:
        """Type ``text`` into the Search box, as a user does; return what the box then says ("1 matches.")."""
        box = self.frame.locator("vz-projector-inspector-panel #search-box")
        box.locator("input").press_sequentially(text, delay=20)
        message = box.get_by_text(re.compile(r"match"))
        for _ in range(40):
            if message.count():
                return message.first.inner_text().strip()
            self.page.wait_for_timeout(250)
        return ""

    def point_card(self) -> str:
        """The card at the top right of the scatter: the chosen point's name, then its metadata ("" if none)."""
        card = self.frame.locator("vz-projector-metadata-card div").first
        return card.inner_text().strip() if card.count() else ""

    def neighbours(self) -> list[str]:
        """The names in the "Nearest points in the original space" list of a selected point."""
        return [name.strip() for name in
                self.frame.locator("vz-projector-inspector-panel .nn-list .label").all_inner_texts()]

    def hover_neighbour(self, i: int) -> None:
        """Move the mouse over the ``i``-th nearest point in that list: the Projector hovers that point."""
        self.frame.locator("vz-projector-inspector-panel .nn-list .neighbor").nth(i).hover()
        self.page.wait_for_timeout(300)

    def selected_count(self) -> int:
        """How many points are selected, as the status line says ("Selected 37 points"; 0 when it says nothing)."""
        said = self.frame.get_by_text(re.compile(r"Selected \d+ points?"))
        return int(re.search(r"\d+", said.first.inner_text())[0]) if said.count() else 0

    def selection_names(self) -> list[str]:
        """The names the inspector lists for the selected points (by the Label-by column; at most 100)."""
        rows = self.frame.locator("vz-projector-inspector-panel .matches-list .row")
        return [name.strip() for name in rows.all_inner_texts()]

    def total_variance(self, timeout_ms: int = 30_000) -> float:
        """The PCA panel's "Total variance described: 26.4%." as a percentage."""
        text = ""
        for _ in range(max(1, timeout_ms // 250)):
            text = self.frame.locator("vz-projector-projections-panel #total-variance").inner_text()
            if match := re.search(r"Total variance described: ([\d.]+)%", text):
                return float(match.group(1))
            self.page.wait_for_timeout(250)
        raise AssertionError(f"no variance figure on the PCA panel: {text!r}")

    def projection_tab(self) -> str:
        """The projection tab being shown: ``pca``, ``tsne``, ``umap`` or ``custom``."""
        return self.frame.locator("vz-projector-projections-panel .ink-tab.active").get_attribute("data-tab")

    def error_message(self) -> str:
        """The text of an open error toast (e.g. a metadata/tensor mismatch), or ``""``."""
        return self.frame.locator("paper-toast#toast").evaluate("t => t.opened ? t.text : ''")

    def settle(self, ms: int = 2000) -> None:
        """Give WebGL a moment to draw after a change."""
        self.page.wait_for_timeout(ms)

    def scatter_png(self) -> bytes:
        """A screenshot of the scatter plot alone."""
        return self.frame.locator("#scatter").screenshot()


@contextlib.contextmanager
def open_projector(browser, logdir: Path, timeout_ms: int = 30_000) -> Iterator[ProjectorPage]:
    """TensorBoard serving ``logdir``, and its Projector in a new page of ``browser``; both closed on exit."""
    server = TensorBoardServer(logdir)
    try:
        server.get("/data/plugin/projector/runs")
        with ProjectorPage(browser, server.url, timeout_ms=timeout_ms) as projector:
            yield projector
    finally:
        server.close()


def shows_digit_thumbnails(png: bytes) -> bool:
    """Whether a scatter screenshot shows sprite thumbnails rather than plain dots.

    The sprite is black digits on white, so its thumbnails put neutral dark pixels
    on the canvas; the Projector's plain dots (no sprite) are coloured discs.
    A blank or single-colour canvas fails too.
    """
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    dark_neutral = (rgb.max(axis=2) < 100) & (rgb.max(axis=2) - rgb.min(axis=2) < 30)
    colours = len(np.unique(rgb.reshape(-1, 3) // 8, axis=0))
    return bool(dark_neutral.mean() > 0.002 and colours > 10)


def pixels_of_colour(png: bytes, colour: tuple[int, int, int], tolerance: int = 8) -> tuple[np.ndarray, ...]:
    """The screenshot as RGB [H, W, 3], and the (ys, xs) of its pixels within ``tolerance`` of ``colour``."""
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    return rgb, *np.nonzero(np.abs(rgb - np.array(colour)).max(axis=2) <= tolerance)


def class_centroids(png: bytes, colours: dict[str, tuple[int, int, int]]) -> dict[str, tuple]:
    """Where each class sits on a scatter screenshot: the mean (x, y) of the pixels in its legend colour.

    The Projector tints every thumbnail's background with its point's colour,
    so a class's pixels are its thumbnails. Classes with no pixel are left out.
    """
    centroids = {}
    for label, colour in colours.items():
        _, ys, xs = pixels_of_colour(png, colour)
        if len(xs):
            centroids[label] = (float(xs.mean()), float(ys.mean()))
    return centroids


def drawn_digits(png: bytes, colours: dict[str, tuple[int, int, int]],
                 templates: dict[str, np.ndarray]) -> dict[str, str]:
    """Which digit each class's thumbnails show on a scatter screenshot: class -> best-matching template.

    For a view where each class is one tight island of alike digits: the
    island is the box around the pixels in the class's legend colour, its
    dark pixels are the strokes, and ``templates`` (class -> [h, w] image,
    ink high) say which digit they draw most like. Classes with no island are left out.
    """
    drawn = {}
    for label, colour in colours.items():
        rgb, ys, xs = pixels_of_colour(png, colour)
        if not len(xs):
            continue
        # The island: the pixels near the class's middle (a stray digit elsewhere is left out).
        near = (np.abs(xs - np.median(xs)) <= 40) & (np.abs(ys - np.median(ys)) <= 40)
        if not near.any():
            continue
        ys, xs = ys[near], xs[near]
        box = rgb[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
        ink = np.asarray(Image.fromarray(((box.max(axis=2) < 100) * 255).astype(np.uint8)).resize((28, 28)), float)
        scores = {name: np.corrcoef(ink.ravel(), np.asarray(
            Image.fromarray(template.astype(np.uint8)).resize((28, 28)), float).ravel())[0, 1]
            for name, template in templates.items()}
        drawn[label] = max(scores, key=lambda name: np.nan_to_num(scores[name], nan=-1))
    return drawn


def layout_mismatch(seen: np.ndarray, expected: np.ndarray) -> float:
    """How far points ``seen`` [K, 2] are from ``expected`` [K, 2] after the best shift, rotation,
    reflection and scale: 0 for the same layout, about 1 for one unrelated to it."""
    seen, expected = seen - seen.mean(axis=0), expected - expected.mean(axis=0)
    u, singular, vt = np.linalg.svd(seen.T @ expected)
    scale = singular.sum() / (seen ** 2).sum()
    return float(np.linalg.norm(scale * seen @ (u @ vt) - expected) / np.linalg.norm(expected))


class TimeSeriesPage(_Page):
    """TensorBoard's Time Series tab (scalars and images of every run)."""

    def __init__(self, browser, url: str, width: int = 1400, height: int = 900):
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.page.goto(url + "/#timeseries")

    def card(self, tag: str, timeout_ms: int = 60_000):
        """The card of one tag (e.g. ``epoch_loss``), found through the tag filter."""
        self.page.get_by_role("combobox", name="Filter tags (regex)").fill(f"^{re.escape(tag)}$")
        card = self.page.locator("card-view").filter(
            has=self.page.locator(".heading, .tag, span", has_text=re.compile(rf"^\s*{re.escape(tag)}\s*$"))
        ).first
        card.wait_for(timeout=timeout_ms)
        return card

    def scalar_table(self, tag: str, runs: int = 1) -> dict[str, float]:
        """Run -> last value, read off the data table under a scalar card, once it lists ``runs`` runs."""
        card = self.card(tag)
        card.locator("line-chart").first.wait_for()
        rows: dict[str, float] = {}
        for _ in range(240):
            for row in card.locator("tb-data-table-content-row").all():
                cells = [cell.strip() for cell in row.locator("tb-data-table-content-cell").all_inner_texts()]
                # cells: colour dot, Run, Smoothed, Value, Step, Relative
                if len(cells) >= 4:
                    with contextlib.suppress(ValueError):
                        rows[cells[1]] = float(cells[3])
            if len(rows) >= runs:
                break
            self.page.wait_for_timeout(250)
        return rows

    def image_sizes(self, tag: str) -> list[tuple[int, int]]:
        """(width, height) of each image an image card shows, once loaded."""
        card = self.card(tag)
        images = card.locator("img")
        images.first.wait_for()
        images.first.evaluate("img => img.complete || new Promise(ok => img.addEventListener('load', ok))")
        return [tuple(img.evaluate("i => [i.naturalWidth, i.naturalHeight]")) for img in images.all()]


# The Projector's PCA, as its 2.21 bundle computes it (``projectPCA``): tensors of 50 dimensions or more are
# "sphereized" first (each vector centred on the mean, then scaled to length 1: the Sphereize data box, on by
# default only for them); past 200 dimensions the vectors are projected onto 200 fresh Gaussian random
# directions (``Math.random``, unseeded: a new draw each time the page computes it: "PCA is approximate");
# then the eigenvalues of the first 50,000 vectors' second-moment matrix. "Total variance described" is the
# share of the first components' eigenvalues in their sum.
PROJECTOR_SPHEREIZE_FROM = 50
PROJECTOR_PCA_DIMENSIONS = 200
PROJECTOR_PCA_POINTS = 50_000


def projector_variance_shares(vectors: np.ndarray, components: int = 3, draws: int = 200,
                              seed: int = 0) -> np.ndarray:
    """The share of variance the Projector's PCA panel reports for ``components`` components, for ``draws``
    random projections as it draws them (one value when no projection is drawn: 200 dimensions or fewer).
    The Projector draws the points from a shuffle; here the first 50,000 are taken, the same for fewer."""
    values = np.asarray(vectors, np.float64)[:PROJECTOR_PCA_POINTS]
    if values.shape[1] >= PROJECTOR_SPHEREIZE_FROM:
        values = values - values.mean(axis=0)
        lengths = np.linalg.norm(values, axis=1, keepdims=True)
        values = values / np.where(lengths > 0, lengths, 1)
    rng, shares = np.random.default_rng(seed), []
    for _ in range(draws if values.shape[1] > PROJECTOR_PCA_DIMENSIONS else 1):
        projected = (values @ rng.normal(size=(values.shape[1], PROJECTOR_PCA_DIMENSIONS))
                     if values.shape[1] > PROJECTOR_PCA_DIMENSIONS else values)
        eigenvalues = np.sort(np.linalg.eigvalsh(projected.T @ projected / len(projected)))[::-1]
        shares.append(eigenvalues[:components].sum() / eigenvalues.sum())
    return np.array(shares)
