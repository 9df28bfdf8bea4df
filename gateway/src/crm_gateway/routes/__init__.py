"""Route modules, one per bounded context; each exposes `blueprints` (a list)."""
from __future__ import annotations

import importlib

MODULES = ("platform", "identity", "sales", "service_desk", "marketing", "analytics", "subscriptions", "automation", "integration", "records", "search", "exports")


def register(api) -> None:
    for name in MODULES:
        module = importlib.import_module(f"crm_gateway.routes.{name}")
        for blueprint in getattr(module, "blueprints", []):
            api.register_blueprint(blueprint)
