"""`make run` (crm_common.suite) sends mail to the local catcher unless CRM_SMTP_URL names a server."""
from __future__ import annotations

from crm_common.suite import Suite


def test_without_an_smtp_url_the_catcher_runs_and_every_service_is_pointed_at_it(tmp_path):
    suite = Suite(env={"CRM_VAR_DIR": str(tmp_path), "CRM_SMTP_URL": ""}, mail_port=18025)
    command = suite.commands()["mailcatcher"]
    assert command[1:3] == ["-m", "crm_common.mailcatcher"]
    assert command[command.index("--port") + 1] == "18025"
    assert command[command.index("--dir") + 1] == str(tmp_path / "mail") == suite.env["CRM_MAIL_DIR"]
    assert suite.env["CRM_SMTP_URL"] == "smtp://127.0.0.1:18025"  # what the services get


def test_a_real_smtp_server_replaces_it(tmp_path):
    suite = Suite(env={"CRM_VAR_DIR": str(tmp_path), "CRM_SMTP_URL": "smtps://mailer:secret@smtp.example.com"})
    assert "mailcatcher" not in suite.commands() and suite.mail_catcher is None
    assert suite.env["CRM_SMTP_URL"] == "smtps://mailer:secret@smtp.example.com"


def test_tests_and_benchmarks_get_a_free_port_of_their_own(tmp_path):
    first = Suite(env={"CRM_VAR_DIR": str(tmp_path), "CRM_SMTP_URL": ""})
    assert first.mail_catcher and first.mail_catcher != 8025
