"""The explorer's local web server: the standard library's `http.server`, one static page, a JSON API.

    GET  /                 the page (`page.html`; plain HTML and JavaScript, nothing fetched from elsewhere)
    GET  /api/info?network=PATH   the network's family, resolution, layers (`Renderer.info`)
    POST /api/render       JSON settings -> {image, activation, render_ms} (`Renderer.render`)

Every failure answers JSON `{"error": message}`, which the page shows: a `UserError` (bad value,
unknown network file) with status 400 and its message; anything else with status 500, a one-line
message, and the traceback in the server log only. The server binds 127.0.0.1 unless told otherwise:
it opens any network path the page names, so it is meant for the local user.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from stylegan_tf.errors import UserError
from stylegan_tf.explore.renderer import Renderer

PAGE = Path(__file__).with_name("page.html")
MAX_BODY = 1 << 16
log = logging.getLogger("stylegan_tf.explore")


class ExplorerHandler(BaseHTTPRequestHandler):
    """Requests of one page; `server.renderer` renders, `server.defaults` prefills the page."""

    server_version = "stylegan_tf-explore"

    def log_message(self, format, *args):      # noqa: A002 (the base class's name)
        log.info("%s %s", self.address_string(), format % args)

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload: dict) -> None:
        self._send(status, json.dumps(payload).encode("utf-8"), "application/json")

    def _answer(self, work) -> None:
        try:
            self._json(200, work())
        except UserError as error:
            log.info("refused: %s", error)
            self._json(400, {"error": str(error)})
        except Exception as error:   # never a traceback on the page; the log keeps it
            log.exception("render failed")
            self._json(500, {"error": f"internal error ({type(error).__name__}): {error}"})

    def do_GET(self):  # noqa: N802 (http.server's name)
        url = urllib.parse.urlsplit(self.path)
        if url.path in ("/", "/index.html"):
            page = PAGE.read_text().replace("__DEFAULTS__", json.dumps(self.server.defaults))
            self._send(200, page.encode("utf-8"), "text/html; charset=utf-8")
        elif url.path == "/api/info":
            query = urllib.parse.parse_qs(url.query)
            self._answer(lambda: self.server.renderer.info(query.get("network", [""])[0]))
        else:
            self._json(404, {"error": f"no such page: {url.path}"})

    def do_POST(self):  # noqa: N802
        if urllib.parse.urlsplit(self.path).path != "/api/render":
            self._json(404, {"error": f"no such endpoint: {self.path}"})
            return

        def work():
            length = int(self.headers.get("Content-Length") or 0)
            if not 0 < length <= MAX_BODY:
                raise UserError(f"the request must carry JSON settings of at most {MAX_BODY} bytes.")
            try:
                settings = json.loads(self.rfile.read(length))
            except json.JSONDecodeError as error:
                raise UserError(f"the settings are not valid JSON: {error}") from None
            if not isinstance(settings, dict):
                raise UserError("the settings must be a JSON object.")
            return self.server.renderer.render(settings)
        self._answer(work)


def make_server(host: str = "127.0.0.1", port: int = 8000, defaults: dict | None = None,
                renderer: Renderer | None = None) -> ThreadingHTTPServer:
    """A bound (not yet serving) server; port 0 picks a free port (`server.server_address`)."""
    server = ThreadingHTTPServer((host, port), ExplorerHandler)
    server.daemon_threads = True
    server.renderer = renderer or Renderer()
    server.defaults = dict(defaults or {})
    return server


def serve_in_thread(server: ThreadingHTTPServer) -> threading.Thread:
    """Starts `server.serve_forever` in a daemon thread (stop with `server.shutdown()`)."""
    thread = threading.Thread(target=server.serve_forever, name="explorer", daemon=True)
    thread.start()
    return thread
