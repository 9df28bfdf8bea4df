"""One blueprint per area of the console (a module with several lists them in BLUEPRINTS)."""
from __future__ import annotations


def register(app) -> None:
    from crm_console.views import (accounts, admin, admin_integration, analytics, audiences, audit, auth, calendar,
                                    deals, home, imports, leads, lists, marketing, notifications, orders, portal,
                                    preferences, quote_editor, quotes, tickets)
    for module in (auth, home, leads, lists, imports, accounts, deals, quote_editor, quotes, orders, calendar, tickets,
                   marketing, audiences, analytics, preferences, admin, admin_integration, audit, notifications, portal):
        for blueprint in getattr(module, "BLUEPRINTS", None) or (module.blp,):
            app.register_blueprint(blueprint)
