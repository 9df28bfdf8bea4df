"""/docs: Swagger UI over /openapi.json, every asset served by the gateway itself.

Swagger UI's files are vendored unchanged under static/swagger-ui/ (see its VERSION note) and the
page starts it from static/docs.js, so the page runs under a CSP that allows same-origin scripts,
styles and requests only: no inline script, nothing from another origin.
"""
from __future__ import annotations

from flask import Blueprint, Response

blp = Blueprint("docs", __name__)

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>CRM suite API</title>
<link rel="stylesheet" href="/static/swagger-ui/swagger-ui.css">
<link rel="icon" type="image/png" href="/static/swagger-ui/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/static/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script>
</body>
</html>
"""


@blp.get("/docs")
def page():
    response = Response(PAGE, mimetype="text/html")
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Cache-Control"] = "no-cache"
    return response
