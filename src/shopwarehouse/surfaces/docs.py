"""The dbt docs site as one static HTML file (``dbt docs generate --static``), and a local server for it."""

from __future__ import annotations

import logging
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from shopwarehouse.config import Settings
from shopwarehouse.errors import StepFailed
from shopwarehouse.transform.dbt import invoke_dbt, target_dir

log = logging.getLogger(__name__)
SITE = "static_index.html"


def build_site(settings: Settings, project_dir: Path) -> Path:
    """Generate the docs site of the settings' target: one file with the manifest and catalog inlined, which
    opens from disk with no server and no network. Returns its path in the dbt target directory."""
    if not invoke_dbt(settings, project_dir, "docs", "generate", "--static").success:
        raise StepFailed("dbt docs generate failed: see logs/dbt.log")
    site = target_dir(project_dir) / SITE
    log.info("docs site written to %s (%.1f MB)", site, site.stat().st_size / 1e6)
    return site


def server(site: Path, host: str = "127.0.0.1", port: int = 8080) -> ThreadingHTTPServer:
    """A server of ``site`` at ``/`` and ``/index.html``, and of nothing else (port 0: any free port)."""
    body = site.read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path not in ("/", "/index.html"):
                self.send_error(HTTPStatus.NOT_FOUND)
                return
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            log.info("docs server: " + format, *args)

    return ThreadingHTTPServer((host, port), Handler)
