"""The outbound fence against loopback servers (127.0.0.1 counts as private for the fence)."""

from __future__ import annotations

import pytest

from mjstudio.api import fence
from mjstudio.api.errors import FETCH_FAILED, FetchRefused, MJError, ResultTooLarge
from mjstudio.api.fence import Fence, FencePolicy, address_refusal
from tests.api import servers
from tests.api.servers import closed_port, drip, flood, not_http, redirect, send, serve

STRICT = FencePolicy()
LOOPBACK = FencePolicy(own_hosts=frozenset({"127.0.0.1"}))  # as a provider on 127.0.0.1
PRIVATE_OK = FencePolicy(allow_private=True)
PNG = servers.png()


def refused(url: str, policy: FencePolicy = STRICT) -> FetchRefused:
    with Fence(policy) as f, pytest.raises(FetchRefused) as err:
        f.fetch(url)
    assert isinstance(err.value, MJError)  # the tracker's `except MJError` handles it
    assert err.value.message.startswith(FETCH_FAILED)
    return err.value


def image_routes() -> dict:
    return {"/img": lambda h: send(h, 200, PNG, Content_Type="image/png")}


# --------------------------------------------------------------------------- addresses


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.3.4.5",
        "::1",
        "10.0.0.1",
        "172.16.0.1",
        "192.168.1.1",
        "100.64.0.1",  # carrier-grade NAT
        "169.254.1.1",  # link-local
        "fe80::1",
        "fc00::1",
        "fec0::1",  # site-local
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "::ffff:10.0.0.1",
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "240.0.0.1",  # reserved
        "::7f00:1",  # IPv4-compatible (reserved)
    ],
)
def test_non_public_addresses_are_refused_unless_private_is_allowed(address: str) -> None:
    assert address_refusal(address) == fence.PRIVATE
    assert address_refusal(address, allow_private=True) is None


@pytest.mark.parametrize(
    "address",
    ["169.254.169.254", "fd00:ec2::254", "100.100.100.200", "::ffff:169.254.169.254"],
)
def test_cloud_metadata_is_refused_even_when_private_is_allowed(address: str) -> None:
    assert address_refusal(address) == fence.METADATA
    assert address_refusal(address, allow_private=True) == fence.METADATA


@pytest.mark.parametrize("address", ["224.0.0.1", "ff02::1", "0.0.0.0", "::"])
def test_multicast_and_unspecified_are_always_refused(address: str) -> None:
    assert address_refusal(address, allow_private=True) == fence.RESERVED


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700::1111", "8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    assert address_refusal(address) is None


# --------------------------------------------------------------------------- fetching


def test_loopback_is_refused_by_default_and_never_contacted() -> None:
    with serve(image_routes()) as (url, seen):
        assert refused(f"{url}/img").reason == fence.PRIVATE
        # by name, resolved by the system: localhost is loopback too
        assert refused(url.replace("127.0.0.1", "localhost") + "/img").reason == fence.PRIVATE
    assert seen.requests == []


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", fence.METADATA),
        ("http://[fd00:ec2::254]/latest/meta-data/", fence.METADATA),
        ("http://10.20.30.40:22/", fence.PRIVATE),
        ("http://192.168.0.1/admin", fence.PRIVATE),
        ("http://0.0.0.0:80/", fence.RESERVED),
        ("http://2130706433/", fence.PRIVATE),  # 127.0.0.1 written as one number
    ],
)
def test_private_and_metadata_urls_are_refused_before_connecting(url: str, reason: str) -> None:
    assert refused(url).reason == reason
    if reason != fence.PRIVATE:  # metadata and unspecified: refused in every policy
        assert refused(url, PRIVATE_OK).reason == reason


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "ftp://example.com/x.png", "gopher://127.0.0.1:70/", "data:,x", "x"],
)
def test_only_http_and_https_are_fetched(url: str) -> None:
    assert refused(url, PRIVATE_OK).reason in {fence.SCHEME, fence.NOT_A_URL}


def test_allow_private_and_own_hosts_accept_loopback() -> None:
    with serve(image_routes()) as (url, _):
        assert fence.fetch(f"{url}/img", PRIVATE_OK) == PNG
        assert fence.fetch(f"{url}/img", LOOPBACK) == PNG


def test_a_name_resolving_to_a_private_address_is_refused() -> None:
    intranet = FencePolicy(resolver=lambda host, port: ["10.1.2.3"])
    assert refused("http://images.example/x.png", intranet).reason == fence.PRIVATE


def test_the_connection_goes_to_the_checked_address_with_the_name_kept() -> None:
    # images.example exists in no DNS: the fetch works only because the fence connects to the
    # address its resolver answered (and checked), and the Host header keeps the name.
    asked: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"]

    policy = FencePolicy(own_hosts=frozenset({"images.example"}), resolver=resolver)
    with serve(image_routes()) as (url, seen):
        port = url.rsplit(":", 1)[1]
        assert fence.fetch(f"http://images.example:{port}/img", policy) == PNG
    assert asked == ["images.example"]
    assert seen.requests[0]["headers"]["Host"] == f"images.example:{port}"


def test_a_redirect_from_an_allowed_host_to_a_refused_one_is_not_followed() -> None:
    with serve(image_routes()) as (inner, inner_seen):
        elsewhere = inner.replace("127.0.0.1", "localhost")  # another host, loopback
        routes = {
            "/to-inner": lambda h: redirect(h, f"{elsewhere}/img"),
            "/to-metadata": lambda h: redirect(h, "http://169.254.169.254/latest/"),
            "/to-file": lambda h: redirect(h, "file:///etc/passwd"),
        }
        with serve(routes) as (url, seen):
            assert refused(f"{url}/to-inner", LOOPBACK).reason == fence.PRIVATE
            assert refused(f"{url}/to-metadata", LOOPBACK).reason == fence.METADATA
            assert refused(f"{url}/to-file", LOOPBACK).reason == fence.SCHEME
    assert len(seen.requests) == 3
    assert inner_seen.requests == []


def hops(h) -> None:
    left = int(h.path.rsplit("/", 1)[1])
    if left:
        redirect(h, f"/hop/{left - 1}")
    else:
        send(h, 200, PNG)


def test_at_most_three_redirects() -> None:
    with serve({"/hop/": hops}) as (url, seen):
        assert fence.fetch(f"{url}/hop/3", LOOPBACK) == PNG
        assert refused(f"{url}/hop/4", LOOPBACK).reason == fence.TOO_MANY_REDIRECTS
    assert seen.paths[-4:] == ["/hop/4", "/hop/3", "/hop/2", "/hop/1"]  # /hop/0 never asked


def test_a_drip_is_cut_at_the_total_deadline_not_per_read() -> None:
    # 40 bytes, one every 0.2 s: no single read waits long, the whole takes ~8 s.
    policy = FencePolicy(own_hosts=frozenset({"127.0.0.1"}), deadline_s=1.0)
    with serve({"/drip": drip}) as (url, _):
        err = refused(f"{url}/drip", policy)
    assert err.reason == fence.TIMED_OUT and not err.retryable


def test_a_server_that_never_answers_is_cut_at_the_deadline() -> None:
    policy = FencePolicy(own_hosts=frozenset({"127.0.0.1"}), deadline_s=0.5)
    with serve({"/hang": lambda h: drip(h, size=3, every_s=30)}) as (url, _):
        assert refused(f"{url}/hang", policy).reason == fence.TIMED_OUT


@pytest.mark.parametrize("declare", [True, False])
def test_the_byte_cap_stops_the_download(declare: bool) -> None:
    policy = FencePolicy(own_hosts=frozenset({"127.0.0.1"}), max_bytes=1_000_000)
    with serve({"/big": lambda h: flood(h, declare=declare)}) as (url, _):
        err = refused(f"{url}/big", policy)
    assert isinstance(err, ResultTooLarge) and "too large" in err.reason


def test_the_byte_cap_allows_a_body_of_exactly_the_cap() -> None:
    policy = FencePolicy(own_hosts=frozenset({"127.0.0.1"}), max_bytes=len(PNG))
    with serve(image_routes()) as (url, _):
        assert fence.fetch(f"{url}/img", policy) == PNG


def test_open_and_closed_ports_give_the_same_message() -> None:
    with not_http() as open_port:
        urls = [f"http://127.0.0.1:{p}/x.png" for p in (open_port, closed_port())]
        default = {refused(u).message for u in urls}
        lenient = {refused(u, PRIVATE_OK).message for u in urls}
    assert default == {f"{FETCH_FAILED} ({fence.PRIVATE})"}
    assert lenient == {FETCH_FAILED}


def test_an_error_status_is_reported_without_reading_the_body() -> None:
    with serve({"/gone": lambda h: send(h, 410, b"x" * 100)}) as (url, _):
        got = fence.get(f"{url}/gone", LOOPBACK)
        assert (got.status_code, got.content) == (410, b"")
        assert refused(f"{url}/gone", LOOPBACK).reason == "HTTP 410"


def test_with_own_host_takes_the_host_of_a_base_url() -> None:
    policy = FencePolicy().with_own_host("http://LocalHost.:8501/sandbox")
    assert policy.own_hosts == {"localhost"}
    assert FencePolicy().with_own_host("not a url").own_hosts == frozenset()
