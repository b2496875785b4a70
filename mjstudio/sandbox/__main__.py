"""Run the sandbox provider: ``python -m mjstudio.sandbox --port 8765 --api-key KEY``."""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path

import uvicorn

from mjstudio.sandbox.endpoints import create_app
from mjstudio.sandbox.options import FIFTEEN_DAYS_S, SandboxSettings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    p = argparse.ArgumentParser(prog="python -m mjstudio.sandbox", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    p.add_argument("--api-key", required=True)
    p.add_argument("--latency", type=float, default=6.0, help="seconds from create to result")
    p.add_argument("--data-dir", type=Path, default=None, help="default: a temporary folder")
    p.add_argument("--auth-header", default="Authorization")
    p.add_argument("--rate-limit", type=int, default=10_000, help="requests a minute")
    p.add_argument("--max-concurrent", type=int, default=1_000)
    p.add_argument("--result-ttl", type=float, default=FIFTEEN_DAYS_S, help="seconds")
    p.add_argument("--public-base-url", default=None)
    return p.parse_args(argv)


def settings_from(args: argparse.Namespace) -> SandboxSettings:
    """Settings from parsed arguments."""
    return SandboxSettings(
        api_key=args.api_key,
        auth_header=args.auth_header,
        latency_s=args.latency,
        rate_limit_per_minute=args.rate_limit,
        max_concurrent=args.max_concurrent,
        result_ttl_s=args.result_ttl,
        data_dir=args.data_dir,
        public_base_url=args.public_base_url,
    )


class AnnouncingServer(uvicorn.Server):
    """A uvicorn server that prints one line (``announce``) once it accepts connections."""

    def __init__(self, config: uvicorn.Config, announce: str) -> None:
        super().__init__(config)
        self.announce = announce

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            print(self.announce, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the sandbox until interrupted."""
    args = parse_args(argv)
    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(settings_from(args)), log_level="warning")
    host = f"[{args.host}]" if ":" in args.host else args.host
    AnnouncingServer(config, f"MJ Studio sandbox ready at http://{host}:{port}").run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
