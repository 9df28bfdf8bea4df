"""The gateway does not start in production with a development secret (issue 13)."""
from __future__ import annotations

import pytest

from crm_common.startup import DevelopmentDefaults
from crm_gateway.app import create_app
from crm_gateway.settings import Settings


def test_the_gateway_refuses_to_start_in_production_with_the_development_broker_password(monkeypatch, tmp_path):
    monkeypatch.setenv("CRM_ENV", "production")
    monkeypatch.setenv("AMQP_URI", "amqp://crm:crm-dev-password@rabbitmq:5672/crm")
    with pytest.raises(DevelopmentDefaults, match="AMQP_URI"):
        create_app(Settings(database_url=f"sqlite:///{tmp_path / 'g.db'}"))
    monkeypatch.setenv("AMQP_URI", "amqp://crm:n0t-a-dev-secret@rabbitmq:5672/crm")
    assert create_app(Settings(database_url=f"sqlite:///{tmp_path / 'g.db'}")) is not None
