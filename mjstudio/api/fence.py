"""The outbound-request fence: how the studio fetches a URL that someone else chose.

Result downloads, Paint's pasted URL and the sandbox's reference images all go through a
:class:`Fence`: http(s) only; every address is checked after DNS resolution, on every redirect,
and the connection goes to the very address that was checked (so a second DNS answer cannot
slip in; the Host header and TLS SNI keep the name); loopback, private, link-local, multicast,
reserved, unspecified and cloud-metadata addresses are refused unless the policy allows private
addresses or the host is one of its own hosts (metadata addresses never); at most 3 redirects;
one deadline for the whole fetch, not per read; a byte cap. Every failure is a
:class:`~mjstudio.api.errors.FetchRefused` whose message does not tell open from closed ports.
"""

from __future__ import annotations

import http.cookiejar
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import httpcore
import httpx

from mjstudio.api.defaults import DEFAULT_DEADLINE_S as DEFAULT_DEADLINE_S
from mjstudio.api.errors import FetchRefused, ResultTooLarge

DEFAULT_MAX_BYTES = 50_000_000
MAX_REDIRECTS = 3
SCHEMES = ("http", "https")

# The safe reasons a refusal may give (nothing here depends on whether a port is open).
PRIVATE = "private address refused"
METADATA = "cloud metadata address refused"
RESERVED = "reserved address refused"
SCHEME = "only http and https URLs are fetched"
NOT_A_URL = "not a valid URL"
TIMED_OUT = "timed out"
TOO_MANY_REDIRECTS = "too many redirects"

# Instance-metadata and host-agent endpoints of the cloud providers: refused in every policy.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean...
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.170.23",  # AWS EKS pod identity
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "fd00:ec2::23",  # AWS EKS pod identity over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud
        "168.63.129.16",  # Azure wire server
    )
)
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

Resolver = Callable[[str, int], list[str]]
IP = ipaddress.IPv4Address | ipaddress.IPv6Address

# The deadline of the fetch running in this thread (monotonic seconds); read on every socket use.
_DEADLINE: ContextVar[float | None] = ContextVar("mjstudio_fetch_deadline", default=None)


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses of a host name (IP literals resolve to themselves), without repeats."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def host_name(host: str) -> str:
    """A host as the fence compares it: lower case, no brackets, no trailing dot."""
    return host.strip().strip("[]").rstrip(".").lower()


@dataclass(frozen=True)
class FencePolicy:
    """What one kind of outbound fetch may reach, and how much of it."""

    allow_private: bool = False
    own_hosts: frozenset[str] = frozenset()
    deadline_s: float = DEFAULT_DEADLINE_S
    max_bytes: int = DEFAULT_MAX_BYTES
    max_redirects: int = MAX_REDIRECTS
    resolver: Resolver = field(default=system_resolver, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "own_hosts", frozenset(map(host_name, self.own_hosts)))

    def with_own_host(self, url: str) -> FencePolicy:
        """This policy with the host of ``url`` (a provider's base URL) always allowed."""
        try:
            host = httpx.URL(url.strip()).host
        except (httpx.InvalidURL, ValueError):
            return self
        return replace(self, own_hosts=self.own_hosts | {host}) if host else self

    def refusal(self, host: str, address: str) -> str | None:
        """Why ``host``'s resolved ``address`` may not be connected to; None when it may."""
        lenient = self.allow_private or host_name(host) in self.own_hosts
        return address_refusal(address, allow_private=lenient)


def address_refusal(address: str, *, allow_private: bool = False) -> str | None:
    """Why an IP address may not be connected to (a safe reason), or None when it may."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return NOT_A_URL
    candidates = [ip, *_embedded_ipv4(ip)]
    if any(c in METADATA_ADDRESSES for c in candidates):
        return METADATA
    if any(c.is_multicast or c.is_unspecified for c in candidates):
        return RESERVED
    if allow_private:
        return None
    return None if all(_is_public(c) for c in candidates) else PRIVATE


def _embedded_ipv4(ip: IP) -> list[ipaddress.IPv4Address]:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64), if any."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return []
    if ip.ipv4_mapped:
        return [ip.ipv4_mapped]
    if ip.sixtofour:
        return [ip.sixtofour]
    if ip in _NAT64:
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    return []


def _is_public(ip: IP) -> bool:
    if not ip.is_global or ip.is_private or ip.is_reserved:
        return False
    if ip.is_loopback or ip.is_link_local or getattr(ip, "is_site_local", False):
        return False
    return not (ip.is_multicast or ip.is_unspecified)


def _left(timeout: float | None, error: type[Exception]) -> float | None:
    """``timeout`` cut to what is left of this thread's fetch deadline; ``error`` once past."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error(TIMED_OUT)
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every read and write ends by the fetch's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        left = _left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, left))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _FencedBackend(httpcore.NetworkBackend):
    """Resolves, checks every address, then connects to a checked address (never re-resolves)."""

    def __init__(self, policy: FencePolicy) -> None:
        self._policy = policy
        self._sockets = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = self._policy.resolver(host, port)
        except (OSError, UnicodeError):
            raise httpcore.ConnectError("name not resolved") from None
        refusals = {a: self._policy.refusal(host, a) for a in addresses}
        allowed = [a for a, why in refusals.items() if why is None]
        if not allowed:
            raise FetchRefused(next(iter(refusals.values()), None) or PRIVATE)
        failure: Exception = httpcore.ConnectError("no address answered")
        for address in allowed:
            left = _left(timeout, httpcore.ConnectTimeout)
            try:
                stream = self._sockets.connect_tcp(
                    address, port, left, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            return _DeadlineStream(stream)
        raise failure

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise FetchRefused(SCHEME)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class FencedTransport(httpx.HTTPTransport):
    """httpx's transport with every connection made by the fence's checked backend."""

    def __init__(self, policy: FencePolicy) -> None:
        context = httpx.create_ssl_context()
        super().__init__(verify=context)
        self._pool = httpcore.ConnectionPool(
            ssl_context=context,
            max_connections=20,
            max_keepalive_connections=10,
            keepalive_expiry=5.0,
            network_backend=_FencedBackend(policy),
        )


@dataclass(frozen=True)
class Fetched:
    """What a fenced GET returned: the status, the body (of a 2xx only) and the final URL."""

    status_code: int
    content: bytes
    url: str


def checked_url(url: str | httpx.URL) -> httpx.URL:
    """The URL parsed, if it is an http(s) URL with a host; else FetchRefused."""
    try:
        parsed = httpx.URL(url.strip() if isinstance(url, str) else url)
    except (httpx.InvalidURL, ValueError, TypeError):
        raise FetchRefused(NOT_A_URL) from None
    if parsed.scheme not in SCHEMES:
        raise FetchRefused(SCHEME)
    if not parsed.host:
        raise FetchRefused(NOT_A_URL)
    return parsed


def _no_cookies() -> http.cookiejar.CookieJar:
    """A cookie jar that keeps nothing: one visitor's fetch never carries another's cookies."""
    return http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=()))


class Fence:
    """Fetches URLs under one policy; thread-safe and reusable (``close`` when done)."""

    def __init__(self, policy: FencePolicy | None = None) -> None:
        self.policy = policy or FencePolicy()
        self._client = httpx.Client(
            transport=FencedTransport(self.policy),
            follow_redirects=False,  # followed here, each hop checked and counted
            timeout=httpx.Timeout(self.policy.deadline_s),
            trust_env=False,  # no proxy from the environment: the check is on the real peer
            cookies=_no_cookies(),
            headers={"Accept-Encoding": "identity"},
        )

    def __enter__(self) -> Fence:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def get(self, url: str) -> Fetched:
        """GET a URL within the policy; any HTTP status is returned, any other failure raised."""
        token = _DEADLINE.set(time.monotonic() + self.policy.deadline_s)
        try:
            return self._follow(checked_url(url))
        except httpx.TimeoutException:
            raise FetchRefused(TIMED_OUT) from None
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, OSError, ValueError):
            raise FetchRefused(retryable=True) from None
        finally:
            _DEADLINE.reset(token)

    def fetch(self, url: str) -> bytes:
        """The body of a URL that answers 2xx; FetchRefused (saying the status) otherwise."""
        got = self.get(url)
        if not 200 <= got.status_code < 300:
            again = got.status_code == 429 or got.status_code >= 500
            raise FetchRefused(f"HTTP {got.status_code}", retryable=again)
        return got.content

    def _follow(self, url: httpx.URL) -> Fetched:
        for _ in range(self.policy.max_redirects + 1):
            with self._client.stream("GET", url) as resp:
                if not resp.has_redirect_location:
                    return Fetched(resp.status_code, self._body(resp), str(resp.url))
                url = checked_url(resp.url.join(resp.headers["location"]))
        raise FetchRefused(TOO_MANY_REDIRECTS)

    def _body(self, resp: httpx.Response) -> bytes:
        """A 2xx body read up to the byte cap (an error's body is not read at all)."""
        if not 200 <= resp.status_code < 300:
            return b""
        cap = self.policy.max_bytes
        too_large = ResultTooLarge(f"too large: over {cap / 1_000_000:g} MB")
        declared = resp.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise too_large
        body = bytearray()
        for chunk in resp.iter_bytes():
            body += chunk
            if len(body) > cap:
                raise too_large
        return bytes(body)


@lru_cache(maxsize=16)
def shared(policy: FencePolicy) -> Fence:
    """One Fence per policy for the whole process (its connections are pooled)."""
    return Fence(policy)


def fetch(url: str, policy: FencePolicy | None = None) -> bytes:
    """The body of an http(s) URL fetched within ``policy``; FetchRefused saying why not."""
    return shared(policy or FencePolicy()).fetch(url)


def get(url: str, policy: FencePolicy | None = None) -> Fetched:
    """A fenced GET of ``url`` within ``policy`` (any HTTP status is returned, not raised)."""
    return shared(policy or FencePolicy()).get(url)
