"""A local test HTTP server for the fetch tests (127.0.0.1 only, never the internet)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    # 8 fetch workers connect at once: with the default backlog of 5 a busy machine
    # refused some connections, which the fetcher then retried, so the per-path
    # request counts the tests assert came out one short now and then
    request_queue_size = 64

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the slow handlers write to sockets the client already closed


class QuietHandler(BaseHTTPRequestHandler):
    """A handler that logs nothing, with ``_send`` for a whole answer."""

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, code: int, body: bytes, extra: dict[str, str] | None = None) -> None:
        self.send_response(code)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextlib.contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A :class:`QuietServer` of ``handler`` on a free port, in a thread: its base URL."""
    srv = QuietServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


def full_listener() -> tuple[socket.socket, list[socket.socket]]:
    """A listener on 127.0.0.1 whose accept queue is full, and the sockets that fill it:
    Linux drops further SYNs, so a connect to it blocks until its timeout (the test is
    skipped where a connect gets through). The caller closes them all."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        fillers.append(s)
    probe = socket.socket()
    probe.settimeout(1.0)
    try:
        probe.connect(("127.0.0.1", port))
    except TimeoutError:
        return listener, fillers
    finally:
        probe.close()
    for s in [listener, *fillers]:
        s.close()
    pytest.skip("this system accepts connections past a full listen queue")
