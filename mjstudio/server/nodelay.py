"""Turn on TCP_NODELAY for the studio server's listening sockets.

Streamlit binds its server socket itself, without naming the TCP protocol, so asyncio skips
TCP_NODELAY on the connections it accepts: then every keep-alive response and every
websocket message sent after another can wait ~40 ms for a delayed ACK (measured: a status
call to the embedded sandbox took 44 ms, not 1 ms). On Linux accepted sockets inherit the
option from the listening socket, so setting it there once fixes every connection.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger("mjstudio.server.nodelay")


def enable_on_listeners(port: int) -> int:
    """Set TCP_NODELAY on this process's listening TCP sockets on ``port``; returns how many."""
    done = 0
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        return 0  # not Linux: leave the server as it is
    for fd in fds:
        try:
            sock = socket.fromfd(fd, socket.AF_INET, socket.SOCK_STREAM)  # a dup: safe to close
        except OSError:
            continue
        with sock:
            if _listening_on(sock, port):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                done += 1
    log.debug("TCP_NODELAY set on %d listening socket(s) on port %d", done, port)
    return done


def _listening_on(sock: socket.socket, port: int) -> bool:
    try:
        listening = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
        return bool(listening) and sock.getsockname()[1] == port
    except (OSError, IndexError, TypeError):
        return False
