"""The adaptive polling schedule: a pure planner from the provider's past costTimes."""

from __future__ import annotations

import pytest

from mjstudio.api.client import schedule_for
from mjstudio.tasks.schedule import (
    Expected,
    dense_step,
    kind,
    learn,
    next_poll_in,
    planned_polls,
)

FAST = schedule_for("fast")  # the seed: first at 20 s, then every 3 s


def test_without_history_the_seed_schedule_is_kept():
    assert next_poll_in(0.0, 0, FAST) == FAST.first_s
    assert next_poll_in(23.0, 2, FAST) == FAST.every_s
    assert planned_polls(50.0, FAST) == (11, 0.0)  # the seed: 11 status calls for 50 s


def test_a_fifty_second_fast_task_takes_at_most_eight_calls_and_is_seen_as_soon():
    history = learn([("text-to-image", "fast", 50.0 + (n % 5) * 0.5) for n in range(30)])
    expected = history[("text-to-image", "fast")]
    for finish in (49.0, 50.0, 50.7, 52.0):
        polls, late = planned_polls(finish, FAST, expected)
        assert polls <= 8, (finish, polls)
        assert late <= FAST.every_s, (finish, late)


def test_a_wide_history_is_polled_no_further_apart_than_every_s_around_the_finish():
    expected = Expected(low_s=30.0, mid_s=38.0, high_s=45.0, samples=50)
    step = dense_step(FAST, expected)
    assert step <= FAST.every_s
    for finish in (30.0, 36.5, 44.9):
        polls, late = planned_polls(finish, FAST, expected)
        assert late <= FAST.every_s
    seed_polls, _ = planned_polls(44.0, FAST)
    assert planned_polls(44.0, FAST, expected)[0] <= seed_polls


def test_polls_are_sparse_early_and_dense_around_the_expected_finish():
    expected = Expected(low_s=48.0, mid_s=50.0, high_s=52.0, samples=20)
    assert next_poll_in(0.0, 0, FAST, expected) == FAST.first_s  # one early check
    early = next_poll_in(FAST.first_s, 1, FAST, expected)
    assert early > 3 * FAST.every_s  # then nothing until just before the usual finish
    assert next_poll_in(49.0, 2, FAST, expected) < FAST.every_s  # dense around it
    assert next_poll_in(70.0, 9, FAST, expected) == FAST.every_s  # late: the seed again


def test_a_short_kind_is_first_checked_before_the_seed_would():
    turbo = schedule_for("turbo")
    expected = Expected(low_s=6.0, mid_s=7.0, high_s=8.0, samples=10)
    assert next_poll_in(0.0, 0, turbo, expected) < turbo.first_s


def test_learning_needs_enough_tasks_of_a_kind_and_ignores_unknown_costs():
    rows = [("upscale", "fast", 12.0)] * 4 + [("text-to-image", "", 40.0)] * 5
    rows += [("text-to-image", "fast", 0.0)] * 10
    learned = learn(rows)
    assert ("upscale", "fast") not in learned  # four are not enough
    got = learned[kind("text-to-image", None)]  # no speed given: the default speed
    assert (got.low_s, got.mid_s, got.high_s, got.samples) == (40.0, 40.0, 40.0, 5)


def test_learning_reads_the_latest_tasks_of_each_kind():
    rows = [("vary", "turbo", 10.0)] * 50 + [("vary", "turbo", 99.0)] * 50  # newest first
    assert learn(rows)[("vary", "turbo")].high_s == pytest.approx(10.0)
