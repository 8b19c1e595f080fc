"""The production worker model (gunicorn.conf.py) under a live gunicorn: connections left idle
(a browser's keep-alive connection in the LMS frame, a speculative connection that never sends
a request) do not hold up anyone else's request."""

from __future__ import annotations

import http.client
import runpy
import socket
import time

from bench.common import ROOT, gunicorn

CONF = runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def _keep_alive_request(port: int) -> socket.socket:
    """A connection that sent one request, read the answer and stays open, idle."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    received = b""
    while b"\r\n\r\n" not in received:
        received += sock.recv(4096)
    head, body = received.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200")
    assert b"connection: close" not in head.lower()  # kept alive
    length = int(
        next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")).split(b":")[
            1
        ]
    )
    while len(body) < length:
        body += sock.recv(4096)
    return sock


def test_idle_connections_do_not_block_another_request(tmp_path):
    assert CONF["worker_class"] == "gthread"
    url = f"sqlite:///{tmp_path / 'serving.sqlite3'}"
    # One worker, and more idle connections of each kind than it has threads.
    with gunicorn("service.wsgi:app", url, workers=1) as port:
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(CONF["threads"] + 2)]
        idle += [_keep_alive_request(port) for _ in range(CONF["threads"] + 2)]
        try:
            started = time.monotonic()
            # A worker stalled on an idle connection answers after gunicorn's 30 s timeout.
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", "/healthz")
            assert connection.getresponse().status == 200
            assert time.monotonic() - started < 5
            connection.close()
        finally:
            for sock in idle:
                sock.close()
