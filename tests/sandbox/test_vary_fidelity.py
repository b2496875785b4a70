"""Vary (Subtle) lands nearer its image than any sibling in the parent grid, and than Strong.

Checked through the sandbox over HTTP for all four images of a few parent grids, including
grids whose images are close to each other (niji, high stylize), where a Subtle variation that
warps fine detail used to land further from its image than the image's own sibling.
"""

from __future__ import annotations

import httpx
import numpy as np
import pytest

from tests.sandbox import helpers

GRIDS = {
    "portrait": {"prompt": "portrait of an old man", "stylize": 0},
    "niji": {"prompt": "golden hills", "version": "niji 6"},
    "smooth": {"prompt": "golden hills at dusk", "stylize": 1000},
}


def _grid(api: httpx.Client, task_input: dict) -> tuple[str, list[np.ndarray]]:
    task = {"mode": "text-to-image", "aspect": "16:9", **task_input}
    task_id = helpers.create(api, task)
    urls = helpers.result_urls(helpers.wait_final(api, task_id))
    return task_id, [np.asarray(helpers.download(u)) for u in urls]


@pytest.mark.parametrize("name", list(GRIDS))
def test_subtle_is_nearer_than_every_sibling_and_than_strong(api: httpx.Client, name: str) -> None:
    task_id, images = _grid(api, GRIDS[name])
    inputs = {
        f"{kind} {i}": {"mode": "vary", "taskId": task_id, "imageIndex": i, "type": t}
        for i in range(4)
        for kind, t in (("subtle", 0), ("strong", 1))
    }
    got = helpers.gather(api, inputs)
    for i, source in enumerate(images):
        siblings = [helpers.mean_diff(images[j], source) for j in range(4) if j != i]
        subtle = [helpers.mean_diff(img, source) for img in got[f"subtle {i}"]]
        strong = [helpers.mean_diff(img, source) for img in got[f"strong {i}"]]
        where = f"{name} image {i}: subtle {max(subtle):.1f}, sibling {min(siblings):.1f}"
        assert 0 < max(subtle) < min(siblings), where
        assert max(subtle) < min(strong), f"{where}, strong {min(strong):.1f}"
        distinct = {img.tobytes() for img in got[f"subtle {i}"]}
        assert len(distinct) == 4, f"{name} image {i}: the four subtle variations repeat"
