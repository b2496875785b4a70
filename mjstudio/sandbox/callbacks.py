"""Delivering a finished task's status to its callback URL, through the outbound fence."""

from __future__ import annotations

import logging
import time
from functools import lru_cache
from typing import Any

import httpx

from mjstudio.api.fence import FencedTransport, FencePolicy, checked_url

log = logging.getLogger(__name__)
TIMEOUT_S = 5.0  # for one callback POST


def deliver(
    url: str,
    data: dict[str, Any],
    attempts: int = 3,
    timeout_s: float = TIMEOUT_S,
    fence: FencePolicy | None = None,
) -> bool:
    """POST ``data`` as JSON, retrying a few times; True once a 2xx answer came back.

    The address is checked by ``fence`` (a callback URL is given by whoever creates the task:
    it must not make the provider post into the server's network); redirects are not followed.
    """
    client = client_for(fence or FencePolicy(), timeout_s)
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


@lru_cache(maxsize=16)
def client_for(policy: FencePolicy, timeout_s: float) -> httpx.Client:
    """The process's client for callbacks under one fence policy (thread-safe, pooled).

    Made once: building a client (its TLS context) takes longer than a callback's whole
    round trip to a studio on the same machine, and the callback would wait for it.
    """
    return httpx.Client(transport=FencedTransport(policy), timeout=timeout_s)
