"""Settings of the sandbox provider, in one object."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from mjstudio.api.fence import FencePolicy

DEFAULT_BLOCKED_WORDS = ("gore", "nsfw", "blood", "nude", "porn", "massacre")
FIFTEEN_DAYS_S = 15 * 24 * 3600.0
ONE_DAY_S = 24 * 3600.0
TEN_MB = 10 * 1024 * 1024


@dataclass
class SandboxSettings:
    """How the local stand-in provider behaves: auth, timing, limits, storage."""

    api_key: str
    auth_header: str = "Authorization"
    latency_s: float = 6.0
    rate_limit_per_minute: int = 10_000
    max_concurrent: int = 1_000
    blocked_words: tuple[str, ...] = field(default=DEFAULT_BLOCKED_WORDS)
    result_ttl_s: float = FIFTEEN_DAYS_S  # results expire, then the task and its files go
    prune_every_s: float = ONE_DAY_S  # expired tasks are deleted at start and this often
    data_dir: Path | None = None
    public_base_url: str | None = None
    max_image_bytes: int = TEN_MB
    fetch_timeout_s: float = 5.0
    workers: int = field(default_factory=lambda: max(2, min(4, os.cpu_count() or 2)))
    callback_attempts: int = 3
    # Headers besides auth_header that also carry the bare key (no "Bearer"), e.g. ("x-api-key",).
    extra_auth_headers: tuple[str, ...] = ()
    # Embedded in a studio: the origins (scheme://host:port) whose images it may fetch even on a
    # private address (the studio's own upload links); None for a stand-alone sandbox, which
    # trusts this machine's loopback by name.
    trusted_origins: set[str] | None = None
    allow_private_urls: bool = False

    def __post_init__(self) -> None:
        if not self.api_key:
            raise ValueError("api_key must not be empty")
        if self.latency_s < 0:
            raise ValueError("latency_s must be >= 0")
        if self.rate_limit_per_minute < 1 or self.max_concurrent < 1:
            raise ValueError("rate_limit_per_minute and max_concurrent must be >= 1")
        self.extra_auth_headers = self._extra_headers()
        self.blocked_words = tuple(w.strip().lower() for w in self.blocked_words if w.strip())
        if self.data_dir is not None:
            self.data_dir = Path(self.data_dir)
        if self.public_base_url:
            self.public_base_url = self.public_base_url.rstrip("/")

    def _extra_headers(self) -> tuple[str, ...]:
        """extra_auth_headers stripped, blanks dropped; none may repeat auth_header."""
        given = self.extra_auth_headers
        given = (given,) if isinstance(given, str) else given
        names = tuple(h.strip() for h in given if h.strip())
        if self.auth_header.strip().lower() in {h.lower() for h in names}:
            raise ValueError("extra_auth_headers must not repeat auth_header")
        return names

    def fence_for(self, url: str) -> FencePolicy | None:
        """The outbound policy for a reference URL (None: the stand-alone default)."""
        if self.trusted_origins is None:
            return None
        parts = urlsplit(url)
        trusted = f"{parts.scheme}://{parts.netloc}".lower() in self.trusted_origins
        own = frozenset({parts.hostname or ""}) if trusted else frozenset()
        return FencePolicy(allow_private=self.allow_private_urls, own_hosts=own)

    @property
    def bearer(self) -> bool:
        """True when the key comes as ``Authorization: Bearer <key>``."""
        return self.auth_header.strip().lower() == "authorization"
