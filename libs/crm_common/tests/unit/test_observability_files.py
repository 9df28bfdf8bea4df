"""deploy/observability: the alert rules and the Grafana dashboard parse, and every metric they read is one
the suite exports (crm_common.metrics for services, crm_gateway.metrics for the gateway): a renamed metric
fails here, not silently in production."""
from __future__ import annotations

import json
import re

import yaml

from crm_common import config

ROOT = config.repo_root()
FOLDER = ROOT / "deploy" / "observability"
SOURCES = (ROOT / "libs/crm_common/src/crm_common/metrics.py", ROOT / "gateway/src/crm_gateway/metrics.py")


def exported() -> set[str]:
    names = set()
    for source in SOURCES:
        for name in re.findall(r'"(crm_[a-z_]+)"', source.read_text()):
            names |= {name, f"{name}_total", f"{name}_bucket", f"{name}_sum", f"{name}_count", f"{name}_created"}
    return names


def used(expression: str) -> set[str]:
    return set(re.findall(r"\bcrm_[a-z_]+\b", expression))


def test_alert_rules_parse_and_read_only_exported_metrics():
    groups = yaml.safe_load((FOLDER / "alerts.yml").read_text())["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert {"CrmOutboxBacklogGrowing", "CrmDeadLetters", "CrmSlaMonitorLate", "CrmGateway5xxRate"} <= \
        {rule["alert"] for rule in rules}
    for rule in rules:
        assert rule["labels"]["severity"] in ("warning", "critical") and rule["annotations"]["summary"]
        assert used(rule["expr"]) and used(rule["expr"]) <= exported(), rule["alert"]


def test_the_dashboard_parses_and_reads_only_exported_metrics():
    dashboard = json.loads((FOLDER / "grafana-dashboard.json").read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    assert len(expressions) >= 10
    for expression in expressions:
        assert used(expression) and used(expression) <= exported(), expression
