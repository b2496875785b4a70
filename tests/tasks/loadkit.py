"""A loopback task API for load: slow status answers, a request budget, counts of everything.

Tests serve it in a thread (:func:`load_provider`); the benchmarks run it in a process of its
own (``python -m tests.tasks.loadkit``) so that it does not share the tracker's interpreter,
and read its counts from ``GET /stats``. Any task id is known: one never created here is
"processing" for ever; one created here succeeds ``task_s`` seconds later, with four result
URLs and its ``costTime``.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import io
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

import uvicorn
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mjstudio.api.contract import CREATE_PATH, STATUS_PATH
from mjstudio.sandbox.limits import SlidingWindow


def png(side: int = 64, noise: bool = False) -> bytes:
    """A PNG of ``side`` pixels square (noise: as costly to encode and decode as a real one)."""
    img = Image.effect_noise((side, side), 80).convert("RGB") if noise else None
    img = img or Image.new("RGB", (side, side), (30, 120, 200))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


@dataclass
class LoadConfig:
    """How the provider behaves."""

    delay_s: float = 0.15  # every status answer takes this long
    limit: int | None = None  # at most this many API requests in any window, else 429
    window_s: float = 60.0
    task_s: float | None = None  # a created task succeeds after this long (None: never)
    image_side: int = 64
    noise: bool = False
    result_delay_s: float = 0.0  # every result image takes this long


@dataclass
class Stats:
    """What the provider saw."""

    statuses: int = 0
    creates: int = 0
    limited: int = 0  # answers 429
    in_flight: int = 0
    max_in_flight: int = 0
    per_task: Counter = field(default_factory=Counter)  # status calls per task id
    order: list[str] = field(default_factory=list)  # "create" / "status", as they arrived
    asked: list[str] = field(default_factory=list)  # the task ids of the status calls, in order
    results: list[str] = field(default_factory=list)  # result images asked for
    results_in_flight: int = 0
    max_results_in_flight: int = 0
    finished: dict[str, float] = field(default_factory=dict)  # task id -> when it succeeded
    create_times: list[float] = field(default_factory=list)  # wall clock, as creates arrived


class LoadProvider:
    """The provider's state and its ASGI app."""

    def __init__(self, config: LoadConfig) -> None:
        self.config = config
        self.stats = Stats()
        self.window = SlidingWindow(config.limit, config.window_s) if config.limit else None
        self.created: dict[str, float] = {}  # task id -> wall-clock creation time
        self.image = png(config.image_side, config.noise)
        self.lock = threading.Lock()
        routes = [
            Route(CREATE_PATH, self.create, methods=["POST"]),
            Route(STATUS_PATH, self.status, methods=["GET"]),
            Route("/r/{name}", self.result, methods=["GET"]),
            Route("/stats", self.report, methods=["GET"]),
        ]
        self.app = Starlette(routes=routes)

    def _limited(self, kind: str) -> Response | None:
        with self.lock:
            self.stats.order.append(kind)
            wait = self.window.hit() if self.window else None
            if wait is not None:
                self.stats.limited += 1
        if wait is None:
            return None
        body = {"code": 429, "msg": "Rate limit exceeded"}
        return JSONResponse(body, status_code=429, headers={"Retry-After": str(wait)})

    async def create(self, request: Request) -> Response:
        """A new task, at once."""
        await request.body()
        if (refused := self._limited("create")) is not None:
            return refused
        with self.lock:
            self.stats.creates += 1
            self.stats.create_times.append(time.time())
            task_id = f"L{len(self.created)}"
            self.created[task_id] = time.time()
        return JSONResponse({"code": 200, "msg": "success", "data": {"taskId": task_id}})

    async def status(self, request: Request) -> Response:
        """A task's status, ``delay_s`` later."""
        task_id = request.query_params.get("taskId", "")
        if (refused := self._limited("status")) is not None:
            return refused
        with self.lock:
            self.stats.statuses += 1
            self.stats.per_task[task_id] += 1
            self.stats.asked.append(task_id)
            self.stats.in_flight += 1
            self.stats.max_in_flight = max(self.stats.max_in_flight, self.stats.in_flight)
        try:
            await asyncio.sleep(self.config.delay_s)
        finally:
            with self.lock:
                self.stats.in_flight -= 1
        data = self._data(task_id, str(request.base_url).rstrip("/"))
        return JSONResponse({"code": 200, "msg": "success", "data": data})

    def _data(self, task_id: str, base: str) -> dict:
        created, task_s = self.created.get(task_id), self.config.task_s
        if created is None or task_s is None or time.time() < created + task_s:
            return {"taskId": task_id, "state": "processing"}
        with self.lock:
            self.stats.finished.setdefault(task_id, created + task_s)
        urls = [f"{base}/r/{task_id}-{n}.png" for n in range(1, 5)]
        return {
            "taskId": task_id,
            "state": "success",
            "resultJson": json.dumps({"resultUrls": urls}),
            "createTime": int(created * 1000),
            "completeTime": int((created + task_s) * 1000),
            "costTime": int(task_s * 1000),
        }

    async def result(self, request: Request) -> Response:
        """A result image, ``result_delay_s`` later."""
        stats = self.stats
        with self.lock:
            stats.results.append(request.path_params["name"])
            stats.results_in_flight += 1
            stats.max_results_in_flight = max(stats.max_results_in_flight, stats.results_in_flight)
        try:
            await asyncio.sleep(self.config.result_delay_s)
        finally:
            with self.lock:
                stats.results_in_flight -= 1
        return Response(self.image, media_type="image/png")

    async def report(self, request: Request) -> Response:
        """The counts, as JSON (``?brief=1``: without the lists of every call)."""
        brief = bool(request.query_params.get("brief"))
        with self.lock:
            stats = {
                name: dict(value) if isinstance(value, dict) else copy.copy(value)
                for name, value in vars(self.stats).items()
                if not (brief and name in ("order", "asked", "results"))
            }
        return JSONResponse(stats)


@contextmanager
def load_provider(config: LoadConfig) -> Iterator[tuple[str, LoadProvider]]:
    """Serve a load provider on loopback from a thread; yields (base URL, provider)."""
    from tests.sandbox.server import serve_app

    provider = LoadProvider(config)
    with serve_app(provider.app) as url:
        yield url, provider


def main() -> None:
    """Serve a load provider until killed; prints its URL once it listens."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, value in asdict(LoadConfig()).items():
        kind = type(value) if value is not None else float
        kind = int if name == "limit" else kind
        kind = (lambda raw: raw == "1") if isinstance(value, bool) else kind
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=value)
    config = LoadConfig(**vars(parser.parse_args()))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"

    class Announcing(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            print(url, flush=True)

    config_ = uvicorn.Config(LoadProvider(config).app, log_level="warning", backlog=4096)
    Announcing(config_).run(sockets=[sock])


if __name__ == "__main__":
    main()
