"""/docs: FastAPI's Swagger UI page with its JavaScript and CSS served by the service itself.

FastAPI's default page loads them from a CDN, so it is blank wherever the browser has no internet (an
air-gapped office, a locked-down laptop). The `fastapi-offline` package ships the same assets.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

# the package's own page helper is not used: only its Swagger UI 5 files (OpenAPI 3.1, which FastAPI emits)
SWAGGER_ASSETS = files("fastapi_offline") / "static"

DOCS_URL = "/docs"
ASSETS_URL = "/docs-assets"


def install_swagger(api: FastAPI, *, title: str) -> None:
    """Serve /docs from local assets (create the app with `docs_url=None`)."""
    api.mount(ASSETS_URL, StaticFiles(directory=str(SWAGGER_ASSETS)), name="swagger-assets")

    @api.get(DOCS_URL, include_in_schema=False)
    async def swagger_page() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=api.openapi_url or "/openapi.json",
            title=f"{title} — API docs",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
        )
