"""A second `make run` skips the bootstrap only when it would change nothing (crm_common.suite_ready): a database
not at the revisions the last start left it, another URL or changed migration files send it back to Alembic."""
from __future__ import annotations

import os
import sqlite3

import pytest

from crm_common import suite_ready


def make_db(path, *revisions):
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        conn.execute("DELETE FROM alembic_version")
        conn.executemany("INSERT INTO alembic_version VALUES (?)", [(r,) for r in revisions])


@pytest.fixture
def env(tmp_path, monkeypatch):
    versions = {}
    for name in suite_ready.DATABASES:
        folder = tmp_path / "migrations" / name
        folder.mkdir(parents=True)
        (folder / "0001_first.py").write_text("revision = '0001'\n")
        versions[name] = folder
        make_db(tmp_path / f"{name}.db", "0001")
    monkeypatch.setattr(suite_ready, "_versions_folder", versions.get)
    return {"CRM_VAR_DIR": str(tmp_path)}


def test_a_first_start_migrates_every_database_and_a_second_none(env):
    assert suite_ready.to_migrate(env) == list(suite_ready.DATABASES)
    suite_ready.write_stamp(env)
    assert suite_ready.to_migrate(env) == []


def test_a_database_moved_off_its_revision_is_migrated_alone(env, tmp_path):
    suite_ready.write_stamp(env)
    make_db(tmp_path / "sales.db", "0000")  # e.g. restored from an older backup
    assert suite_ready.to_migrate(env) == ["sales"]
    (tmp_path / "identity.db").unlink()  # deleted: no alembic_version to read
    assert suite_ready.to_migrate(env) == ["identity", "sales"]
    assert not (tmp_path / "identity.db").exists()  # looking did not make an empty database


def test_new_migration_files_or_another_database_url_migrate_again(env, tmp_path):
    suite_ready.write_stamp(env)
    (tmp_path / "migrations" / "marketing" / "0002_second.py").write_text("revision = '0002'\n")
    assert suite_ready.to_migrate(env) == ["marketing"]
    other = {**env, "ANALYTICS_DATABASE_URL": f"sqlite:///{tmp_path / 'analytics.db'}?elsewhere"}
    assert "analytics" in suite_ready.to_migrate(other)


def test_an_unreadable_database_is_migrated_rather_than_skipped(env, tmp_path):
    suite_ready.write_stamp(env)
    assert suite_ready.revisions("postgresql://nobody@127.0.0.1:1/none") is None  # unreachable: in doubt
    assert suite_ready.revisions("mysql://x/y") is None
    (tmp_path / "gateway.db").write_bytes(b"not a database")
    assert suite_ready.to_migrate(env) == ["gateway"]


def test_the_stamp_holds_no_database_url(env, tmp_path):
    secret = "s3cret-Pa55word"
    env = {**env, "SALES_DATABASE_URL": f"postgresql+psycopg2://sales:{secret}@127.0.0.1:1/sales"}
    suite_ready.write_stamp(env)
    suite_ready.remember(env, "broker_users", "digest")
    text = (tmp_path / suite_ready.STAMP).read_text()
    assert secret not in text and "postgresql" not in text
    assert "sales" not in suite_ready.read_stamp(env)  # unreachable: no revisions to remember, so never skipped


def test_keys_are_required(env, tmp_path):
    names = {name: str(tmp_path / f"{name.lower()}.pem") for name in suite_ready.KEY_FILES}
    assert not suite_ready.keys_present({**env, **names})
    for path in names.values():
        open(path, "w").close()
    assert suite_ready.keys_present({**env, **names})
    os.unlink(names["CRM_BUS_KEY_FILE"])
    assert not suite_ready.keys_present({**env, **names})


def test_another_administrator_is_told_apart_without_keeping_the_address(env):
    one, other = suite_ready.admin_digest({"CRM_ADMIN_EMAIL": "a@x.test"}), suite_ready.admin_digest({})
    assert one != other and one == suite_ready.admin_digest({"CRM_ADMIN_EMAIL": " A@x.test"})
    suite_ready.remember(env, "admin", one)
    assert "a@x.test" not in str(suite_ready.read_stamp(env))
