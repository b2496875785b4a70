"""Status calls over kept ``httpx.AsyncClient`` connections: many tasks from one event loop.

The same answers and errors as :meth:`MJClient.status` (the envelope's code counts, redirects
stay on the provider's origin, the key never shows in a message). Each attempt first awaits
``pace`` (the caller's share of the provider's request budget). A 5xx or a failed connection is
tried again after a short backoff; a 429 is not: it goes back to the caller at once with the
provider's ``Retry-After``, so a rate-limited call never holds a connection while it waits.
The connections are shared out over a few small pools (``LANE_SIZE``): httpx's pool does work
that grows with the square of its size on every request.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from mjstudio.api.client import (
    DEFAULT_TIMEOUT,
    MAX_API_REDIRECTS,
    SEND_ERRORS,
    _NotSent,
    _unwrap,
    auth_headers,
    check_origin,
    envelope_data,
    mask_key,
    request_error,
)
from mjstudio.api.contract import DEFAULT_AUTH_HEADER, STATUS_PATH, TaskStatus
from mjstudio.api.errors import APIConnectionError, ServerError

Pace = Callable[[], Awaitable[object]]
LANE_SIZE = 8  # connections per httpx pool: its bookkeeping grows with the square of its size


def lane_sizes(connections: int) -> list[int]:
    """Pools of at most ``LANE_SIZE`` connections that hold ``connections`` between them."""
    lanes = -(-connections // LANE_SIZE)
    return [connections // lanes + (1 if n < connections % lanes else 0) for n in range(lanes)]


@dataclass
class _Lane:
    http: httpx.AsyncClient
    busy: int = 0


RETRIED = (ServerError, APIConnectionError, _NotSent)


async def _no_pace() -> None:
    return None


class AsyncStatusClient:
    """The task API's status call for one provider URL and key, on an event loop."""

    def __init__(
        self,
        api_key: str,
        base_url: str,
        *,
        auth_header: str = DEFAULT_AUTH_HEADER,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        connections: int = 32,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._key = api_key
        self.max_retries = max_retries
        self._sleep = sleep
        self._headers = auth_headers(auth_header or DEFAULT_AUTH_HEADER, api_key)
        try:
            self._origin = httpx.URL(self.base_url)
            self._lanes = [
                _Lane(self._client(timeout, size, transport))
                for size in lane_sizes(max(1, connections))
            ]
        except httpx.InvalidURL:
            raise APIConnectionError(f"The provider URL {self.base_url!r} is not valid") from None

    def _client(
        self,
        timeout: httpx.Timeout | float,
        size: int,
        transport: httpx.AsyncBaseTransport | None,
    ) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.base_url,
            timeout=timeout,
            limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
            transport=transport,
            follow_redirects=True,  # on the provider's own origin only
            max_redirects=MAX_API_REDIRECTS,
            event_hooks={"response": [self._stay_on_origin]},
        )

    def __repr__(self) -> str:
        return f"AsyncStatusClient(base_url={self.base_url!r}, api_key={mask_key(self._key)!r})"

    async def aclose(self) -> None:
        """Close the kept connections."""
        for lane in self._lanes:
            await lane.http.aclose()

    @property
    def is_closed(self) -> bool:
        """True once closed."""
        return all(lane.http.is_closed for lane in self._lanes)

    async def status(self, task_id: str, pace: Pace = _no_pace) -> TaskStatus:
        """A task's status; 5xx and failed connections are tried again, a 429 is raised."""
        for attempt in range(self.max_retries + 1):
            await pace()
            try:
                data = await self._get(task_id)
                return TaskStatus.from_data(data, task_id)
            except RETRIED as exc:
                if attempt == self.max_retries:
                    raise _unwrap(exc) from None
            await self._sleep(min(8.0, 0.5 * 2**attempt) * random.uniform(0.8, 1.2))
        raise AssertionError("unreachable")

    async def _get(self, task_id: str) -> Any:
        what = f"GET {STATUS_PATH}"
        lane = min(self._lanes, key=lambda each: each.busy)
        lane.busy += 1
        try:
            resp = await lane.http.get(
                STATUS_PATH, params={"taskId": task_id}, headers=self._headers
            )
        except SEND_ERRORS as exc:
            raise request_error(exc, what) from None
        finally:
            lane.busy -= 1
        return envelope_data(resp, self._key)

    async def _stay_on_origin(self, response: httpx.Response) -> None:
        check_origin(self._origin, response)
