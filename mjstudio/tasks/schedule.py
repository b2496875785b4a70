"""When to ask for a task's status: learned from how long past tasks took. Pure functions.

The provider tells each finished task's ``costTime``; the store keeps it (``cost_s``). From the
latest ones of a kind (mode and speed) we know when such a task usually ends: between ``low_s``
and ``high_s``. A task is then checked once early (a refusal comes fast), not again until just
before ``low_s``, densely until just after ``high_s`` (never further apart than the seed's
``every_s``, so a finish is seen as soon as with the seed's schedule), then as the seed says.
Without enough history the seed's schedule (``PollSchedule``) is used as it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mjstudio.api.client import PollSchedule
from mjstudio.api.contract import DEFAULT_SPEED

MIN_SAMPLES = 5  # fewer past tasks of a kind: the seed's schedule
PER_KIND = 50  # the latest tasks of a kind that count
LOW_Q, HIGH_Q = 0.1, 0.9  # the usual finish lies between these quantiles
DENSE_STEPS = 4.0  # polls across the usual window when it is wide...
MIN_DENSE = 1 / 3  # ...never closer than this share of every_s

Kind = tuple[str, str]


@dataclass(frozen=True)
class Expected:
    """How long tasks of one kind took at the provider, in seconds."""

    low_s: float
    mid_s: float
    high_s: float
    samples: int


def kind(mode: str | None, speed: str | None) -> Kind:
    """The key tasks are learned under: mode and speed (the default speed when not given)."""
    return (mode or "", speed or DEFAULT_SPEED)


def quantile(values: list[float], q: float) -> float:
    """The ``q`` quantile of sorted values (linear between neighbours)."""
    pos = q * (len(values) - 1)
    lower = int(pos)
    upper = min(lower + 1, len(values) - 1)
    return values[lower] + (values[upper] - values[lower]) * (pos - lower)


def learn(costs: Iterable[tuple[str, str, float]], min_samples: int = MIN_SAMPLES) -> dict:
    """Expected durations per kind from ``(mode, speed, cost_s)`` rows, newest first."""
    seen: dict[Kind, list[float]] = {}
    for mode, speed, cost in costs:
        values = seen.setdefault(kind(mode, speed), [])
        if cost > 0 and len(values) < PER_KIND:
            values.append(cost)
    learned: dict[Kind, Expected] = {}
    for key, values in seen.items():
        if len(values) >= min_samples:
            values.sort()
            low, mid, high = (quantile(values, q) for q in (LOW_Q, 0.5, HIGH_Q))
            learned[key] = Expected(low, mid, high, len(values))
    return learned


def dense_step(plan: PollSchedule, expected: Expected) -> float:
    """Seconds between polls around the usual finish: at most the seed's ``every_s``."""
    spread = (expected.high_s - expected.low_s) / DENSE_STEPS
    return min(plan.every_s, max(plan.every_s * MIN_DENSE, spread))


def next_poll_in(
    elapsed_s: float, polls_done: int, plan: PollSchedule, expected: Expected | None = None
) -> float:
    """Seconds from now to the next status call of a task sent ``elapsed_s`` seconds ago."""
    if expected is None:
        return max(0.0, plan.first_s - elapsed_s) if polls_done == 0 else plan.every_s
    step = dense_step(plan, expected)
    opens, closes = expected.low_s - step, expected.high_s + step
    if elapsed_s < opens:
        if polls_done == 0 and elapsed_s < plan.first_s < opens:
            return plan.first_s - elapsed_s  # one early check: a refusal comes fast
        return opens - elapsed_s
    if elapsed_s < closes:
        return step
    return plan.every_s


def planned_polls(
    finish_s: float, plan: PollSchedule, expected: Expected | None = None
) -> tuple[int, float]:
    """Status calls a task ending ``finish_s`` after it was sent gets, and the delay to its
    detection (round trips taken as zero): for tests, benchmarks and a reader's curiosity."""
    elapsed, polls = 0.0, 0
    while True:
        elapsed += next_poll_in(elapsed, polls, plan, expected)
        polls += 1
        if elapsed >= finish_s:
            return polls, elapsed - finish_s
