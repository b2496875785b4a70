"""Benchmark: canvas brush strokes -> upload-paint mask areas.

Run: .venv/bin/python bench/bench_mask.py [--strokes 200] [--points 100] [--runs 7]
Prints the median time of build_mask (and its two halves) for realistic freedraw strokes on a
1024x1024 canvas over a 1024x1024 image, plus how many polygons and points it sends.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mjstudio.mask.geometry import (  # noqa: E402
    Fit,
    MaskResult,
    build_mask,
    mask_areas,
    painted_region,
    to_image_pixels,
)
from mjstudio.mask.shapes import path_offset  # noqa: E402

SIZE = 1024


def pencil_path(points: np.ndarray) -> list[list]:
    """Fabric's PencilBrush path: M, a Q per point ending at the next midpoint, then L."""
    path: list[list] = [["M", *points[0]]]
    for p, q in zip(points[:-1], points[1:], strict=True):
        mid = (p + q) / 2
        path.append(["Q", *p, *mid])
    path.append(["L", *points[-1]])
    return [[c[0], *(round(float(v), 2) for v in c[1:])] for c in path]


def stroke(rng: np.random.Generator, n_points: int) -> dict:
    """A hand-like stroke: a smooth random walk of 2-6 px steps (mouse events), 10-40 px wide."""
    pos = rng.uniform(100, SIZE - 100, 2)
    heading = rng.uniform(0, 2 * math.pi)
    pts = [pos.copy()]
    for _ in range(n_points - 1):
        heading += rng.normal(0, 0.25)
        step = rng.uniform(2, 6) * np.array([math.cos(heading), math.sin(heading)])
        pos = np.clip(pos + step, 0, SIZE)
        pts.append(pos.copy())
    path = pencil_path(np.array(pts))
    left, top = path_offset(path)
    return {
        "type": "Path",
        "originX": "center",
        "originY": "center",
        "left": left,
        "top": top,
        "strokeWidth": float(rng.integers(10, 41)),
        "strokeLineCap": "round",
        "strokeLineJoin": "round",
        "fill": None,
        "stroke": "rgba(255,255,255,0.6)",
        "scaleX": 1,
        "scaleY": 1,
        "angle": 0,
        "path": path,
    }


def timed(fn, runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strokes", type=int, default=200)
    parser.add_argument("--points", type=int, default=100)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    objects = [stroke(rng, args.points) for _ in range(args.strokes)]
    fit = Fit.stretch(SIZE, SIZE, SIZE, SIZE)

    t_total, result = timed(lambda: build_mask(objects, fit), args.runs)
    t_region, region = timed(lambda: to_image_pixels(painted_region(objects), fit), args.runs)
    t_areas, _ = timed(lambda: mask_areas(region, SIZE, SIZE), args.runs)
    fresh = (result.areas, result.width, result.height, result.painted_fraction, result.region)
    t_png, _ = timed(lambda: MaskResult(*fresh).png, args.runs)  # png is cached per result
    points = sum(len(a["points"]) // 2 for a in result.areas)
    print(f"{args.strokes} strokes x {args.points} points, canvas {SIZE}x{SIZE} over image {SIZE}")
    print(f"build_mask median      {t_total * 1000:8.1f} ms  ({args.runs} runs)")
    print(f"  painted region       {t_region * 1000:8.1f} ms")
    print(f"  mask areas           {t_areas * 1000:8.1f} ms")
    print(f"mask PNG (on demand)   {t_png * 1000:8.1f} ms")
    print(f"polygons sent          {len(result.areas):8d}")
    largest = max(len(a["points"]) // 2 for a in result.areas)
    print(f"points sent            {points:8d}  (largest polygon {largest})")
    print(f"painted fraction       {result.painted_fraction:8.3f}")


if __name__ == "__main__":
    main()
