"""A counting provider for the team test: the sandbox's endpoints, slow answers, a request log.

``python -m tests.team.provider --port P --api-key K --log FILE`` serves the sandbox provider
(``mjstudio.sandbox``: the same two endpoints, JSON shapes, task states and result images)
behind a wrapper that answers every request ``--delay`` seconds after it arrived (a slow link)
and logs every request as JSON lines: one when it arrives and one when it is answered, each
with its number, kind (create, status, download), the task it is about, when it arrived (and
was answered, with the HTTP status), and which process asked (the pid behind the loopback
connection, so that a test can tell several servers apart and see what each has under way).
A task finishes ``--task-s`` seconds after it was created; its four images are served here too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
import threading
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import uvicorn

from mjstudio.api.contract import CREATE_PATH, STATUS_PATH
from mjstudio.sandbox import SandboxSettings, create_app
from mjstudio.sandbox.__main__ import AnnouncingServer

READY = "team provider ready at"
FILES_PREFIX = "/files/"
UNLIMITED = 1_000_000  # the sandbox's own limits stay out of the way: the test counts instead


@dataclass(frozen=True)
class Request:
    """One request as a log line tells it: arrived, or answered (``done`` set)."""

    n: int  # the request's number (its two lines have the same)
    kind: str  # create, status, download or other
    task: str | None  # the provider's task id (a create's: the one it answered with)
    at: float  # when it arrived (seconds since the epoch)
    done: float | None  # when it was answered (None: the line of its arrival)
    code: int  # the HTTP status (0: not answered, or the app answered nothing)
    path: str  # the URL path asked for
    peer: int | None  # the pid of the process that asked (None: not found)
    prompt: str | None = None  # a create's prompt


def read_log(path: Path) -> list[Request]:
    """Every line of the log so far: arrivals and answers, in the order they were written."""
    try:
        lines = path.read_text("utf-8").splitlines()
    except FileNotFoundError:
        return []
    found = []
    for line in lines:
        try:
            found.append(Request(**json.loads(line)))
        except (ValueError, TypeError):  # a line still being written
            continue
    return found


def classify(method: str, path: str, query: str, body: bytes) -> tuple[str, str | None, Any]:
    """The kind of a request, the task it names (if any) and a create's prompt."""
    if path == CREATE_PATH and method == "POST":
        try:
            prompt = json.loads(body or b"{}").get("input", {}).get("prompt")
        except (ValueError, AttributeError):
            prompt = None
        return "create", None, prompt
    if path == STATUS_PATH:
        return "status", (parse_qs(query).get("taskId") or [None])[0], None
    if path.startswith(FILES_PREFIX):
        name = path.rsplit("/", 1)[-1]  # <task id>_<index>.png
        return "download", name.rpartition("_")[0] or None, None
    return "other", None, None


def created_task(body: bytes) -> str | None:
    """The task id a create's answer carries."""
    try:
        return json.loads(body)["data"]["taskId"]
    except (ValueError, KeyError, TypeError):
        return None


class Peers:
    """Which process asks: the pid owning the client's end of a loopback connection (Linux).

    The client's socket is found in ``/proc/net/tcp`` by its port and ours, its owner by the
    ``socket:[inode]`` links under ``/proc/<pid>/fd``; an inode names one socket for its life,
    so the answer is kept per inode.
    """

    def __init__(self) -> None:
        self._owners: dict[str, int | None] = {}

    def pid(self, client: tuple[str, int] | None, server: tuple[str, int] | None) -> int | None:
        """The pid of the process that opened this connection, or None when not found."""
        if not client or not server:
            return None
        inode = _client_inode(client[1], server[1])
        if inode is None:
            return None
        if inode not in self._owners:
            self._owners[inode] = _socket_owner(inode)
        return self._owners[inode]


def _client_inode(client_port: int, server_port: int) -> str | None:
    """The inode of the IPv4 socket from ``client_port`` to ``server_port``."""
    try:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        local, remote = fields[1].split(":")[1], fields[2].split(":")[1]
        if int(local, 16) == client_port and int(remote, 16) == server_port:
            return fields[9]
    return None


def _socket_owner(inode: str) -> int | None:
    """The process holding ``socket:[inode]`` open."""
    target = f"socket:[{inode}]"
    for process in os.scandir("/proc"):
        if not process.name.isdigit():
            continue
        try:
            for fd in os.scandir(f"/proc/{process.name}/fd"):
                if os.readlink(fd.path) == target:
                    return int(process.name)
        except OSError:  # gone meanwhile, or not ours to look into
            continue
    return None


class CountingApp:
    """ASGI wrapper: log each request as it comes, answer it ``delay_s`` seconds later, log that."""

    def __init__(self, app: Any, delay_s: float, log_path: Path) -> None:
        self.app = app
        self.delay_s = delay_s
        self.log_path = log_path
        self.peers = Peers()
        self._lock = threading.Lock()
        self._count = 0

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        arrived = time.time()
        body = await _read_body(receive)
        path, query = scope["path"], scope.get("query_string", b"").decode()
        kind, task, prompt = classify(scope["method"], path, query, body)
        where = (scope.get("client"), scope.get("server"))
        peer = await asyncio.get_running_loop().run_in_executor(None, self.peers.pid, *where)
        self._count += 1
        asked = Request(self._count, kind, task, arrived, None, 0, path, peer, prompt)
        self._write(asked)
        await asyncio.sleep(max(0.0, arrived + self.delay_s - time.time()))
        answer: dict[str, Any] = {"code": 0, "body": b""}
        try:
            await self.app(scope, _replay(body), _watch(send, answer, kind == "create"))
        finally:  # logged even when the asker went away meanwhile
            task = created_task(answer["body"]) if kind == "create" else task
            done = time.time()
            self._write(replace(asked, task=task, done=done, code=answer["code"]))

    def _write(self, request: Request) -> None:
        line = json.dumps(asdict(request)) + "\n"
        with self._lock, self.log_path.open("a", encoding="utf-8") as out:
            out.write(line)


def _watch(send: Any, answer: dict[str, Any], keep_body: bool) -> Any:
    """A ``send`` that passes every message on, keeping the status (and body) in ``answer``."""

    async def watched(message: dict) -> None:
        if message["type"] == "http.response.start":
            answer["code"] = message["status"]
        elif message["type"] == "http.response.body" and keep_body:
            answer["body"] += message.get("body", b"")
        await send(message)

    return watched


async def _read_body(receive: Any) -> bytes:
    """The whole request body."""
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes) -> Any:
    """A ``receive`` that hands the app the body read already, then waits like a quiet client."""
    sent = False

    async def receive() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # never set: the client does not disconnect
        return {"type": "http.disconnect"}

    return receive


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    p = argparse.ArgumentParser(prog="python -m tests.team.provider", description=__doc__)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--api-key", required=True)
    p.add_argument("--log", type=Path, required=True, help="JSON lines, one per request")
    p.add_argument("--data-dir", type=Path, required=True)
    p.add_argument("--delay", type=float, default=2.0, help="seconds before each answer")
    p.add_argument("--task-s", type=float, default=20.0, help="seconds from create to result")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Serve on 127.0.0.1 until killed."""
    args = parse_args(argv)
    settings = SandboxSettings(
        api_key=args.api_key,
        latency_s=args.task_s,
        rate_limit_per_minute=UNLIMITED,
        max_concurrent=UNLIMITED,
        data_dir=args.data_dir,
    )
    app = CountingApp(create_app(settings), args.delay, args.log)
    sock = socket.socket(socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    AnnouncingServer(config, f"{READY} http://127.0.0.1:{args.port}").run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
