"""Connections accepted by the studio's server get TCP_NODELAY from its listening socket."""

import socket
import sys

import pytest

from mjstudio.server.nodelay import enable_on_listeners

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/fd")


def _accepted_nodelay(enable: bool) -> int:
    with socket.socket(family=socket.AF_INET) as listener:  # bound as Streamlit binds it
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        if enable:
            assert enable_on_listeners(port) == 1
        with socket.create_connection(("127.0.0.1", port)):
            conn, _ = listener.accept()
            with conn:
                return conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def test_accepted_connections_inherit_nodelay():
    assert _accepted_nodelay(enable=False) == 0  # the delayed-ACK stall this module removes
    assert _accepted_nodelay(enable=True) != 0


def test_other_ports_are_left_alone():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        assert enable_on_listeners(1) == 0
        assert listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
