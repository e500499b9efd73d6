"""``shopwarehouse s3 serve``: a local S3-compatible server (moto in server mode) with the landing bucket.

The server keeps every object in memory and loses it when it stops. That is why the daily default landing
zone is a local directory and this server is for the demo and the tests (README, "Landing zone").
"""

from __future__ import annotations

import logging
import signal
import threading

from moto.server import ThreadedMotoServer

from shopwarehouse.landing.s3 import ensure_landing_bucket, make_client

log = logging.getLogger(__name__)


def serve(host: str, port: int, landing_url: str, stop: threading.Event | None = None) -> None:
    """Run the server until SIGINT/SIGTERM (or until ``stop`` is set) with the landing bucket ready."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://{host}:{port}"
        ensure_landing_bucket(make_client(endpoint), landing_url)
        log.info(
            "local S3 ready at %s; point the project at it with: "
            "export SHOPWAREHOUSE_S3_ENDPOINT_URL=%s SHOPWAREHOUSE_LANDING=%s",
            endpoint,
            endpoint,
            landing_url,
        )
        stop.wait()
    finally:
        server.stop()
        log.info("local S3 stopped; its objects are gone with it")
