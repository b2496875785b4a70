"""Fabric.js path commands -> flattened points, for many paths at once (no per-command loop).

Semantics (those of Fabric's loaded paths; see shapes.py): commands are M, L, Q, C and Z in
absolute coordinates, others are ignored. A path that does not start with M starts at (0, 0).
Every M draws a dot at its point (a click gives `M p L p`); L and Z draw lines, Q and C curves,
flattened into chords about SEGMENT_PX long. pathOffset is the centre of Fabric's path bounds:
an L is bounded by its subpath's start and its end, a Q by the cubic (p0, q, q, p1), a C by
its curve's extreme points; a path with none of these is bounded by its drawn points.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from operator import itemgetter
from typing import Any

import numpy as np

SEGMENT_PX = 3.0  # curves are flattened into chords about this long
_CODES = {op: code for code, ops in enumerate(("Mm", "Ll", "Qq", "Cc", "Zz")) for op in ops}
_M, _L, _Q, _C, _Z = range(5)
_first, _rest = itemgetter(0), itemgetter(slice(1, None))  # a command's letter, its values


@dataclass(frozen=True)
class Flat:
    """Flattened paths: points grouped in subpaths (contiguous), subpaths grouped in paths."""

    points: np.ndarray  # (k, 2) every drawn point, subpath after subpath
    point_subpath: np.ndarray  # (k,) the subpath of each point
    subpath_path: np.ndarray  # (s,) the path of each subpath
    closed: np.ndarray  # (s,) whether the subpath has a Z
    offsets: np.ndarray  # (p, 2) each path's pathOffset

    def subpaths(self, path: int) -> tuple[list[np.ndarray], list[bool]]:
        """One path's subpaths as point arrays, and whether each is closed."""
        subs = np.flatnonzero(self.subpath_path == path)
        starts = np.searchsorted(self.point_subpath, subs)
        ends = np.searchsorted(self.point_subpath, subs, side="right")
        pts = [self.points[a:b] for a, b in zip(starts, ends, strict=True)]
        return pts, [bool(c) for c in self.closed[subs]]


def _commands(paths: Sequence[Sequence[Any]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Codes (-1 unknown), arguments padded to 6 columns, and the path of every command.
    (Read by iterators in C: no Python-level step per command or value.)"""
    cmds = list(chain.from_iterable(paths))
    count = len(cmds)
    pid = np.repeat(np.arange(len(paths)), list(map(len, paths)))
    sizes = np.fromiter(map(len, cmds), dtype=np.int64, count=count) - 1  # values per command
    letters = map(_first, cmds)
    codes = np.fromiter(map(_CODES.get, letters, repeat(-1)), dtype=np.int64, count=count)
    values = np.fromiter(chain.from_iterable(map(_rest, cmds)), dtype=float, count=int(sizes.sum()))
    at = np.cumsum(sizes) - sizes  # where each command's values start
    args = np.zeros((count, 6))
    for col in range(6):
        has = sizes > col
        args[has, col] = values[at[has] + col]
    return codes, args, pid


def _normalised(
    codes: np.ndarray, args: np.ndarray, pid: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A move to (0, 0) before paths that do not start with M; unknown commands dropped."""
    first = np.flatnonzero(np.r_[True, pid[1:] != pid[:-1]]) if len(pid) else pid
    needs = first[codes[first] != _M]
    if len(needs):
        codes = np.insert(codes, needs, _M)
        args = np.insert(args, needs, 0.0, axis=0)
        pid = np.insert(pid, needs, pid[needs])
    known = codes >= 0
    return (codes, args, pid) if known.all() else (codes[known], args[known], pid[known])


def _segments(codes: np.ndarray, args: np.ndarray) -> tuple[np.ndarray, ...]:
    """Each command as a drawn cubic: p0, c1, c2, p3, whether it is a curve, and its subpath."""
    sub = np.cumsum(codes == _M) - 1
    start = args[codes == _M, :2][sub]
    at = np.array([0, 0, 2, 4, 0])[codes][:, None] + np.arange(2)  # the end point's columns
    end = np.where((codes == _Z)[:, None], start, np.take_along_axis(args, at, axis=1))
    p0 = np.where((codes == _M)[:, None], end, np.vstack([end[:1], end[:-1]]))
    q, c, k = (codes == _Q)[:, None], (codes == _C)[:, None], 2.0 / 3.0
    ctrl = args[:, :2]  # a quadratic's control point, or a cubic's first
    c1 = np.where(q, p0 + k * (ctrl - p0), np.where(c, ctrl, p0))
    c2 = np.where(q, end + k * (ctrl - end), np.where(c, args[:, 2:4], end))
    return p0, c1, c2, end, (q | c)[:, 0], sub, start


def bezier(p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, p3: np.ndarray, t: np.ndarray):
    """Points of cubic Beziers (rows of control points) at parameters t, vectorised."""
    u, t = 1.0 - t[..., None], t[..., None]
    uu, tt = u * u, t * t
    return uu * u * p0 + 3 * uu * t * p1 + 3 * u * tt * p2 + tt * t * p3


def _curve_extent(
    p0: np.ndarray, c1: np.ndarray, c2: np.ndarray, p3: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Bounds (lo, hi) of cubics (rows of control points), as getBoundsOfCurve finds them: the
    end points and the points where a coordinate's derivative is zero. A curve lies within
    its control points' range, so only a coordinate whose middle control points reach past
    its ends is solved for."""
    lo, hi = np.minimum(p0, p3), np.maximum(p0, p3)
    row, k = np.nonzero((np.minimum(c1, c2) < lo) | (np.maximum(c1, c2) > hi))
    a0, a1, a2, a3 = (p[row, k] for p in (p0, c1, c2, p3))
    b = 6 * a0 - 12 * a1 + 6 * a2
    a = -3 * a0 + 9 * a1 - 9 * a2 + 3 * a3
    c = 3 * a1 - 3 * a0
    with np.errstate(divide="ignore", invalid="ignore"):
        root = np.sqrt(b * b - 4 * c * a)
        flat = np.abs(a) < 1e-12
        for t in (
            np.where(flat, -c / b, (-b + root) / (2 * a)),
            np.where(flat, 0, (-b - root) / (2 * a)),
        ):
            t = np.where((t > 0) & (t < 1), t, 0.0)
            u = 1.0 - t
            value = u**3 * a0 + 3 * u * u * t * a1 + 3 * u * t * t * a2 + t**3 * a3
            lo[row, k], hi[row, k] = np.minimum(lo[row, k], value), np.maximum(hi[row, k], value)
    return lo, hi


def _offsets(
    codes: np.ndarray, args: np.ndarray, pid: np.ndarray, seg: tuple, count: int
) -> np.ndarray:
    """Each path's pathOffset: the centre of its Fabric bounds (commands are in path order)."""
    p0, _, _, end, curve, _, start = seg
    line = (codes == _L)[:, None]
    second = np.where((codes == _Q)[:, None], args[:, :2], args[:, 2:4])  # Q bounds as (q, q)
    curve_lo, curve_hi = _curve_extent(p0, args[:, :2], second, end)
    curve = curve[:, None]
    lo = np.where(line, np.minimum(start, end), np.where(curve, curve_lo, np.inf))
    hi = np.where(line, np.maximum(start, end), np.where(curve, curve_hi, -np.inf))
    has = np.bincount(pid, minlength=count) > 0
    first = np.searchsorted(pid, np.flatnonzero(has))
    box_lo, box_hi = np.minimum.reduceat(lo, first), np.maximum.reduceat(hi, first)
    bare = np.isinf(box_lo[:, 0])  # no L, Q or C: bounded by every drawn point
    box_lo[bare] = np.minimum.reduceat(end, first)[bare]
    box_hi[bare] = np.maximum.reduceat(end, first)[bare]
    centre = np.zeros((count, 2))
    centre[has] = (box_lo + box_hi) / 2
    return centre


def _points(seg: tuple) -> tuple[np.ndarray, np.ndarray]:
    """The drawn points, chords about SEGMENT_PX long along curves, and each one's command.
    A command's last point is its end point as given; only those before it are computed."""
    p0, c1, c2, p3, curve, _, _ = seg
    length = sum(np.hypot(*(b - a).T) for a, b in ((p0, c1), (c1, c2), (c2, p3)))
    n = np.where(curve, np.clip(np.ceil(length / SEGMENT_PX), 1, 64), 1).astype(np.int64)
    row = np.repeat(np.arange(len(n)), n)
    points = p3[row]
    inner = np.flatnonzero(n > 1)
    if len(inner):
        m = n[inner] - 1  # points before the end
        at = np.repeat(np.cumsum(n)[inner] - n[inner], m)  # where each command's points start
        step = np.arange(len(at)) - np.repeat(np.cumsum(m) - m, m)
        r = np.repeat(inner, m)
        points[at + step] = bezier(p0[r], c1[r], c2[r], p3[r], (step + 1) / n[r])
    return points, row


def flatten(paths: Sequence[Sequence[Any]]) -> Flat:
    """Many Fabric paths flattened at once (see the module docstring for the rules)."""
    codes, args, pid = _normalised(*_commands(paths))
    seg = _segments(codes, args)
    sub = seg[5]
    points, row = _points(seg)
    closed = np.zeros(int(sub[-1]) + 1 if len(sub) else 0, dtype=bool)
    closed[sub[codes == _Z]] = True
    return Flat(
        points=points,
        point_subpath=sub[row],
        subpath_path=pid[codes == _M],
        closed=closed,
        offsets=_offsets(codes, args, pid, seg, len(paths)),
    )
