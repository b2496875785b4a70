"""The sandbox's pictures for every mode: deterministic, each with a small SANDBOX mark.

Same inputs, same pixels: every random choice is seeded from a hash of the inputs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

from mjstudio.api.contract import parse_aspect
from mjstudio.sandbox.art import (
    Look,
    digest,
    look_for,
    motifs_for,
    palette_lut,
    render_art,
    rng_for,
    seed_of,
)

LONG_SIDE = 1024
MARK_TEXT = "SANDBOX"
LANCZOS = Image.Resampling.LANCZOS
Area = tuple[int, int, Sequence[int]]


@dataclass(frozen=True)
class Style:
    """The enhancement knobs that change how a picture is finished."""

    chaos: int = 0
    stylize: int = 100
    weird: int = 0
    version: str = "v6.1"


def size_for_aspect(aspect: str, long_side: int = LONG_SIDE) -> tuple[int, int]:
    """Pixel size for ``"W:H"`` with the long side ``long_side``."""
    w, h = parse_aspect(aspect)
    if w >= h:
        return long_side, max(1, round(long_side * h / w))
    return max(1, round(long_side * w / h)), long_side


# --------------------------------------------------------------------------- finishing


def displace(img: Image.Image, amp: float, rng: np.random.Generator, turns: float) -> Image.Image:
    """Warp an image with sine displacements of ``amp`` pixels (rows and columns)."""
    if amp < 0.5:
        return img
    arr = np.asarray(img)
    h, w = arr.shape[:2]
    fy, fx = rng.uniform(1, 1 + turns, 2)
    py, px = rng.uniform(0, 2 * math.pi, 2)
    ys, xs = np.arange(h), np.arange(w)
    dx = np.rint(amp * np.sin(2 * math.pi * fy * ys / h + py)).astype(np.int64)
    dy = np.rint(amp * np.sin(2 * math.pi * fx * xs / w + px)).astype(np.int64)
    src_x = np.clip(xs[None, :] + dx[:, None], 0, w - 1)
    src_y = np.clip(ys[:, None] + dy[None, :], 0, h - 1)
    return Image.fromarray(arr[src_y, src_x])


def apply_weird(img: Image.Image, weird: int, rng: np.random.Generator) -> Image.Image:
    """Surreal touches: warps that grow with weird, colour inversion of a disc past 1000."""
    if weird <= 0:
        return img
    t = weird / 3000
    img = displace(img, (0.012 + 0.08 * t) * min(img.size), rng, 2 + 8 * t)
    if weird > 1000:
        w, h = img.size
        r = min(w, h) * (0.15 + 0.2 * t)
        cx, cy = rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h
        disc = Image.new("L", img.size, 0)
        ImageDraw.Draw(disc).ellipse((cx - r, cy - r, cx + r, cy + r), fill=255)
        img.paste(ImageOps.invert(img), mask=disc)
    return img


GRAIN_SIGMA = 16  # grey levels of the cached grain texture, scaled down per picture


@lru_cache(maxsize=4)
def _grain_texture(size: tuple[int, int]) -> np.ndarray:
    """A fixed field of monochrome noise for pictures of ``size``: 128 + N(0, GRAIN_SIGMA)."""
    noise = np.random.default_rng(0x6A41).standard_normal((size[1], size[0]), dtype=np.float32)
    return np.rint(128 + GRAIN_SIGMA * noise).clip(0, 255).astype(np.uint8)


def add_grain(img: Image.Image, amount: float, rng: np.random.Generator) -> Image.Image:
    """Add monochrome film grain of ``amount`` grey levels: the size's cached noise texture,
    shifted by a seeded offset and scaled, added in one Pillow pass."""
    if amount < 0.5:
        return img
    w, h = img.size
    shift = (int(rng.integers(h)), int(rng.integers(w)))
    grain = Image.fromarray(np.roll(_grain_texture(img.size), shift, axis=(0, 1)), mode="L")
    scale = amount / GRAIN_SIGMA
    grain = grain.point([min(255, max(0, round(128 + (v - 128) * scale))) for v in range(256)])
    bands = len(img.getbands())
    return ImageChops.add(img, Image.merge(img.mode, [grain] * bands), 1.0, -128)


def _blur(img: Image.Image, radius: float) -> Image.Image:
    """A Gaussian blur; under a pixel as one 3x3 kernel pass (a third of Pillow's time)."""
    if radius >= 0.8:
        return img.filter(ImageFilter.GaussianBlur(radius))
    return img.filter(_small_kernel(round(radius, 3)))


@lru_cache(maxsize=16)
def _small_kernel(sigma: float) -> ImageFilter.Kernel:
    taps = np.exp(-(np.arange(-1, 2) ** 2) / (2 * sigma * sigma))
    weights = np.outer(taps, taps) / np.outer(taps, taps).sum()
    return ImageFilter.Kernel((3, 3), weights.ravel().tolist(), scale=1)


def apply_stylize(img: Image.Image, stylize: int, rng: np.random.Generator) -> Image.Image:
    """Low stylize: literal with film grain; high: smoothed, posterised and saturated."""
    s = stylize / 1000
    img = _blur(img, 0.3 + 3.5 * s)
    bits = 8 - round(4 * s)
    if bits < 8:
        img = ImageOps.posterize(img, bits)
    return ImageEnhance.Color(img).enhance(0.85 + 0.7 * s)


def apply_version(img: Image.Image, version: str) -> Image.Image:
    """niji: flat cel shading with ink lines; v7 sharper; v6 a little softer."""
    if version.startswith("niji"):
        flat = ImageOps.posterize(img.filter(ImageFilter.BoxBlur(1.5)), 3)
        flat = ImageEnhance.Color(flat).enhance(1.35 if version.endswith("7") else 1.15)
        edges = flat.convert("L").filter(ImageFilter.FIND_EDGES)
        flat.paste((24, 20, 32), mask=edges.point(lambda v: 255 if v > 40 else 0))
        return flat
    if version == "v7":
        return img.filter(ImageFilter.UnsharpMask(radius=2, percent=160, threshold=1))
    if version == "v6":
        return img.filter(ImageFilter.GaussianBlur(0.8))
    return img


def finish(img: Image.Image, style: Style, rng: np.random.Generator) -> Image.Image:
    """Weird, stylize and version applied in turn; grain for literal (low-stylize) pictures."""
    img = apply_weird(img, style.weird, rng)
    img = apply_version(apply_stylize(img, style.stylize, rng), style.version)
    if style.version.startswith("niji"):
        return img
    return add_grain(img, max(0.0, 0.25 - style.stylize / 1000) * 40, rng)


# --------------------------------------------------------------------------- the mark


@lru_cache(maxsize=32)
def _font(px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=px)


def mark_box(size: tuple[int, int]) -> tuple[int, int]:
    """Width and height of the SANDBOX mark on an image of ``size``."""
    px = max(9, round(min(size) * 0.022))
    left, top, right, bottom = _font(px).getbbox(MARK_TEXT)
    pad = max(2, px // 4)
    return int(right - left) + 2 * pad, int(bottom - top) + 2 * pad


def draw_mark(img: Image.Image, at: tuple[int, int] | None = None) -> Image.Image:
    """Draw the SANDBOX mark at ``at`` (top-left), by default near the bottom-right corner."""
    w, h = img.size
    mw, mh = mark_box(img.size)
    px = max(9, round(min(img.size) * 0.022))
    margin = max(2, px // 2)
    x, y = at if at is not None else (max(0, w - mw - margin), max(0, h - mh - margin))
    draw = ImageDraw.Draw(img, "RGBA")
    draw.rectangle((x, y, x + mw - 1, y + mh - 1), fill=(0, 0, 0, 150))
    left, top, _, _ = _font(px).getbbox(MARK_TEXT)
    pad = max(2, px // 4)
    draw.text((x + pad - left, y + pad - top), MARK_TEXT, font=_font(px), fill=(255, 255, 255))
    return img


def mark_inside(img: Image.Image, allowed: np.ndarray) -> Image.Image:
    """Draw the mark where its box lies wholly inside ``allowed``; skip it when none does."""
    mw, mh = mark_box(img.size)
    h, w = allowed.shape
    if mw > w or mh > h:
        return img
    sat = np.zeros((h + 1, w + 1), dtype=np.int64)
    sat[1:, 1:] = allowed.astype(np.int64).cumsum(0).cumsum(1)
    window = sat[mh:, mw:] - sat[:-mh, mw:] - sat[mh:, :-mw] + sat[:-mh, :-mw]
    ys, xs = np.nonzero(window == mw * mh)
    if not len(ys):
        return img
    best = int(np.argmax(ys + xs))
    return draw_mark(img, (int(xs[best]), int(ys[best])))


# --------------------------------------------------------------------------- modes


def text_to_image(prompt: str, aspect: str = "1:1", style: Style = Style()) -> list[Image.Image]:
    """Four distinct pictures of the prompt, sized by aspect and shaped by the style."""
    look, size = look_for(prompt), size_for_aspect(aspect)
    out = []
    for i in range(4):
        art = render_art(look, size, i, style.chaos)
        out.append(draw_mark(finish(art, style, rng_for("t2i", look.seed, i, style))))
    return out


def _crop_box(
    src: tuple[int, int], size: tuple[int, int], zoom: float, centre: tuple[float, float]
) -> tuple[float, float, float, float]:
    sw, sh = src
    ratio = size[0] / size[1]
    cw, ch = (sw, sw / ratio) if sw / sh < ratio else (sh * ratio, sh)
    cw, ch = cw / zoom, ch / zoom
    x = min(max(centre[0] * sw - cw / 2, 0), sw - cw)
    y = min(max(centre[1] * sh - ch / 2, 0), sh - ch)
    return (x, y, x + cw, y + ch)


def tint(img: Image.Image, look: Look, amount: float, hue: float = 0.0) -> Image.Image:
    """Blend the image with a gradient map of itself through the look's palette."""
    lut = palette_lut(look.palette, hue)
    mapped = Image.fromarray(lut[np.asarray(img.convert("L"))], mode="RGB")
    return Image.blend(img, mapped, amount)


def image_to_image(
    prompt: str, refs: Sequence[Image.Image], aspect: str = "1:1", style: Style = Style()
) -> list[Image.Image]:
    """Four pictures derived from the first reference (cropped to aspect, prompt-tinted)."""
    look, size = look_for(prompt), size_for_aspect(aspect)
    base = refs[0].convert("RGB")
    extras = [ImageOps.fit(r.convert("RGB"), size, LANCZOS) for r in refs[1:]]
    key = [digest(r) for r in refs]
    j = 0.2 + 0.8 * style.chaos / 100
    out = []
    for i in range(4):
        rng = rng_for("i2i", key, look.seed, i, style)
        zoom = 1 + (0.03 + 0.12 * j) * rng.random()
        centre = (0.5 + 0.1 * j * rng.uniform(-1, 1), 0.5 + 0.1 * j * rng.uniform(-1, 1))
        img = base.resize(size, LANCZOS, box=_crop_box(base.size, size, zoom, centre))
        for extra in extras:
            img = Image.blend(img, extra, 0.2 / len(extras))
        img = tint(img, look, 0.32 + 0.2 * j, (0.03 + 0.2 * j) * rng.uniform(-1, 1))
        out.append(draw_mark(finish(img, style, rng)))
    return out


def mask_from_areas(areas: Sequence[Area], size: tuple[int, int]) -> Image.Image:
    """Rasterise polygons (points in pixels of a width x height image) onto ``size``."""
    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask)
    for aw, ah, points in areas:
        sx, sy = size[0] / aw, size[1] / ah
        xy = [(points[k] * sx, points[k + 1] * sy) for k in range(0, len(points) - 1, 2)]
        draw.polygon(xy, fill=255, outline=255)
    return mask


def mask_from_image(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    """A black-and-white mask image (white = regenerate) as a 0/255 mask of ``size``."""
    grey = img.convert("L")
    if grey.size != size:
        grey = grey.resize(size, Image.Resampling.NEAREST)
    return grey.point(lambda v: 255 if v > 127 else 0)


def _placement(source: Image.Image, mask: Image.Image, canvas, img_pos):
    sw, sh = source.size
    cw, ch = canvas or (sw, sh)
    x, y, pw, ph = img_pos or ((cw - sw) // 2, (ch - sh) // 2, sw, sh)
    placed_src = source if (pw, ph) == (sw, sh) else source.resize((pw, ph), LANCZOS)
    placed = Image.new("RGB", (cw, ch))
    placed.paste(placed_src, (x, y))
    regen = Image.new("L", (cw, ch), 255)
    regen.paste(mask.resize((pw, ph), Image.Resampling.NEAREST), (x, y))
    return placed, np.asarray(regen) > 127


def paint(
    prompt: str,
    source: Image.Image,
    mask: Image.Image,
    canvas: tuple[int, int] | None = None,
    img_pos: tuple[int, int, int, int] | None = None,
    style: Style = Style(),
) -> list[Image.Image]:
    """Four inpaintings: unmasked source pixels kept exactly, the rest regenerated."""
    source = source.convert("RGB")
    placed, regen = _placement(source, mask, canvas, img_pos)
    look = look_for(prompt)
    context = placed.filter(ImageFilter.GaussianBlur(max(placed.size) / 40))
    key = (digest(source), digest(mask), look.seed, canvas, img_pos, style)
    keep = np.asarray(placed)
    out = []
    for i in range(4):
        art = render_art(look, placed.size, i, style.chaos)
        art = Image.blend(finish(art, style, rng_for("paint", key, i)), context, 0.3)
        art = np.asarray(mark_inside(art, regen))
        out.append(Image.fromarray(np.where(regen[..., None], art, keep)))
    return out


def palette_of(img: Image.Image, colours: int = 5) -> tuple[tuple[int, int, int], ...]:
    """The image's main colours, dark to light."""
    small = img.convert("RGB").resize((64, 64), Image.Resampling.BILINEAR)
    pal = small.quantize(colours, method=Image.Quantize.MEDIANCUT).getpalette() or []
    found = [tuple(pal[k : k + 3]) for k in range(0, 3 * colours, 3)]
    return tuple(sorted(found, key=lambda c: sum(c)))  # type: ignore[arg-type]


SUBTLE_SHARE = 0.6  # Subtle moves at most this share of the way to the nearest grid sibling


def _distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float32) - b.astype(np.float32)).mean())


def _soft_blur(size: tuple[int, int]) -> ImageFilter.GaussianBlur:
    return ImageFilter.GaussianBlur(max(size) / 48)


def _subtle_base(base: Image.Image, siblings: Sequence[Image.Image]) -> tuple:
    """What every Subtle variation of ``base`` shares, worked out once for the four: its
    pixels, its softened pixels and how far its nearest sibling in the grid is."""
    keep = np.asarray(base, dtype=np.float32)
    near = [_distance(np.asarray(s.convert("RGB").resize(base.size)), keep) for s in siblings]
    soft = np.asarray(base.filter(_soft_blur(base.size)), np.float32)
    return base, keep, soft, min(near, default=math.inf)


def subtle_change(shared: tuple, art: Image.Image, rng: np.random.Generator) -> Image.Image:
    """The source with a soft, low-frequency change; kept nearer than its nearest sibling."""
    base, keep, soft, nearest = shared
    warped = np.asarray(displace(base, 0.001 * min(base.size), rng, 1.5), dtype=np.float32)
    drift = np.asarray(art.filter(_soft_blur(base.size)), np.float32) - soft
    delta = warped - keep + 0.08 * drift
    limit = SUBTLE_SHARE * nearest
    moved = float(np.abs(delta).mean())
    if moved > limit:
        delta *= limit / moved
    return Image.fromarray(np.rint(keep + delta).clip(0, 255).astype(np.uint8))


def vary(
    parent: Image.Image,
    kind: int = 0,
    prompt: str | None = None,
    siblings: Sequence[Image.Image] = (),
) -> list[Image.Image]:
    """Four variations: kind 0 subtle (nearer than ``siblings``), kind 1 strong; a remix
    prompt tints toward its colours."""
    base = parent.convert("RGB")
    if max(base.size) > LONG_SIDE:
        base = ImageOps.contain(base, (LONG_SIDE, LONG_SIDE), LANCZOS)
    seed = seed_of("vary", digest(base))
    remix = look_for(prompt) if prompt else None
    look = remix or Look(palette_of(base), motifs_for([], seed), seed)
    shared = _subtle_base(base, siblings) if kind == 0 else None
    out = []
    for i in range(4):
        rng = rng_for("vary", seed, kind, prompt, i)
        if shared is not None:
            img = subtle_change(shared, render_art(look, base.size, i, 12), rng)
        else:
            img = displace(base, 0.025 * min(base.size), rng, 3.0)
            centre = (0.5 + 0.1 * rng.uniform(-1, 1), 0.5 + 0.1 * rng.uniform(-1, 1))
            img = img.resize(img.size, LANCZOS, box=_crop_box(img.size, img.size, 1.12, centre))
            img = Image.blend(img, render_art(look, base.size, i, 50), 0.25)
        if remix:
            img = tint(img, remix, 0.35)
        out.append(draw_mark(img))
    return out


def upscale(parent: Image.Image, kind: int = 0) -> Image.Image:
    """One image 2x (kinds 0-2) or 4x (kind 3): 0 Lanczos, 1 creative detail, 2 plain."""
    base = parent.convert("RGB")
    factor = 4 if kind == 3 else 2
    size = (base.width * factor, base.height * factor)
    if kind == 2:
        return draw_mark(base.resize(size, Image.Resampling.BICUBIC))
    img = base.resize(size, LANCZOS)
    if kind == 1:
        img = img.filter(ImageFilter.UnsharpMask(radius=2, percent=180, threshold=1))
        img = add_grain(img, 4.0, rng_for("upscale", digest(base)))
    return draw_mark(img)
