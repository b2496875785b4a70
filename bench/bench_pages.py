"""Page figures, measured with Streamlit's AppTest in this process (no browser).

- the Imagine page rerun with 10,000 tasks stored vs an empty store, and vs a store holding only
  the tasks the feed shows (components/feed.py SEED_RECENT: the same page, what the history
  itself costs);
- the History page rerun with 10,000 tasks vs an empty store, and vs ten stored tasks;
- the image bytes a browser gets to show one finished grid (the links a board row carries) vs
  the full-size files;
- the live refresh while one task runs: elements and CPU per refresh with 4 finished cards in the
  feed vs the running card alone, and a whole-feed redraw for comparison.

    .venv/bin/python bench/bench_pages.py [--quick]
"""

from __future__ import annotations

import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image  # noqa: E402
from streamlit.runtime.pages_manager import PagesManager  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from bench import synthetic  # noqa: E402
from bench.table import Row, command_line, ratio  # noqa: E402
from components import feed, services  # noqa: E402
from mjstudio import images  # noqa: E402
from mjstudio.sandbox.imaging import text_to_image  # noqa: E402
from mjstudio.tasks.downloads import save_results  # noqa: E402
from mjstudio.tasks.record import RecordState, TaskRecord  # noqa: E402
from mjstudio.tasks.service import Studio  # noqa: E402
from mjstudio.tasks.store import TaskStore  # noqa: E402
from tests.pages import probes  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HISTORY = "pages/history.py"
GRID_KB = 150


# --------------------------------------------------------------------------- set-up


@contextmanager
def framed() -> Iterator[None]:
    """Pages run inside frame.py, as the server runs them (see tests/pages/conftest.py)."""
    original = PagesManager.__init__

    def without_pages_folder(self, *args, **kwargs) -> None:
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    PagesManager.__init__ = without_pages_folder
    try:
        yield
    finally:
        PagesManager.__init__ = original


def use(folder: Path) -> None:
    """Point the studio's settings at a data folder (they are read once per process)."""
    for name in ("MJ_API_KEY", "MJ_BASE_URL", "MJSTUDIO_PUBLIC_URL"):
        os.environ.pop(name, None)
    os.environ["MJSTUDIO_DATA_DIR"] = str(folder)
    services.settings.clear()


def opened(folder: Path, page: str | None = None) -> AppTest:
    """A session on a page, after its first run (the feed seeded)."""
    use(folder)
    at = AppTest.from_file(str(ROOT / "frame.py"), default_timeout=60)
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    if at.exception:
        raise RuntimeError(at.exception[0].message)
    return at


def rerun_medians(sessions: dict[str, tuple[Path, AppTest]], runs: int) -> dict[str, float]:
    """Median rerun time (ms) of each session, the sessions taking turns (same conditions)."""
    took: dict[str, list[float]] = {name: [] for name in sessions}
    for _ in range(runs):
        for name, (folder, at) in sessions.items():
            use(folder)
            began = time.perf_counter()
            at.run()
            took[name].append((time.perf_counter() - began) * 1000)
    return {name: statistics.median(values) for name, values in took.items()}


def _png(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, "PNG", compress_level=1)
    return out.getvalue()


def add_record(store: TaskStore, workspace: str, **fields) -> TaskRecord:
    """A text-to-image task as the studio stores it (not due for an hour)."""
    request = {"input": {"mode": "text-to-image", "prompt": "a red fox", "speed": "fast"}}
    fields.setdefault("next_poll_at", time.time() + 3600)
    fields.setdefault("expected_s", 40.0)
    return store.add(TaskRecord.new(workspace, request, **fields))


def grid(folder: Path, prompt: str = "a red fox in the snow") -> TaskRecord:
    """A finished task whose sandbox-made results were stored as the tracker stores them."""
    store, workspace = TaskStore.open(folder), synthetic.sandbox_workspace(folder)
    record = add_record(store, workspace, state=RecordState.SUCCESS, task_id=f"t-{prompt}")
    blobs = [_png(img) for img in text_to_image(prompt)]
    files, thumbs = save_results(store, record, [("png", b, images.thumbnail(b)) for b in blobs])
    return store.update(record.id, files=files, thumbs=thumbs, downloaded=True)


# --------------------------------------------------------------------------- figures


def page_reruns(root: Path, count: int, runs: int) -> dict[str, float]:
    """Imagine and History rerun medians: a long history, an empty store, the same cards."""
    full, empty = root / "full", root / "empty"
    synthetic.fill(full, count)
    empty.mkdir()
    four, ten = root / "four", root / "ten"
    synthetic.fill(four, feed.SEED_RECENT)  # the board a new session shows
    synthetic.fill(ten, 10)
    shown = (("full", full), ("empty", empty), ("four", four))
    imagine = {name: (folder, opened(folder)) for name, folder in shown}
    shown = (("full", full), ("empty", empty), ("ten", ten))
    history = {name: (folder, opened(folder, HISTORY)) for name, folder in shown}
    found = {f"imagine {k}": v for k, v in rerun_medians(imagine, runs).items()}
    found |= {f"history {k}": v for k, v in rerun_medians(history, runs).items()}
    return found


def grid_bytes(root: Path) -> tuple[int, int, int]:
    """(image bytes a browser gets to show one finished grid, the full-size files' bytes, images
    encoded by a rerun)."""
    folder = root / "grid"
    record = grid(folder)
    store = TaskStore.open(folder)
    with probes.media() as media:
        at = opened(folder)
        with probes.encodes() as encoded:
            use(folder)
            at.run()
    card = probes.block(at, f"card-text-to-image-{record.id}")
    sent = sum(len(media.content(url)[0]) for url in probes.image_urls(card))
    full = sum(store.abspath(rel).stat().st_size for rel in record.files)
    return sent, full, len(encoded)


def live_feed(root: Path, finished: int) -> tuple[AppTest, str]:
    """An open feed with one running task and ``finished`` cards, and its live fragment's id."""
    folder = root / f"live-{finished}"
    for n in range(finished):
        grid(folder, f"a finished fox {n}")
    store, workspace = TaskStore.open(folder), synthetic.sandbox_workspace(folder)
    now = time.time()  # older than the finished ones: a new session's feed shows all of them
    add_record(store, workspace, state=RecordState.PROCESSING, task_id="t-run",
               submitted_at=now, created_at=now - 600)  # fmt: skip
    with probes.fragments() as seen:
        at = opened(folder)
    return at, seen.timers[0][0]


def refresh_work(root: Path, finished: int, ticks: int) -> tuple[float, float]:
    """(elements, CPU ms) per refresh of the live feed, one running task and ``finished``
    cards: the median CPU of a refresh (the process's other threads, trackers and
    housekeeping, add bursts to some refreshes)."""
    at, fragment = live_feed(root, finished)
    elements, cpu = 0, []
    for _ in range(ticks):
        began = time.process_time()
        probes.tick(at, fragment)
        cpu.append((time.process_time() - began) * 1000)
        elements += probes.count_elements(at)
    return elements / ticks, statistics.median(cpu)


def whole_feed_elements(root: Path) -> int:
    """Elements a full run of the feed sends with one running task and 4 finished cards (what
    a timer over the whole feed would redraw on every tick), less those of an empty page."""
    at, bare = opened(root / "live-4"), opened(root / "empty")
    return probes.count_elements(at) - probes.count_elements(bare)


# --------------------------------------------------------------------------- the table


def rows(quick: bool = False) -> list[Row]:
    """Every figure of this module, with its same-run reference."""
    count, runs, ticks = (1_000, 5, 10) if quick else (10_000, 15, 30)
    with tempfile.TemporaryDirectory(prefix="mj-bench-pages-") as tmp, ExitStack() as stack:
        stack.enter_context(framed())
        root = Path(tmp)
        try:
            reruns = page_reruns(root, count, runs)
            sent, full, encoded = grid_bytes(root)
            alone, four = refresh_work(root, 0, ticks), refresh_work(root, 4, ticks)
            whole = whole_feed_elements(root)
        finally:
            for folder in root.iterdir():
                Studio.forget(folder)
    return [
        *_rerun_rows(reruns, count),
        _grid_row(sent, full, encoded),
        *_refresh_rows(alone, four, whole),
    ]


def _rerun_rows(found: dict[str, float], count: int) -> list[Row]:
    n, made = f"{count:,}", []
    for page, same in (("imagine", "four"), ("history", "ten")):
        full, empty, like = found[f"{page} full"], found[f"{page} empty"], found[f"{page} {same}"]
        title = page.capitalize()
        cards = f"{feed.SEED_RECENT} feed rows" if page == "imagine" else "10 history rows"
        made.append(Row(
            f"{title} rerun (AppTest), {n} tasks vs the same {cards} from a small store",
            f"{full:.0f} ms ({ratio(full, like):.2f}x)", "≤ 150 ms and ≤ 1.5x",
            f"{like:.0f} ms", full <= 150 and ratio(full, like) <= 1.5,
        ))  # fmt: skip
        made.append(Row(
            f"{title} rerun (AppTest), {n} tasks vs an empty store (which shows no cards)",
            f"{full:.0f} ms ({ratio(full, empty):.1f}x)", "≤ 150 ms and ≤ 1.5x empty",
            f"{empty:.0f} ms", full <= 150 and ratio(full, empty) <= 1.5,
        ))  # fmt: skip
    return made


def _grid_row(sent: int, full: int, encoded: int) -> Row:
    return Row(
        "image bytes sent to show one finished grid (the row's thumbnail links)",
        f"{sent / 1000:.0f} KB, {encoded} images encoded per rerun",
        f"≤ {GRID_KB} KB, encoded once",
        f"{full / 1000:,.0f} KB: the full-size files",
        sent <= GRID_KB * 1000 and encoded == 0,
    )


def _refresh_rows(alone: tuple[float, float], four: tuple[float, float], whole: int) -> list[Row]:
    (el_alone, cpu_alone), (el_four, cpu_four) = alone, four
    # the CPU of one refresh is a few ms: a 1 ms margin counts as equal (timer resolution, noise)
    cpu_met = cpu_four <= 1.2 * cpu_alone + 1.0
    return [
        Row(
            "elements redrawn per live refresh, 1 task running + 4 finished cards",
            f"{el_four:.0f} ({ratio(el_four, el_alone):.2f}x)",
            "≤ 1.2x the running card alone",
            f"{el_alone:.0f} alone; {whole} for a whole-feed redraw",
            el_four <= 1.2 * el_alone,
        ),
        Row(
            "CPU per live refresh (every 0.3 s), 1 task running + 4 finished cards, median",
            f"{cpu_four:.1f} ms ({ratio(cpu_four, cpu_alone):.2f}x)",
            "≤ 1.2x the running card alone, + 1 ms for timer noise",
            f"{cpu_alone:.1f} ms alone",
            cpu_met,
        ),
    ]


def main() -> None:
    """Command line: print this module's table."""
    command_line(rows, __doc__.splitlines()[0], "1,000 tasks, fewer runs")


if __name__ == "__main__":
    main()
    os._exit(0)  # the studio's tracker and sandbox threads are daemons: don't wait on them
