"""The HTML page at ``/``: adoption, spend, alerts, users and connector status for an admin.

The page is static files shipped with the package (``streams/worker/static``: ``index.html``,
``page.css``, ``page.js``, one section per concern); it holds no data, so it is served without
a token. Its script fetches the JSON views and redraws every ``?refresh=`` seconds (default
10). When ``WEB_TOKEN`` is set the views need it: open ``/#token=<token>`` (the fragment never
reaches the server or its logs; the page moves it to the tab's ``sessionStorage`` and removes
it from the address bar) or type it into the prompt the page shows when a view answers 401.
Data is written with ``textContent`` only, and the Content-Security-Policy allows scripts and
styles from this worker only (``'self'``, no inline script or style).
"""

from __future__ import annotations

from importlib.resources import files

import faust
from faust.web import Request, Response, View

STATIC = "/static/"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
}
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def page_files() -> dict[str, tuple[bytes, str]]:
    """Every file of the page by the path it is served at, with its content type."""
    folder = files("streams.worker") / "static"
    found = {}
    for entry in folder.iterdir():
        suffix = "." + entry.name.rpartition(".")[2]
        if suffix in CONTENT_TYPES:
            path = "/" if entry.name == "index.html" else STATIC + entry.name
            found[path] = (entry.read_bytes(), CONTENT_TYPES[suffix])
    return found


def register_page(app: faust.App) -> None:
    """Serve the page's files on ``app`` (``/`` and ``/static/...``), read once here."""
    for path, (content, content_type) in page_files().items():

        class PageFile(View):
            """One file of the page (no data in it, so no token needed to load it)."""

            body, kind = content, content_type

            async def get(self, request: Request) -> Response:
                # The type in the headers: aiohttp refuses a charset in ``content_type``.
                return self.bytes(self.body, headers={"Content-Type": self.kind, **HEADERS})

        app.page(path)(PageFile)
