"""A service that starts reads its own subscription only (issue 18, item 10): before, each one loaded every
service's handler table, so all seven processes imported all seven services' handlers, models and domains."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from crm_common import config

PROBE = """
import json, sys
from crm_common import topology
mine = topology.subscription_of(sys.argv[1])
others = sorted(m for m in sys.modules if m.startswith("crm_") and m.endswith(".handlers"))
print(json.dumps({"mine": mine, "handlers": others}))
"""


@pytest.mark.parametrize("service", ["sales", "analytics"])
def test_a_consumer_loads_its_own_handlers_only_and_reads_what_every_one_would(service):
    answer = subprocess.run([sys.executable, "-c", PROBE, service], capture_output=True, text=True, check=True,
                            cwd=config.repo_root())
    found = json.loads(answer.stdout)
    assert found["handlers"] == [f"crm_{service}.handlers"]
    from crm_common import topology
    expected = topology.subscriptions()[service]
    assert (found["mine"] if isinstance(found["mine"], str) else tuple(found["mine"])) == expected
    assert expected  # every service consumes something


def test_a_test_services_extra_subscription_wins_and_an_unknown_consumer_has_none(monkeypatch):
    from crm_common import topology
    monkeypatch.setenv("CRM_EXTRA_SUBSCRIPTIONS", "probe=sales.lead_created.v1+identity")
    assert topology.subscription_of("probe") == ("sales.lead_created.v1", "identity")
    assert topology.subscription_of("nobody") == ()
