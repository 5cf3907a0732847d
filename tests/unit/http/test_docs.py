"""`/docs`: the page and every file it references come from the service alone, under a CSP that
allows no other origin, and the initialiser renders the service's own `/openapi.json`."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from tests.unit.http.conftest import Api


class _References(HTMLParser):
    """Every URL the page makes the browser load (scripts, styles, images, icons)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for attribute in ("src", "href"):
            if found.get(attribute):
                self.urls.append(str(found[attribute]))
        self._in_script = tag == "script"
        if any(name.startswith("on") for name in found) or "style" in found:
            self.inline_scripts += 1

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False


def _csp(header: str) -> dict[str, str]:
    return dict(part.strip().partition(" ")[::2] for part in header.split(";"))


async def test_docs_and_every_asset_it_references_come_from_the_service(api: Api) -> None:
    page = await api.conductor.simulate_get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    references = _References()
    references.feed(page.text)

    assert references.urls and references.inline_scripts == 0
    kinds = set()
    for url in references.urls:
        assert url.startswith("/") and not url.startswith("//"), f"{url}: another origin"
        asset = await api.conductor.simulate_get(url)
        assert asset.status_code == 200, url
        kinds.add(asset.headers["content-type"].split(";")[0])
        if url.endswith(".css"):  # what the stylesheet loads: data: URIs only
            loaded = re.findall(r"url\(([^)]*)\)", asset.text)
            assert all(u.strip("'\"").startswith("data:") for u in loaded)
    assert kinds == {"text/css", "text/javascript"}


async def test_the_initialiser_renders_the_services_own_document_with_swagger_ui(api: Api) -> None:
    initialiser = (await api.conductor.simulate_get("/docs/assets/docs.js")).text
    bundle = (await api.conductor.simulate_get("/docs/assets/swagger-ui-bundle.js")).text

    assert 'url: "/openapi.json"' in initialiser
    assert "validatorUrl: null" in initialiser  # Swagger UI's default calls validator.swagger.io
    assert "SwaggerUIBundle" in bundle
    assert (await api.conductor.simulate_get("/openapi.json")).json["openapi"].startswith("3.1")


async def test_the_page_and_its_assets_allow_no_other_origin(api: Api) -> None:
    for path in ("/docs", "/docs/assets/swagger-ui.css", "/docs/assets/docs.js"):
        policy = _csp((await api.conductor.simulate_get(path)).headers["content-security-policy"])
        assert policy["default-src"] == "'none'"
        for directive in ("script-src", "style-src", "connect-src"):
            assert policy[directive] == "'self'", (path, directive)
        assert policy["img-src"] == "'self' data:"
        assert policy["frame-ancestors"] == "'none'"


async def test_nothing_else_is_served_from_the_docs_paths(api: Api) -> None:
    for name in ("nope.js", "..%2F..%2Fapp.py", "swagger-ui.js.map", "index.html"):
        result = await api.conductor.simulate_get(f"/docs/assets/{name}")
        assert result.status_code == 404, name
