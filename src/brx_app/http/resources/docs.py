"""`GET /docs`: the API reference, Swagger UI rendering this service's own `/openapi.json`.

Every file the page needs comes from this service: Swagger UI's two files from the
`swagger-ui-bundle-v2` package (PyPI; read once, at start-up), the page and its initialiser from
here. The Content-Security-Policy allows nothing else: no other origin, no inline script (the
initialiser is a file), images only from here or `data:` (Swagger UI's icons). The page sends
no request by itself but the document's; "Try it out" uses the token pasted into Authorize.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import falcon
import falcon.asgi

from brx_app.http.middleware import PUBLIC
from brx_app.http.openapi import Op, Route

CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
ASSETS_PATH = "/docs/assets"
PAGE = f"""<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>BRX Sync API reference</title>
    <link rel="stylesheet" href="{ASSETS_PATH}/swagger-ui.css">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="{ASSETS_PATH}/swagger-ui-bundle.js"></script>
    <script src="{ASSETS_PATH}/docs.js"></script>
  </body>
</html>
"""
INITIALISER = """window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
  });
});
"""
TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
VENDORED = ("swagger-ui.css", "swagger-ui-bundle.js")


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str


@cache
def load_assets() -> dict[str, Asset]:
    """Swagger UI's files from the installed bundle, and the initialiser."""
    from swagger_ui_bundle import swagger_ui_path

    assets = {
        name: Asset((swagger_ui_path / name).read_bytes(), TYPES[name[name.rindex(".") :]])
        for name in VENDORED
    }
    assets["docs.js"] = Asset(INITIALISER.encode(), TYPES[".js"])
    return assets


def _secure(resp: falcon.asgi.Response) -> None:
    resp.set_header("Content-Security-Policy", CSP)
    resp.set_header("X-Content-Type-Options", "nosniff")
    resp.set_header("Referrer-Policy", "no-referrer")


class DocsPage:
    auth = PUBLIC

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        _secure(resp)
        resp.content_type = "text/html; charset=utf-8"
        resp.text = PAGE


class DocsAsset:
    auth = PUBLIC

    def __init__(self, asset: Asset) -> None:
        self.asset = asset

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        _secure(resp)
        resp.content_type = self.asset.content_type
        resp.cache_control = ["public", "max-age=3600"]
        resp.data = self.asset.body


def routes() -> list[Route]:
    """`/docs` and each of its files under a fixed name (nothing else is served from there)."""
    page = Route("/docs", DocsPage(), {"GET": Op("API reference", None, content_type="text/html")})
    return [page] + [
        Route(
            f"{ASSETS_PATH}/{name}",
            DocsAsset(asset),
            {
                "GET": Op(
                    f"API reference: {name}", None, content_type=asset.content_type.split(";")[0]
                )
            },
        )
        for name, asset in load_assets().items()
    ]
