"""Paint's intake: the source turned upright once (EXIF), a small copy on the canvas, memory kept
bounded for a huge upload, and a resized source that fits the provider's 10 MB (issue 8)."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from components import image_picker, mask_canvas, services
from mjstudio import images
from mjstudio.mask.geometry import Fit, build_mask, send_fit
from mjstudio.mask.sizing import plan_source
from mjstudio.tasks.service import Studio
from tests.mask.kit import rect_tool

ROOT = Path(__file__).resolve().parents[2]
BLUE, RED = (20, 40, 220), (200, 30, 30)


def turned_photo(size=(1200, 800), orientation=6) -> bytes:
    """A JPEG stored sideways: a blue block at its stored top-left, EXIF saying how to turn it."""
    img = Image.new("RGB", size, RED)
    img.paste(BLUE, (0, 0, 300, 200))
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    img.save(out, "JPEG", quality=95, exif=exif.tobytes())
    return out.getvalue()


def prepared(data: bytes) -> mask_canvas.Source:
    """The Paint page's source for these bytes, as load_source makes it."""
    return mask_canvas._prepared(hashlib.sha1(data).hexdigest(), data)


def decoded(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def test_an_orientation_6_photo_is_painted_and_masked_upright() -> None:
    data = turned_photo()
    assert images.image_size(data) == (1200, 800)  # as stored: sideways
    source = prepared(data)
    assert (source.width, source.height) == (800, 1200) and source.turned
    shown = decoded(source.background)
    assert shown.size == (800, 1200) and shown.getexif().get(0x0112) in (None, 1)
    # turned clockwise, the stored top-left block is at the upright top-right: x 600-800, y 0-300
    assert shown.getpixel((700, 150))[2] > 180 and shown.getpixel((100, 150))[0] > 160
    canvas = mask_canvas.display_size(source.width, source.height)
    fit = Fit.resolve(None, *canvas, source.width, source.height)
    s = canvas[0] / source.width
    result = build_mask([rect_tool(600 * s, 0, 200 * s, 300 * s)], fit)
    area = result.areas[0]
    assert (area["width"], area["height"]) == (800, 1200)
    xs, ys = area["points"][0::2], area["points"][1::2]
    assert (min(xs), min(ys), max(xs), max(ys)) == pytest.approx((600, 0, 800, 300), abs=2)
    url = mask_canvas.send_url("data:,x", source, plan_source(800, 1200))
    sent = decoded(images.data_url_bytes(url))
    assert sent.size == (800, 1200) and sent.getpixel((700, 150))[2] > 180


@pytest.mark.parametrize("orientation", [3, 5, 8])
def test_every_turn_gives_the_upright_size(orientation: int) -> None:
    source = prepared(turned_photo((600, 400), orientation))
    assert (source.width, source.height) == ((600, 400) if orientation == 3 else (400, 600))


def test_an_upright_image_is_kept_as_it_is() -> None:
    data = turned_photo(orientation=1)
    source = prepared(data)
    assert source.data is data and not source.turned and source.background is data
    assert mask_canvas.send_url("https://x.example/a.jpg", source, plan_source(1200, 800)) == (
        "https://x.example/a.jpg"
    )


def test_a_large_photo_is_shown_from_a_small_copy_and_sent_under_10_mb() -> None:
    rng = np.random.default_rng(8)
    photo = Image.fromarray(rng.integers(0, 256, (4000, 6000, 3), dtype=np.uint8))
    data = images.encode_to_fit(photo, 30_000_000)[0]  # a noisy 6000x4000 photo
    source = prepared(data)
    assert (source.width, source.height) == (6000, 4000)
    assert max(images.image_size(source.background)) <= mask_canvas.SHOWN_SIDE
    assert len(source.background) <= 2_000_000
    plan = plan_source(6000, 4000)
    assert plan.send_size == (4096, 2731)
    url = mask_canvas.send_url("data:,x", source, plan)
    sent = images.data_url_bytes(url)
    assert len(sent) <= images.MAX_UPLOAD_BYTES, f"{len(sent):,} bytes"
    assert images.image_size(sent) == (4096, 2731)
    # the canvas reports the small copy's size: the mask is still in the sent image's pixels
    shown_w, shown_h = images.image_size(source.background)
    reported = {"natural_width": shown_w, "natural_height": shown_h, "scale_x": 760 / shown_w}
    reported |= {"scale_y": 507 / shown_h, "offset_x": 0, "offset_y": 0}
    fit = send_fit(Fit.resolve(reported, 760, 507, 6000, 4000), plan)
    area = build_mask([rect_tool(380, 0, 380, 507)], fit).areas[0]
    assert (area["width"], area["height"]) == (4096, 2731)
    assert max(area["points"][0::2]) == 4096 and min(area["points"][0::2]) == pytest.approx(
        2048, abs=8
    )


MEASURE = textwrap.dedent(
    """
    import hashlib, json, re, sys
    from pathlib import Path
    data = Path(sys.argv[1]).read_bytes()
    from components import mask_canvas
    from mjstudio import images
    from mjstudio.mask.geometry import Fit, build_mask, send_fit
    from mjstudio.mask.sizing import plan_source
    from tests.mask.kit import rect_tool
    def peak():  # this process's peak resident memory, MB (not inherited across exec)
        status = Path("/proc/self/status").read_text()
        return int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) / 1024
    before = peak()
    source = mask_canvas._prepared(hashlib.sha1(data).hexdigest(), data)
    canvas = mask_canvas.display_size(source.width, source.height)
    fit = Fit.resolve(None, *canvas, source.width, source.height)
    plan = plan_source(source.width, source.height)
    result = build_mask([rect_tool(50, 50, 200, 100)], send_fit(fit, plan))
    preview = mask_canvas.preview(source, result)
    print(json.dumps({"before": before, "after": peak(), "size": images.image_size(preview)}))
    """
)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM (Linux)")
def test_preparing_the_canvas_for_an_8900px_upload_keeps_memory_bounded(tmp_path: Path) -> None:
    """Peak memory (RSS, in a fresh process) of the canvas and preview for an 8900x8900 PNG."""
    grey = Image.linear_gradient("L").resize((8900, 8900))
    path = tmp_path / "huge.png"
    Image.merge("RGB", (grey, grey.transpose(Image.Transpose.ROTATE_90), grey)).save(path)
    del grey
    run = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    got = json.loads(run.stdout.strip().splitlines()[-1])
    grew = got["after"] - got["before"]
    print(f"\npreparing an 8900x8900 PNG for the canvas: +{grew:.0f} MB peak RSS")
    assert max(got["size"]) <= mask_canvas.PREVIEW_SIDE
    assert grew < 600, f"+{grew:.0f} MB"  # one full decode (~300 MB); the old way took +1.5 GB


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A studio whose provider can reach it (MJSTUDIO_PUBLIC_URL): links are offered."""
    monkeypatch.setenv("MJSTUDIO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MJSTUDIO_PUBLIC_URL", "https://studio.example")
    services.settings.clear()
    image_picker._stored.clear()
    yield tmp_path / "uploads"
    services.settings.clear()
    image_picker._stored.clear()
    Studio.forget(tmp_path)


def test_a_served_link_is_stored_once_per_image_and_only_when_sent(served: Path) -> None:
    data = turned_photo(orientation=1)
    digest = hashlib.sha1(data).hexdigest()

    def picked() -> image_picker.Picked:  # what a session's picker returns on each run
        return image_picker.Picked("", data, "a.jpg", digest, "image/jpeg", link=True)

    first = [picked() for _ in range(3)]  # picked, and the page rerun twice
    assert not served.exists() or not any(served.iterdir()), "stored before it was needed"
    url = first[0].url  # Generate: the request needs the link
    assert url.startswith("https://studio.example/api/uploads/") and url.endswith(".jpg")
    assert picked().url == url and first[2].url == url  # another run, another session
    assert len(list(served.iterdir())) == 1
    for stored in served.iterdir():
        stored.unlink()  # pruned meanwhile: stored again when sent again
    again = picked().url
    assert again != url and len(list(served.iterdir())) == 1
