"""Back up every service's database, and restore them: `python -m crm_common.backup create|restore <folder>`
(`make backup`, `make restore DIR=...`).

`create` copies each database while the suite runs: SQLite with its online backup API (a consistent copy
even while writers commit), PostgreSQL with `pg_dump --format=custom` (one consistent snapshot per
database). `manifest.json` says when, which databases, and each one's Alembic revision.

`restore` refuses while a suite answers on the broker (stop it first: a restore under live writers would
mix two moments), puts every database back (SQLite files replaced whole, PostgreSQL with `pg_restore
--clean`), then migrates each to the code's head. What happens to events (the outbox and inbox are
tables like the others, so they go back to the backup's moment with the data they belong to):
- events a service had written but not yet published are in its restored outbox: the relay publishes
  them when it starts; a consumer that had already applied one finds its id in its inbox and skips it;
- events it had published and others consumed stay applied there: those services are newer than the
  restored one. Restore every database from the same backup (this module always does) so that all go back
  together; the few seconds between the databases' snapshots are covered by the same two rules, except
  for effects a consumer applied after its own snapshot from an event its producer wrote after its
  snapshot (lost with both: the restore's point is the oldest snapshot);
- messages waiting in the broker's queues at restore time are from after the backup: purge them
  (`rabbitmqctl purge_queue`) or let the inbox skip the ones already applied before.
"""
from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from crm_common import config, migrate

DATABASES = config.SERVICES + ("gateway",)


def _libpq(url) -> str:
    """A libpq URL for pg_dump and pg_restore (no SQLAlchemy driver suffix); the password stays in it, never
    printed: the tools read it from their arguments' URL, which no log line holds."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:
        return None
    finally:
        engine.dispose()


def create(folder: Path) -> dict:
    folder.mkdir(parents=True, exist_ok=False)
    manifest = {"created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "databases": {}}
    for name in DATABASES:
        url = make_url(config.database_url(name))
        if url.get_backend_name() == "sqlite":
            target = folder / f"{name}.sqlite3"
            source = sqlite3.connect(url.database)
            copy = sqlite3.connect(target)
            try:
                source.backup(copy)
            finally:
                copy.close()
                source.close()
            kind = "sqlite"
        else:
            target = folder / f"{name}.dump"
            subprocess.run(["pg_dump", "--format=custom", "--no-owner", "--file", str(target), _libpq(url)],
                           check=True, capture_output=True)
            kind = "postgresql"
        manifest["databases"][name] = {"file": target.name, "kind": kind,
                                       "revision": _revision(config.database_url(name))}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest


def restore(folder: Path, check_broker: bool = True) -> dict:
    manifest = json.loads((folder / "manifest.json").read_text())
    if check_broker:
        from crm_common.suite import Suite
        Suite().check_alone(config.env("AMQP_URI") or config.DEFAULT_AMQP_URI)  # SystemExit while a suite runs
    for name, entry in manifest["databases"].items():
        url = make_url(config.database_url(name))
        source = folder / entry["file"]
        if entry["kind"] == "sqlite":
            if url.get_backend_name() != "sqlite":
                raise SystemExit(f"error: {name} was backed up from SQLite but is configured on PostgreSQL")
            target = Path(url.database)
            target.parent.mkdir(parents=True, exist_ok=True)
            for suffix in ("-wal", "-shm", "-journal"):
                Path(f"{target}{suffix}").unlink(missing_ok=True)
            partial = target.with_suffix(".restoring")
            shutil.copyfile(source, partial)
            partial.replace(target)
        else:
            if url.get_backend_name() == "sqlite":
                raise SystemExit(f"error: {name} was backed up from PostgreSQL but is configured on SQLite")
            subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
                            "--dbname", _libpq(url), str(source)], check=True, capture_output=True)
        migrate.upgrade(name)
    return manifest


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("create", "restore"):
        print("usage: python -m crm_common.backup create|restore <folder>", file=sys.stderr)
        return 2
    folder = Path(argv[1])
    try:
        done = create(folder) if argv[0] == "create" else restore(folder)
    except subprocess.CalledProcessError as exc:
        print(f"error: {exc.cmd[0]} failed: {exc.stderr.decode(errors='replace')[-1000:]}", file=sys.stderr)
        return 1
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"{argv[0]}d {len(done['databases'])} databases ({', '.join(done['databases'])}) in {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
