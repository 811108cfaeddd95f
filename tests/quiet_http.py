"""A local test HTTP server for the fetch tests (127.0.0.1 only, never the internet)."""

from __future__ import annotations

from http.server import ThreadingHTTPServer


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    # 8 fetch workers connect at once: with the default backlog of 5 a busy machine
    # refused some connections, which the fetcher then retried, so the per-path
    # request counts the tests assert came out one short now and then
    request_queue_size = 64

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the slow handlers write to sockets the client already closed
