"""The studio's settings, read once, and the provider connections made from them.

`Settings.load()` is the only place that reads the environment: each setting comes from an
argument, else the environment, else `.streamlit/secrets.toml` (passed in as a mapping), else
its default; defaults of the API's own fields are the contract's constants.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from mjstudio.api.defaults import (
    DEFAULT_AUTH_HEADER,
    DEFAULT_DEADLINE_S,
    DEFAULT_PROVIDER,
    DEFAULT_REQUEST_TYPE,
)

if TYPE_CHECKING:
    from mjstudio.api.client import MJClient, PollSchedule

# The client, its fence and schedule (httpx, pydantic) are imported where a connection uses them:
# the settings are read before the server listens, and those libraries load after it does.

SANDBOX_PREFIX = "/sandbox"
SANDBOX_IDENTITY = "embedded-sandbox"
DAY_S = 24 * 3600.0


def default_data_dir(env: Mapping[str, str]) -> Path:
    """``$XDG_DATA_HOME/mjstudio``, else ``~/.local/share/mjstudio``."""
    xdg = env.get("XDG_DATA_HOME", "").strip()
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "mjstudio"
    home = env.get("HOME", "").strip()
    return (Path(home) if home else Path.home()) / ".local" / "share" / "mjstudio"


def _poll(raw: str) -> tuple[float, float] | None:
    """``"first,every"`` seconds (or one number for both); empty means the seed's schedule."""
    raw = raw.strip()
    if not raw:
        return None
    first, _, every = raw.partition(",")
    return float(first), float(every or first)


def _text(raw: str) -> str | None:
    return raw.strip() or None


@dataclass(frozen=True)
class Settings:
    """Everything the studio reads from its environment, in one immutable object."""

    api_key: str | None = field(default=None, repr=False, metadata={"env": "MJ_API_KEY"})
    base_url: str | None = field(default=None, metadata={"env": "MJ_BASE_URL"})
    auth_header: str = field(default=DEFAULT_AUTH_HEADER, metadata={"env": "MJ_AUTH_HEADER"})
    provider: str = field(default=DEFAULT_PROVIDER, metadata={"env": "MJ_PROVIDER"})
    request_type: str = field(default=DEFAULT_REQUEST_TYPE, metadata={"env": "MJ_REQUEST_TYPE"})
    public_url: str | None = field(default=None, metadata={"env": "MJSTUDIO_PUBLIC_URL"})
    data_dir: Path | None = field(default=None, metadata={"env": "MJSTUDIO_DATA_DIR"})
    poll: tuple[float, float] | None = field(default=None, metadata={"env": "MJSTUDIO_POLL"})
    sandbox_latency_s: float = field(default=6.0, metadata={"env": "MJSTUDIO_SANDBOX_LATENCY"})
    upload_max_age_days: float = field(
        default=7.0, metadata={"env": "MJSTUDIO_UPLOAD_MAX_AGE_DAYS"}
    )
    sandbox_result_days: float = field(
        default=30.0, metadata={"env": "MJSTUDIO_SANDBOX_RESULT_DAYS"}
    )
    allow_private_urls: bool = field(default=False, metadata={"env": "MJSTUDIO_ALLOW_PRIVATE_URLS"})
    fetch_timeout_s: float = field(default=15.0, metadata={"env": "MJSTUDIO_FETCH_TIMEOUT"})
    max_result_mb: float = field(default=50.0, metadata={"env": "MJSTUDIO_MAX_RESULT_MB"})
    # A team's history on PostgreSQL (postgresql://user:password@host/db); SQLite when unset.
    database_url: str | None = field(
        default=None, repr=False, metadata={"env": "MJSTUDIO_DATABASE_URL"}
    )
    # The provider's request budget (creates and status calls together), kept on our side.
    rate_limit_per_minute: int = field(default=10_000, metadata={"env": "MJ_RATE_LIMIT"})
    # Status calls under way at once, at most (one event loop makes them all).
    status_concurrency: int = field(default=32, metadata={"env": "MJ_STATUS_CONCURRENCY"})
    # A prompt matrix or sweep of more tasks than this asks again before sending.
    batch_confirm: int = field(default=12, metadata={"env": "MJSTUDIO_BATCH_CONFIRM"})

    @classmethod
    def load(
        cls,
        secrets_map: Mapping[str, Any] | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> Settings:
        """Argument, then environment, then secrets, then default; the data folder resolved."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in overrides:
                values[f.name] = overrides[f.name]
                continue
            raw = str(
                env.get(f.metadata["env"]) or (secrets_map or {}).get(f.metadata["env"]) or ""
            )
            if raw.strip():
                values[f.name] = _PARSERS.get(f.name, _text)(raw)
        data_dir = values.get("data_dir") or default_data_dir(env)
        values["data_dir"] = Path(data_dir).expanduser().resolve()
        return cls(**values)

    @property
    def folder(self) -> Path:
        """The data folder (always set by :meth:`load`)."""
        return self.data_dir or Path.cwd()

    @property
    def upload_max_age_s(self) -> float:
        """How long an upload no task refers to is kept."""
        return self.upload_max_age_days * DAY_S

    def connection(self) -> Connection | None:
        """The configured provider connection; None when no API key is set."""
        if not self.api_key:
            return None
        return self.session_connection(
            self.base_url or "",
            self.api_key,
            auth_header=self.auth_header,
            provider=self.provider,
            callback_base=self.public_url,
            request_type=self.request_type,
        )

    def session_connection(
        self,
        base_url: str,
        api_key: str,
        *,
        auth_header: str = DEFAULT_AUTH_HEADER,
        provider: str = DEFAULT_PROVIDER,
        callback_base: str | None = None,
        request_type: str | None = None,
    ) -> Connection:
        """A provider connection (a key entered on Settings, say) under this process's limits."""
        return self._connection(
            base_url=base_url.strip().rstrip("/"),
            api_key=api_key.strip(),
            auth_header=auth_header.strip() or DEFAULT_AUTH_HEADER,
            provider=provider.strip() or DEFAULT_PROVIDER,
            request_type=request_type or ("callback" if callback_base else DEFAULT_REQUEST_TYPE),
            callback_base=(callback_base or "").strip().rstrip("/") or None,
        )

    def sandbox_connection(self, base_url: str, api_key: str) -> Connection:
        """The connection to the embedded sandbox served at ``base_url``: in callback mode when
        MJ_REQUEST_TYPE=callback and MJSTUDIO_PUBLIC_URL say so, as a configured provider is."""
        return self._connection(
            base_url=base_url,
            api_key=api_key,
            sandbox_latency=self.sandbox_latency_s,
            request_type=self.request_type,
            callback_base=self.public_url,
        )

    def _connection(self, **fields_: Any) -> Connection:
        """A connection with the process-wide polling, fetch and size settings."""
        return Connection(
            poll=self.poll,
            allow_private_urls=self.allow_private_urls,
            fetch_timeout_s=self.fetch_timeout_s,
            max_result_mb=self.max_result_mb,
            **fields_,
        )


_PARSERS: dict[str, Callable[[str], Any]] = {
    "base_url": lambda raw: raw.strip().rstrip("/"),
    "data_dir": lambda raw: Path(raw.strip()),
    "poll": _poll,
    "sandbox_latency_s": float,
    "upload_max_age_days": float,
    "sandbox_result_days": float,
    "allow_private_urls": lambda raw: raw.strip().lower() in {"1", "true", "yes", "on"},
    "fetch_timeout_s": float,
    "max_result_mb": float,
    "rate_limit_per_minute": lambda raw: max(1, int(raw)),
    "batch_confirm": lambda raw: max(1, int(raw)),
    "status_concurrency": lambda raw: max(1, int(raw)),
    "public_url": lambda raw: raw.strip().rstrip("/") or None,
}


def workspace_id(base_url: str, api_key: str) -> str:
    """A short stable id for a provider URL and API key; the key cannot be read back from it."""
    parts = urlsplit(base_url.strip())
    url = urlunsplit(
        (parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), parts.query, "")
    )
    url_part = hashlib.sha256(url.encode()).hexdigest()[:8]
    key_part = hashlib.sha256(api_key.strip().encode()).hexdigest()[:8]
    return url_part + key_part


@dataclass(frozen=True)
class Connection:
    """One provider account as one session uses it: URL, key and the request's options."""

    base_url: str
    api_key: str = field(repr=False)
    auth_header: str = DEFAULT_AUTH_HEADER
    provider: str = DEFAULT_PROVIDER
    request_type: str = DEFAULT_REQUEST_TYPE
    callback_base: str | None = None
    sandbox_latency: float | None = None
    timeout_s: float = 30.0
    poll: tuple[float, float] | None = None
    allow_private_urls: bool = False  # result downloads: private addresses too (own machine)
    fetch_timeout_s: float = DEFAULT_DEADLINE_S  # one deadline per result download
    max_result_mb: float = 50.0  # per result file, in MB (10**6 bytes)

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
        from mjstudio.api.client import mask_key

        return mask_key(self.api_key)

    def client(self) -> MJClient:
        """A new client for this connection, its result downloads fenced and capped."""
        import httpx

        from mjstudio.api.client import MJClient
        from mjstudio.api.fence import FencePolicy

        timeout = httpx.Timeout(self.timeout_s, connect=min(10.0, self.timeout_s))
        fence = FencePolicy(
            allow_private=self.allow_private_urls,
            deadline_s=self.fetch_timeout_s,
            max_bytes=int(self.max_result_mb * 1_000_000),
        )
        return MJClient(
            self.api_key, self.base_url, auth_header=self.auth_header, timeout=timeout, fence=fence
        )

    def schedule(self, speed: str | None) -> PollSchedule:
        """The polling schedule for a task of this speed."""
        from mjstudio.api.client import schedule_for

        plan = schedule_for(speed, sandbox_latency=self.sandbox_latency)
        if self.poll:
            plan = replace(plan, first_s=self.poll[0], every_s=self.poll[1])
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
