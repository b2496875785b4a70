"""Delivering a finished task's status to its callback URL, through the outbound fence."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx

from mjstudio.api.fence import FencedTransport, FencePolicy, checked_url

log = logging.getLogger(__name__)


def deliver(
    url: str,
    data: dict[str, Any],
    attempts: int = 3,
    timeout_s: float = 5.0,
    fence: FencePolicy | None = None,
) -> bool:
    """POST ``data`` as JSON, retrying a few times; True once a 2xx answer came back.

    The address is checked by ``fence`` (a callback URL is given by whoever creates the task:
    it must not make the provider post into the server's network); redirects are not followed.
    """
    policy = fence or FencePolicy()
    with httpx.Client(transport=FencedTransport(policy), timeout=timeout_s) as client:
        for attempt in range(max(1, attempts)):
            if attempt:
                time.sleep(0.5 * 2 ** (attempt - 1))
            try:
                resp = client.post(str(checked_url(url)), json=data)
            except Exception as exc:  # never let a callback break the worker
                log.warning("callback for %s failed: %s", data.get("taskId"), exc)
                continue
            if resp.is_success:
                return True
            log.warning("callback for %s got HTTP %s", data.get("taskId"), resp.status_code)
    return False
