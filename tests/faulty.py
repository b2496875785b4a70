"""A scripted loopback HTTP server that misbehaves on purpose, for the client's fault tests."""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Script:
    """The answers to give, one per request, and what was asked."""

    def __init__(self, answers: list[tuple]) -> None:
        self.answers = list(answers)
        self.requests: list[dict] = []
        self.lock = threading.Lock()

    def next(self, request: dict) -> tuple:
        with self.lock:
            self.requests.append(request)
            return self.answers.pop(0) if self.answers else ("json", 500, {"code": 500})


def _handler(script: Script) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            answer = script.next(
                {
                    "method": self.command,
                    "path": self.path,
                    "headers": dict(self.headers),
                    "body": body,
                }
            )
            kind = answer[0]
            if kind == "sleep":
                time.sleep(answer[1])
                return
            if kind == "drop":
                self.close_connection = True
                self.connection.shutdown(2)
                return
            _, status, payload, *rest = answer
            headers = rest[0] if rest else {}
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _serve

    return Handler


@contextmanager
def faulty_server(answers: list[tuple]):
    """Serve scripted answers on 127.0.0.1; yields (base_url, script)."""
    script = Script(answers)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(script))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", script
    finally:
        server.shutdown()
        server.server_close()
