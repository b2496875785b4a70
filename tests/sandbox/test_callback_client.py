"""The sandbox sends its callbacks through one client per fence policy, kept for the process:
a callback does not wait for a client (and its TLS context) to be built, and callbacks sent one
after the other reuse the connection."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mjstudio.api.fence import FencePolicy
from mjstudio.sandbox.callbacks import client_for, deliver
from tests.sandbox.server import serve_app

LOOPBACK = FencePolicy(own_hosts=frozenset({"127.0.0.1"}))


def test_callbacks_one_after_the_other_share_one_client_and_its_connection():
    peers: list[tuple[str, int]] = []

    async def hook(request: Request) -> JSONResponse:
        await request.body()
        peers.append((request.client.host, request.client.port))
        return JSONResponse({"code": 200, "msg": "success"})

    with serve_app(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as url:
        assert deliver(f"{url}/hook", {"taskId": "a"}, fence=LOOPBACK)
        assert deliver(f"{url}/hook", {"taskId": "b"}, fence=FencePolicy(own_hosts={"127.0.0.1"}))
    assert len(peers) == 2 and peers[0] == peers[1]  # the second came on the first's connection
    assert client_for(LOOPBACK, 5.0) is client_for(FencePolicy(own_hosts={"127.0.0.1"}), 5.0)


def test_the_fence_still_refuses_a_private_address_it_does_not_allow():
    assert not deliver("http://10.0.0.1:9/hook", {"taskId": "a"}, attempts=1)
