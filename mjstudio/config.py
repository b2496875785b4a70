"""Where the studio talks to and keeps its data: the connection and the process settings."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx

from mjstudio.api.client import DEFAULT_AUTH_HEADER, MJClient, PollSchedule, mask_key, schedule_for
from mjstudio.tasks.store import workspace_id

SANDBOX_PREFIX = "/sandbox"
SANDBOX_IDENTITY = "embedded-sandbox"


def _poll_override() -> tuple[float, float] | None:
    """``MJSTUDIO_POLL="first,every"`` overrides the polling schedule (seconds)."""
    raw = os.environ.get("MJSTUDIO_POLL", "").strip()
    if not raw:
        return None
    first, _, every = raw.partition(",")
    return float(first), float(every or first)


@dataclass(frozen=True)
class Connection:
    """One provider account: URL, key and the request's common parameters."""

    base_url: str
    api_key: str = field(repr=False)
    auth_header: str = DEFAULT_AUTH_HEADER
    provider: str = "auto"
    request_type: str = "async"
    callback_base: str | None = None
    sandbox_latency: float | None = None
    timeout_s: float = 30.0

    @property
    def is_sandbox(self) -> bool:
        """True for the embedded sandbox provider."""
        return self.sandbox_latency is not None

    @property
    def workspace(self) -> str:
        """The workspace the tasks of this connection belong to."""
        identity = SANDBOX_IDENTITY if self.is_sandbox else self.base_url
        return workspace_id(identity, self.api_key)

    @property
    def masked_key(self) -> str:
        """The key as it may be shown."""
        return mask_key(self.api_key)

    def client(self) -> MJClient:
        """A new client for this connection."""
        timeout = httpx.Timeout(self.timeout_s, connect=min(10.0, self.timeout_s))
        return MJClient(self.api_key, self.base_url, auth_header=self.auth_header, timeout=timeout)

    def schedule(self, speed: str | None) -> PollSchedule:
        """The polling schedule for a task of this speed."""
        plan = schedule_for(speed, sandbox_latency=self.sandbox_latency)
        override = _poll_override()
        if override:
            plan = replace(plan, first_s=override[0], every_s=override[1])
        return plan


def sandbox_key(data_dir: Path) -> str:
    """The embedded sandbox's key, made once and kept in the data folder."""
    path = data_dir / "sandbox" / "key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = "sbx-" + secrets.token_urlsafe(24)
    path.write_text(key)
    path.chmod(0o600)
    return key


def env_connection(secrets_map: dict | None = None) -> Connection | None:
    """The connection configured by environment (or secrets); None when no key is set."""
    get = _lookup(secrets_map or {})
    key = get("MJ_API_KEY")
    if not key:
        return None
    return Connection(
        base_url=get("MJ_BASE_URL"),
        api_key=key,
        auth_header=get("MJ_AUTH_HEADER") or DEFAULT_AUTH_HEADER,
        provider=get("MJ_PROVIDER") or "auto",
        request_type=get("MJ_REQUEST_TYPE") or "async",
        callback_base=get("MJSTUDIO_PUBLIC_URL") or None,
    )


def _lookup(secrets_map: dict):
    def get(name: str) -> str:
        return str(os.environ.get(name) or secrets_map.get(name) or "").strip()

    return get
