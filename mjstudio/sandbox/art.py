"""Prompt-driven pictures: a palette from colour words, motifs from nouns, numpy and Pillow.

Everything is seeded from a hash of its inputs (never from time or global random state), so
the same prompt always gives the same picture.
"""

from __future__ import annotations

import colorsys
import hashlib
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

RGB = tuple[int, int, int]

COLOR_WORDS: dict[str, tuple[RGB, ...]] = {
    "red": ((150, 20, 30), (220, 50, 50), (250, 140, 120)),
    "crimson": ((110, 10, 30), (200, 20, 60)),
    "orange": ((200, 90, 20), (250, 150, 50)),
    "yellow": ((220, 190, 30), (250, 235, 120)),
    "gold": ((120, 80, 10), (212, 160, 40), (250, 215, 110)),
    "green": ((20, 90, 40), (60, 170, 80), (170, 225, 140)),
    "forest": ((10, 40, 20), (30, 90, 45), (90, 140, 60), (170, 190, 120)),
    "jungle": ((15, 60, 25), (50, 140, 50), (200, 220, 90)),
    "blue": ((15, 30, 110), (40, 90, 200), (140, 190, 250)),
    "ocean": ((5, 30, 70), (20, 90, 150), (60, 160, 200), (200, 235, 245)),
    "sea": ((10, 50, 90), (40, 120, 170), (170, 220, 230)),
    "sky": ((70, 130, 210), (150, 200, 245), (240, 248, 255)),
    "teal": ((10, 90, 90), (40, 170, 160)),
    "cyan": ((0, 150, 180), (120, 230, 240)),
    "purple": ((50, 15, 80), (120, 50, 170), (190, 140, 230)),
    "violet": ((70, 30, 120), (160, 100, 220)),
    "pink": ((200, 80, 140), (250, 170, 200)),
    "brown": ((60, 35, 20), (130, 85, 50), (190, 150, 110)),
    "desert": ((150, 90, 40), (215, 165, 100), (245, 220, 170)),
    "black": ((5, 5, 10), (45, 45, 55)),
    "night": ((5, 8, 30), (25, 35, 80), (90, 100, 160)),
    "white": ((200, 200, 205), (250, 250, 250)),
    "snow": ((180, 195, 215), (235, 240, 248), (255, 255, 255)),
    "ice": ((120, 170, 210), (200, 230, 245)),
    "gray": ((70, 70, 75), (150, 150, 155), (210, 210, 215)),
    "silver": ((110, 115, 125), (190, 195, 205), (235, 238, 242)),
    "sunset": ((60, 20, 70), (200, 60, 60), (245, 140, 50), (255, 210, 110)),
    "sunrise": ((90, 60, 130), (240, 130, 110), (255, 220, 150)),
    "autumn": ((100, 30, 10), (190, 80, 20), (230, 160, 40)),
    "spring": ((120, 190, 90), (245, 190, 210), (250, 245, 200)),
    "fire": ((80, 10, 0), (220, 60, 10), (255, 180, 40), (255, 240, 160)),
    "neon": ((20, 0, 40), (255, 20, 150), (0, 240, 255)),
    "cyberpunk": ((15, 5, 35), (200, 20, 180), (20, 220, 250), (250, 240, 80)),
    "pastel": ((190, 170, 220), (250, 200, 210), (200, 235, 220), (250, 245, 210)),
    "sepia": ((70, 45, 25), (150, 110, 70), (230, 205, 160)),
}
COLOR_ALIASES = {
    "golden": "gold", "grey": "gray", "dark": "night", "lava": "fire", "flame": "fire",
    "rose": "pink", "emerald": "green", "azure": "blue", "navy": "blue", "vintage": "sepia",
    "sand": "desert", "winter": "snow", "fall": "autumn",
}  # fmt: skip
MOTIF_WORDS = {
    "circle": "circles", "sun": "circles", "moon": "circles", "planet": "circles",
    "bubble": "circles", "ball": "circles", "dot": "circles", "orb": "circles",
    "stripe": "stripes", "line": "stripes", "rain": "stripes", "road": "stripes",
    "zebra": "stripes", "bar": "stripes",
    "mountain": "mountains", "hill": "mountains", "landscape": "mountains", "peak": "mountains",
    "valley": "mountains", "volcano": "mountains", "alp": "mountains",
    "wave": "waves", "ocean": "waves", "sea": "waves", "water": "waves", "river": "waves",
    "lake": "waves", "beach": "waves", "surf": "waves",
    "star": "stars", "night": "stars", "space": "stars", "galaxy": "stars", "cosmos": "stars",
    "sky": "stars",
    "grid": "grid", "city": "grid", "building": "grid", "skyscraper": "grid", "tile": "grid",
    "pixel": "grid", "checker": "grid", "chess": "grid", "cyberpunk": "grid", "window": "grid",
}  # fmt: skip
MOTIFS = ("stars", "circles", "mountains", "waves", "stripes", "grid")


def seed_of(*parts: Any) -> int:
    """A 64-bit seed from a stable hash of the parts."""
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def rng_for(*parts: Any) -> np.random.Generator:
    """A random generator seeded from the parts."""
    return np.random.default_rng(seed_of(*parts))


def digest(img: Image.Image) -> str:
    """A short content hash of an image (to seed work derived from it)."""
    head = f"{img.mode}{img.size}".encode()
    return hashlib.sha256(head + img.tobytes()).hexdigest()[:16]


def words_of(prompt: str) -> list[str]:
    """The prompt's lower-case words."""
    return re.findall(r"[a-z]+", (prompt or "").lower())


def _stem(word: str) -> str:
    return word[:-1] if word.endswith("s") and len(word) > 3 else word


@dataclass(frozen=True)
class Look:
    """What a prompt looks like: a palette (dark to light), motifs and a seed."""

    palette: tuple[RGB, ...]
    motifs: tuple[str, ...]
    seed: int


def look_for(prompt: str) -> Look:
    """The look of a prompt: colours from colour words, motifs from nouns."""
    words = words_of(prompt)
    seed = seed_of("look", words)
    return Look(palette=palette_for(words, seed), motifs=motifs_for(words, seed), seed=seed)


def _luma(c: RGB) -> float:
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


def palette_for(words: Sequence[str], seed: int) -> tuple[RGB, ...]:
    """Colours named by the words, else a palette from the seed; sorted dark to light."""
    colours: list[RGB] = []
    for word in words:
        for colour in COLOR_WORDS.get(_colour_key(word) or "", ()):
            if colour not in colours:
                colours.append(colour)
    if not colours:
        colours = list(hashed_palette(seed))
    colours = colours[:7]
    if len(colours) < 3:
        colours += [_mix(colours[0], (0, 0, 0), 0.7), _mix(colours[-1], (255, 255, 255), 0.6)]
    return tuple(sorted(colours, key=_luma))


def _colour_key(word: str) -> str | None:
    for form in (word, _stem(word)):
        form = COLOR_ALIASES.get(form, form)
        if form in COLOR_WORDS:
            return form
    return None


def hashed_palette(seed: int) -> tuple[RGB, ...]:
    """Four harmonious colours around a hue taken from the seed."""
    hue = (seed % 10_000) / 10_000
    spec = ((0.0, 0.6, 0.25), (0.06, 0.65, 0.55), (0.5, 0.45, 0.78), (0.1, 0.25, 0.95))
    return tuple(_hsv((hue + dh) % 1.0, s, v) for dh, s, v in spec)


def motifs_for(words: Sequence[str], seed: int) -> tuple[str, ...]:
    """Motifs named by the words (in drawing order), else one or two from the seed."""
    found = {MOTIF_WORDS.get(w) or MOTIF_WORDS.get(_stem(w)) for w in words} - {None}
    if not found:
        rng = np.random.default_rng(seed)
        found = set(rng.choice(MOTIFS, size=int(rng.integers(1, 3)), replace=False))
    return tuple(m for m in MOTIFS if m in found)


def _hsv(h: float, s: float, v: float) -> RGB:
    r, g, b = colorsys.hsv_to_rgb(h, s, v)
    return int(r * 255), int(g * 255), int(b * 255)


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return tuple(int(round(x + (y - x) * t)) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def shift_hue(colour: RGB, shift: float) -> RGB:
    """The colour with its hue turned by ``shift`` (a fraction of the colour wheel)."""
    h, s, v = colorsys.rgb_to_hsv(*(c / 255 for c in colour))
    return _hsv((h + shift) % 1.0, s, v)


def palette_lut(palette: Sequence[RGB], hue_shift: float = 0.0) -> np.ndarray:
    """A 256x3 gradient map through the palette (dark to light), hue-shifted."""
    colours = np.array([shift_hue(c, hue_shift) for c in palette], dtype=np.float32)
    stops = np.linspace(0, 255, len(colours))
    idx = np.arange(256)
    lut = np.stack([np.interp(idx, stops, colours[:, ch]) for ch in range(3)], axis=1)
    return lut.clip(0, 255).astype(np.uint8)


FIELD_STEP = 4  # the smooth colour field is worked out on a grid this many times coarser


def smooth_noise(size: tuple[int, int], grid: np.ndarray) -> np.ndarray:
    """A small random grid upsampled (bicubic) to ``size``: smooth noise as float32."""
    small = Image.fromarray(grid.astype(np.float32), mode="F")
    return np.asarray(small.resize(size, Image.Resampling.BICUBIC), dtype=np.float32)


def _field(
    size: tuple[int, int], rc: np.random.Generator, ri: np.random.Generator, j: float
) -> Image.Image:
    """The picture's smooth tone field (0-255, mode "L"): a gradient and two noises, summed on
    a coarse grid (everything in it is smooth) and upsampled once to ``size``."""
    w, h = size
    cw, ch = max(2, -(-w // FIELD_STEP)), max(2, -(-h // FIELD_STEP))
    angle = rc.uniform(0, 2 * math.pi) + j * ri.uniform(-1.5, 1.5)
    x = np.linspace(-1, 1, cw, dtype=np.float32)[None, :]
    y = np.linspace(-1, 1, ch, dtype=np.float32)[:, None]
    grad = x * math.cos(angle) + y * math.sin(angle)
    coarse = (1 - 0.8 * j) * rc.random((5, 5)) + 0.8 * j * ri.random((5, 5))
    fine = (1 - j) * rc.random((13, 13)) + j * ri.random((13, 13))
    small = (cw, ch)
    field = 0.5 * grad + smooth_noise(small, coarse) * 0.9 + smooth_noise(small, fine) * 0.35
    lo, hi = float(field.min()), float(field.max())
    field = (field - lo) * (255.0 / max(hi - lo, 1e-6))
    full = Image.fromarray(field, mode="F").resize(size, Image.Resampling.BICUBIC)
    return full.convert("L")


def render_art(look: Look, size: tuple[int, int], index: int, chaos: int = 0) -> Image.Image:
    """Picture ``index`` (0-3) of a prompt's look; chaos spreads the four further apart."""
    j = 0.2 + 0.8 * chaos / 100
    rc, ri = rng_for(look.seed, "field"), rng_for(look.seed, "field", index, chaos)
    hue = (0.04 + 0.26 * chaos / 100) * ri.uniform(-1, 1)
    tones = _field(size, rc, ri, j)
    tones.putpalette(palette_lut(look.palette, hue).ravel().tolist())  # a gradient map
    img = tones.convert("RGB")
    pal = [shift_hue(c, hue) for c in look.palette]
    draw = ImageDraw.Draw(img, "RGBA")
    for motif in look.motifs:
        mc, mi = rng_for(look.seed, motif), rng_for(look.seed, motif, index, chaos)
        MOTIF_DRAWERS[motif](draw, size, mc, mi, j, pal)
    return img


Drawer = Callable[
    [ImageDraw.ImageDraw, tuple[int, int], np.random.Generator, np.random.Generator, float, list],
    None,
]


def _wobble(ri: np.random.Generator, j: float, amount: float) -> float:
    return j * amount * float(ri.uniform(-1, 1))


def draw_circles(draw, size, rc, ri, j, pal) -> None:
    """Suns, moons and bubbles: filled discs with a light rim."""
    w, h = size
    for _ in range(int(rc.integers(3, 8))):
        cx = (rc.random() + _wobble(ri, j, 0.35)) * w
        cy = (rc.random() + _wobble(ri, j, 0.35)) * h
        r = (0.05 + 0.16 * rc.random()) * min(w, h) * (1 + _wobble(ri, j, 0.5))
        fill = pal[int(rc.integers(len(pal)))]
        rim = max(2, int(r * 0.06))
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), (*fill, 210), (*pal[-1], 255), rim)


def draw_stripes(draw, size, rc, ri, j, pal) -> None:
    """Parallel translucent bands at an angle."""
    w, h = size
    n = int(rc.integers(5, 12))
    angle = rc.uniform(0, math.pi) + _wobble(ri, j, 0.6)
    period, diag = 2 * max(w, h) / n, math.hypot(w, h)
    band = period * (0.25 + 0.3 * rc.random())
    phase = j * period * ri.random()
    d, nrm = (math.cos(angle), math.sin(angle)), (-math.sin(angle), math.cos(angle))
    for k in range(-n, n + 1):
        off = k * period + phase
        cx, cy = w / 2 + nrm[0] * off, h / 2 + nrm[1] * off
        corners = [(sa * diag, sb * band / 2) for sa, sb in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
        pts = [(cx + a * d[0] + b * nrm[0], cy + a * d[1] + b * nrm[1]) for a, b in corners]
        draw.polygon(pts, fill=(*pal[k % len(pal)], 150))


def draw_mountains(draw, size, rc, ri, j, pal) -> None:
    """Layers of jagged ridges, far ones higher and lighter."""
    w, h = size
    for layer in range(3):
        base = h * (0.42 + 0.18 * layer) + _wobble(ri, j, 0.06) * h
        peaks = int(rc.integers(3, 7))
        xs = np.sort(rc.random(2 * peaks + 1)) * w
        xs = np.clip(xs + np.array([_wobble(ri, j, 0.05) * w for _ in xs]), 0, w)
        tall = h * (0.1 + 0.25 * rc.random(len(xs)))
        ys = base - np.where(np.arange(len(xs)) % 2 == 1, tall, tall * 0.3)
        pts = [(0, h), (0, float(ys[0]))] + list(zip(xs.tolist(), ys.tolist(), strict=True))
        colour = _mix(pal[(layer + 1) % len(pal)], (0, 0, 0), 0.15 * layer)
        draw.polygon(pts + [(w, float(ys[-1])), (w, h)], fill=(*colour, 240))


def draw_waves(draw, size, rc, ri, j, pal) -> None:
    """Rolling sine bands from the lower half down."""
    w, h = size
    bands = int(rc.integers(3, 6))
    xs = np.linspace(0, w, 96)
    for b in range(bands):
        y0 = h * (0.5 + 0.45 * b / bands)
        amp = h * 0.03 * (1 + rc.random())
        freq, phase = rc.uniform(1.5, 4.0), rc.uniform(0, 2 * math.pi) + _wobble(ri, j, math.pi)
        ys = y0 + amp * np.sin(xs / w * 2 * math.pi * freq + phase)
        pts = list(zip(xs.tolist(), ys.tolist(), strict=True)) + [(w, h), (0, h)]
        draw.polygon(pts, fill=(*pal[b % len(pal)], 190))


def draw_stars(draw, size, rc, ri, j, pal) -> None:
    """Five-pointed stars scattered over the upper part."""
    w, h = size
    light = _mix(pal[-1], (255, 255, 255), 0.5)
    for _ in range(int(rc.integers(25, 70))):
        cx = (rc.random() + _wobble(ri, j, 0.15)) * w
        cy = (rc.random() * 0.75 + _wobble(ri, j, 0.15)) * h
        r = min(w, h) * (0.004 + 0.02 * rc.random() ** 2)
        turn = rc.uniform(0, math.pi)
        tips = [(turn + k * math.pi / 5, r if k % 2 == 0 else r * 0.42) for k in range(10)]
        pts = [(cx + d * math.cos(a), cy + d * math.sin(a)) for a, d in tips]
        draw.polygon(pts, fill=(*light, 235))


def draw_grid(draw, size, rc, ri, j, pal) -> None:
    """A grid of lines with some cells filled, like windows or tiles."""
    w, h = size
    cells = int(rc.integers(6, 14))
    step = max(w, h) / cells
    for gx in range(cells + 1):
        for gy in range(cells + 1):
            flip = ri.random() < j * 0.25
            if (rc.random() < 0.25) != flip:
                x, y = gx * step, gy * step
                draw.rectangle((x, y, x + step, y + step), fill=(*pal[(gx + gy) % len(pal)], 170))
    width = max(1, int(step * 0.06))
    for k in range(cells + 1):
        draw.line((k * step, 0, k * step, h), fill=(*pal[0], 200), width=width)
        draw.line((0, k * step, w, k * step), fill=(*pal[0], 200), width=width)


MOTIF_DRAWERS: dict[str, Drawer] = {
    "circles": draw_circles,
    "stripes": draw_stripes,
    "mountains": draw_mountains,
    "waves": draw_waves,
    "stars": draw_stars,
    "grid": draw_grid,
}
