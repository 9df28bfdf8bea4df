"""The gateway and the console on one origin, in one gunicorn (crm_common.suite runs this when installed):

    gunicorn -c deploy/gunicorn.conf.py "crm_console.wsgi:create_app()"

A request goes to the gateway when the gateway has a route for its path (/api/v1/..., /healthz, /readyz,
/openapi.json, /docs, the public form, tracking and survey routes...), else to the console (/, /login,
/leads, /console-static/...). The console calls the API over HTTP at the gateway's own loopback address.
"""
from __future__ import annotations

from werkzeug.exceptions import MethodNotAllowed, NotFound


class OneOrigin:
    def __init__(self, gateway, console):
        self.gateway, self.console = gateway, console
        self._adapter = gateway.url_map.bind("localhost")

    # the gateway's public link and form routes: a malformed one (a form id that is no id) is still the
    # gateway's to refuse with a problem, never a console page
    GATEWAY_PREFIXES = ("/api/", "/f/", "/t/", "/u/", "/c/")

    def owner(self, path: str, method: str):
        if path.startswith(self.GATEWAY_PREFIXES):
            return self.gateway
        try:
            self._adapter.match(path, method=method)
        except MethodNotAllowed:
            return self.gateway
        except NotFound:
            return self.console
        except Exception:  # redirects (a missing slash) and the like: the gateway's own business
            return self.gateway
        return self.gateway

    def __call__(self, environ, start_response):
        app = self.owner(environ.get("PATH_INFO") or "/", environ.get("REQUEST_METHOD") or "GET")
        return app(environ, start_response)


def create_app():
    from crm_gateway.app import create_app as gateway_app
    from crm_console.app import create_app as console_app
    return OneOrigin(gateway_app(), console_app())
