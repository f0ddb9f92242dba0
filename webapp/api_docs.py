"""`/docs`: Swagger UI over `/openapi.json`, served from the `flask-swagger-ui` package's own copy of
Swagger UI (no CDN: it works offline). Try it out with a token from `POST /auth/guest` or
`voicemock token create` (Authorize → bearer)."""
from __future__ import annotations

import json
from pathlib import Path

import flask_swagger_ui
from flask import Blueprint, Response, current_app, send_from_directory

bp = Blueprint("api_docs", __name__)

DIST = Path(flask_swagger_ui.__file__).parent / "dist"

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>VoiceMock API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
<style>body{margin:0}</style></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle(%s);
</script></body></html>"""

_CONFIG = {"url": "/openapi.json", "dom_id": "#swagger-ui", "deepLinking": True, "persistAuthorization": True,
           "displayRequestDuration": True, "docExpansion": "list", "defaultModelsExpandDepth": 0,
           "layout": "BaseLayout"}


@bp.get("/docs")
def docs() -> Response:
    page = _PAGE % json.dumps(_CONFIG)
    resp = current_app.response_class(page, mimetype="text/html")
    resp.headers["Cache-Control"] = "no-cache"
    return resp


@bp.get("/docs/assets/<path:filename>")
def asset(filename: str) -> Response:
    return send_from_directory(DIST, filename, max_age=24 * 3600)
