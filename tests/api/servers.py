"""Loopback servers for the outbound-fence tests: routes by path, drips, floods, bombs."""

from __future__ import annotations

import io
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image

Route = Callable[[BaseHTTPRequestHandler], None]


def png(size: tuple[int, int] = (64, 48), colour: tuple[int, int, int] = (10, 120, 200)) -> bytes:
    """A small real PNG."""
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def bomb_png(width: int = 9000, height: int = 9500, rows: int | None = None) -> bytes:
    """A 1-bit PNG of ``width`` x ``height`` white pixels, a few KB compressed.

    ``rows`` < height gives a PNG whose header promises more than its data holds.
    """
    row = b"\x00" + b"\xff" * ((width + 7) // 8)
    packer = zlib.compressobj(9)
    count = height if rows is None else rows
    idat = b"".join(packer.compress(row) for _ in range(count)) + packer.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    chunks = chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def send(h: BaseHTTPRequestHandler, status: int, body: bytes = b"", **headers: str) -> None:
    """A complete response with a Content-Length."""
    h.send_response(status)
    for name, value in headers.items():
        h.send_header(name.replace("_", "-"), value)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


def redirect(h: BaseHTTPRequestHandler, location: str, status: int = 302) -> None:
    """A redirect to ``location``."""
    send(h, status, b"", Location=location)


def drip(h: BaseHTTPRequestHandler, size: int = 40, every_s: float = 0.2) -> None:
    """A 200 whose ``size`` bytes come one at a time, ``every_s`` apart (a slow-loris body)."""
    h.send_response(200)
    h.send_header("Content-Length", str(size))
    h.end_headers()
    for _ in range(size):
        try:
            h.wfile.write(b"x")
            h.wfile.flush()
        except OSError:  # the client gave up: good
            return
        time.sleep(every_s)


def flood(h: BaseHTTPRequestHandler, total: int = 64_000_000, declare: bool = False) -> None:
    """A 200 of ``total`` bytes sent in 64 KB chunks, with or without a Content-Length."""
    h.send_response(200)
    if declare:
        h.send_header("Content-Length", str(total))
    else:
        h.send_header("Connection", "close")
    h.end_headers()
    block = b"\0" * 65536
    try:
        for _ in range(total // len(block)):
            h.wfile.write(block)
    except OSError:  # the client stopped reading at its cap
        return


class Seen:
    """The requests a server received (path and headers)."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.lock = threading.Lock()

    def add(self, h: BaseHTTPRequestHandler) -> None:
        with self.lock:
            self.requests.append({"path": h.path, "headers": dict(h.headers)})

    @property
    def paths(self) -> list[str]:
        with self.lock:
            return [r["path"] for r in self.requests]


@contextmanager
def serve(routes: dict[str, Route], host: str = "127.0.0.1") -> Iterator[tuple[str, Seen]]:
    """Serve routes (by path prefix, longest first) on a loopback port; yields (url, seen)."""
    seen = Seen()
    ordered = sorted(routes.items(), key=lambda item: -len(item[0]))

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            seen.add(self)
            for prefix, route in ordered:
                if self.path.startswith(prefix):
                    route(self)
                    return
            send(self, 404, b"missing")

        do_POST = do_GET

    server = ThreadingHTTPServer((host, 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://{host}:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def not_http() -> Iterator[int]:
    """A loopback port that is open but speaks no HTTP (greets like SSH, then hangs up)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.settimeout(0.2)
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            with conn:
                conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=2)
        sock.close()


def closed_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
