"""Delivering a finished task's status to its callback URL."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx

log = logging.getLogger(__name__)


def deliver(url: str, data: dict[str, Any], attempts: int = 3, timeout_s: float = 5.0) -> bool:
    """POST ``data`` as JSON, retrying a few times; True once a 2xx answer came back."""
    for attempt in range(max(1, attempts)):
        if attempt:
            time.sleep(0.5 * 2 ** (attempt - 1))
        try:
            resp = httpx.post(url, json=data, timeout=timeout_s)
        except Exception as exc:  # never let a callback break the worker
            log.warning("callback for %s to %s failed: %r", data.get("taskId"), url, exc)
            continue
        if resp.is_success:
            return True
        log.warning("callback for %s got HTTP %s", data.get("taskId"), resp.status_code)
    return False
