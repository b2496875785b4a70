"""text-to-image through the sandbox: sizes, distinct images, options, determinism."""

from __future__ import annotations

import itertools

import httpx
import numpy as np
import pytest

from tests.sandbox import helpers

PROMPT = "a red sunset over mountains"
BASE = {"mode": "text-to-image", "prompt": PROMPT}
SIZES = {"1:1": (1024, 1024), "16:9": (1024, 576), "9:16": (576, 1024), "4:3": (1024, 768)}
OPTIONS = {
    "chaos": {"chaos": 100},
    "stylize": {"stylize": 1000},
    "weird": {"weird": 3000},
    "niji": {"version": "niji 6"},
    "v7": {"version": "v7"},
}


@pytest.fixture(scope="module")
def results(api: httpx.Client) -> dict[str, list[np.ndarray]]:
    """Every variant rendered once, all submitted together."""
    inputs = {f"aspect {a}": {**BASE, "aspect": a} for a in SIZES if a != "1:1"}
    inputs |= {"base": BASE, "again": BASE, "blue": {**BASE, "prompt": "a blue ocean"}}
    inputs |= {name: {**BASE, **extra} for name, extra in OPTIONS.items()}
    out = helpers.gather(api, inputs)
    return out | {"aspect 1:1": out["base"]}


@pytest.mark.parametrize("aspect", SIZES)
def test_size_follows_aspect(results: dict[str, list[np.ndarray]], aspect: str) -> None:
    width, height = SIZES[aspect]
    images = results[f"aspect {aspect}"]
    assert len(images) == 4
    assert all(img.shape == (height, width, 3) for img in images)


def test_four_distinct_images(results: dict[str, list[np.ndarray]]) -> None:
    for a, b in itertools.combinations(results["base"], 2):
        assert helpers.mean_diff(a, b) > 1.0


def test_same_input_gives_the_same_pixels(results: dict[str, list[np.ndarray]]) -> None:
    for a, b in zip(results["base"], results["again"], strict=True):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("option", OPTIONS)
def test_each_option_changes_the_output(results: dict[str, list[np.ndarray]], option: str) -> None:
    for a, b in zip(results["base"], results[option], strict=True):
        assert helpers.mean_diff(a, b) > 3.0


def _spread(images: list[np.ndarray]) -> float:
    return float(np.mean([helpers.mean_diff(a, b) for a, b in itertools.combinations(images, 2)]))


def test_chaos_spreads_the_four_further_apart(results: dict[str, list[np.ndarray]]) -> None:
    assert _spread(results["chaos"]) > 1.5 * _spread(results["base"])


def test_high_stylize_and_niji_flatten_the_picture(results: dict[str, list[np.ndarray]]) -> None:
    def colours(img: np.ndarray) -> int:
        packed = img.astype(np.uint32) @ np.array([1 << 16, 1 << 8, 1], dtype=np.uint32)
        return len(np.unique(packed))

    base = colours(results["base"][0])
    assert colours(results["stylize"][0]) < base / 2
    assert colours(results["niji"][0]) < base / 2


def test_colour_words_set_the_palette(results: dict[str, list[np.ndarray]]) -> None:
    red = np.mean([img.reshape(-1, 3).mean(0) for img in results["base"]], axis=0)
    blue = np.mean([img.reshape(-1, 3).mean(0) for img in results["blue"]], axis=0)
    assert red[0] > red[2] + 40
    assert blue[2] > blue[0] + 40


def test_every_image_carries_the_sandbox_mark(results: dict[str, list[np.ndarray]]) -> None:
    for img in results["base"] + results["aspect 9:16"]:
        corner = img[-40:, -120:].reshape(-1, 3)
        assert (corner.min(axis=1) > 240).sum() > 20, "white lettering"
        assert (corner.max(axis=1) < 60).sum() > 100, "dark plate"
