"""An HTTP proxy on loopback in front of the local S3 server that fails requests on purpose, as S3 and the
network do: throttling, server errors, timeouts, connection resets and bodies cut short (test helper)."""

from __future__ import annotations

import http.client
import http.server
import socket
import struct
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable

SLOWDOWN, ERROR_500, TIMEOUT, RESET = "503 SlowDown", "500 InternalError", "timeout", "connection reset"
CUT = "body cut short"  # the answer's headers and half its body, then a connection reset
FAULTS = (SLOWDOWN, ERROR_500, TIMEOUT, RESET)
CLIENT_TIMEOUT = 1.0  # SHOPWAREHOUSE_S3_TIMEOUT_SECONDS in these tests: a "timeout" answers after 2 s


class FaultyS3:
    """An HTTP proxy to the S3 server that fails requests on purpose, as S3 and the network do.

    ``plan(method, path, attempt)`` names the fault for the attempt'th request (from 0) of that method and
    path, or ``None`` to pass it through. What it injected is counted in ``injected``.
    """

    def __init__(self, upstream: str, plan: Callable[[str, str, int], str | None]) -> None:
        self.upstream = urllib.parse.urlsplit(upstream).netloc
        self.plan = plan
        self.injected: Counter[str] = Counter()
        self.seen: Counter[tuple[str, str]] = Counter()
        self.lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_one_request(self) -> None:
                try:
                    super().handle_one_request()
                except ConnectionError:
                    self.close_connection = True

            def forward(self) -> None:
                with proxy.lock:
                    attempt = proxy.seen[(self.command, self.path)]
                    proxy.seen[(self.command, self.path)] += 1
                    fault = proxy.plan(self.command, self.path, attempt)
                    if fault:
                        proxy.injected[fault] += 1
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if fault == RESET:
                    self.reset()
                    return
                if fault == TIMEOUT:
                    time.sleep(CLIENT_TIMEOUT * 2)
                    self.close_connection = True
                    return
                if fault in (SLOWDOWN, ERROR_500):
                    status, code = (503, "SlowDown") if fault == SLOWDOWN else (500, "InternalError")
                    payload = f"<Error><Code>{code}</Code><Message>injected</Message></Error>".encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                upstream = http.client.HTTPConnection(proxy.upstream, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                upstream.request(self.command, self.path, body=body or None, headers=headers)
                response = upstream.getresponse()
                data = response.read()
                self.send_response(response.status)
                for name, value in response.getheaders():
                    if name.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if fault == CUT:
                    self.wfile.write(data[: len(data) // 2])
                    self.reset()
                else:
                    self.wfile.write(data)
                upstream.close()

            def reset(self) -> None:
                """An abortive close once the handler returns: the client sees ECONNRESET."""
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = forward

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
