"""One service as its container image runs it: `python -m crm_common.suite serve [<service>]` (deploy/Dockerfile.service),
and the command `make run` starts each service with (crm_common.suite)."""
from __future__ import annotations

import os
import sys

# nameko run needs the class named: the module also holds the kernel's base class, which has entrypoints
SERVICE_TARGETS = {
    "identity": "crm_identity.service:IdentityService",
    "sales": "crm_sales.service:SalesService",
    "service_desk": "crm_service_desk.service:ServiceDeskService",
    "marketing": "crm_marketing.service:MarketingService",
    "analytics": "crm_analytics.service:AnalyticsService",
    "automation": "crm_automation.service:AutomationService",
    "integration": "crm_integration.service:IntegrationService",
}


def service_command(service: str, config_file) -> list[str]:
    return [sys.executable, "-m", "nameko", "run", SERVICE_TARGETS[service], "--config", str(config_file)]


def serve(argv: list[str]) -> int:
    """`python -m crm_common.suite serve [--dry-run] [<service>]`: run one service as its image does (the
    service named, else CRM_SERVICE), replacing this process with `nameko run <its class> --config
    services/<service>/config.yaml`; --dry-run prints that command instead."""
    dry = "--dry-run" in argv
    names = [a for a in argv if a != "--dry-run"] or [os.environ.get("CRM_SERVICE", "")]
    if len(names) != 1 or names[0] not in SERVICE_TARGETS:
        print(f"usage: python -m crm_common.suite serve [--dry-run] <service> (or CRM_SERVICE): one of "
              f"{', '.join(SERVICE_TARGETS)}", file=sys.stderr)
        return 2
    command = service_command(names[0], f"services/{names[0]}/config.yaml")
    if dry:
        print(" ".join(command))
        return 0
    os.execv(sys.executable, command)
