"""A second start skips the bootstrap when it would change nothing (`make run`, issue 18 item 10).

The bootstrap (keys, Alembic for every database, the broker topology, the administrator) runs in a child process
that imports every service and Alembic: 20 s of a 73 s second start on a loaded machine. After it succeeded, the
supervisor keeps in `var/bootstrap.json`, per database, a fingerprint of what it migrated with (the database's URL,
the service's migration files: names, sizes, times) and the revisions the database was left at. A later start
skips the child when, for every database, the fingerprint is the same and the database's `alembic_version` still
holds those revisions (one cheap query: sqlite3 or psycopg2, no SQLAlchemy nor Alembic imported), the key files
are there, and every consumer's event queue exists on the broker (a new vhost or a reset broker runs it again).
A database that differs is migrated alone (the child gets the names to migrate); the others are skipped.

Nothing here holds a secret: the URLs enter the fingerprint hashed.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

from crm_common import config

STAMP = "bootstrap.json"
DATABASES = config.SERVICES + ("gateway",)
# the bootstrap child's script; its arguments: the databases to migrate (to_migrate)
BOOTSTRAP = """
import os, sys
from pathlib import Path
from crm_common import callers, config, migrate, secretbox, topology
from crm_identity import keys, seed_admin
keys.generate(Path(os.environ["CRM_JWT_PRIVATE_KEY_FILE"]).parent)
secretbox.generate_key_file(Path(os.environ["CRM_DATA_KEY_FILE"]))
callers.generate_key_file(Path(os.environ["CRM_BUS_KEY_FILE"]))
for name in sys.argv[1:]:  # the databases not at the revisions the last start left them (suite_ready)
    migrate.upgrade(name)
print("migrated:", ", ".join(sys.argv[1:]) or "nothing (every database at its revisions)")
print("declared", len(topology.declare()), "queues")
sys.exit(seed_admin.main())
"""
KEY_FILES = ("CRM_JWT_PRIVATE_KEY_FILE", "CRM_JWT_PUBLIC_KEY_FILE", "CRM_DATA_KEY_FILE", "CRM_BUS_KEY_FILE")


def database_url(env: dict, name: str) -> str:
    """What config.database_url says for `name` under `env` (the suite's environment, not this process's)."""
    return env.get(f"{name.upper()}_DATABASE_URL") or f"sqlite:///{Path(env['CRM_VAR_DIR']) / (name + '.db')}"


def _versions_folder(name: str) -> Path | None:
    spec = importlib.util.find_spec(f"crm_{name}")  # finds the package without running it
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "migrations" / "versions"


def fingerprint(env: dict, name: str) -> str:
    """A digest of what migrating `name` depends on: its database URL and its migration files."""
    digest = hashlib.sha256(database_url(env, name).encode())
    folder = _versions_folder(name)
    if folder is not None and folder.is_dir():
        for path in sorted(folder.glob("*.py")):
            stat = path.stat()
            digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()


def revisions(url: str) -> list[str] | None:
    """The revisions in the database's alembic_version (sorted), or None when it cannot tell (no database, no
    table, unreachable, a driver this does not know)."""
    try:
        if url.startswith("sqlite:///"):
            import sqlite3
            path = url.removeprefix("sqlite:///").split("?", 1)[0]
            if not path or not Path(path).exists():
                return None
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
                rows = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        elif url.startswith(("postgresql://", "postgresql+psycopg2://", "postgres://")):
            import psycopg2
            conn = psycopg2.connect("postgresql://" + url.split("://", 1)[1], connect_timeout=5)
            try:
                with conn.cursor() as cursor:
                    cursor.execute("SELECT version_num FROM alembic_version")
                    rows = cursor.fetchall()
            finally:
                conn.close()
        else:
            return None
    except Exception:  # noqa: BLE001 - any doubt means: migrate
        return None
    return sorted(row[0] for row in rows) or None


def _stamp_path(env: dict) -> Path:
    return Path(env["CRM_VAR_DIR"]) / STAMP


def read_stamp(env: dict) -> dict:
    try:
        return json.loads(_stamp_path(env).read_text())
    except (OSError, ValueError):
        return {}


def write_stamp(env: dict, names=DATABASES) -> None:
    """After a successful bootstrap: each database's fingerprint and the revisions it is at now."""
    stamp = read_stamp(env)
    for name in names:
        at = revisions(database_url(env, name))
        if at:
            stamp[name] = {"fingerprint": fingerprint(env, name), "revisions": at}
        else:
            stamp.pop(name, None)
    _write(env, stamp)


def remember(env: dict, key: str, value) -> None:
    _write(env, {**read_stamp(env), key: value})


def _write(env: dict, stamp: dict) -> None:
    path = _stamp_path(env)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(stamp, indent=1, sort_keys=True))
    temporary.replace(path)


def to_migrate(env: dict) -> list[str]:
    """The databases whose stamp does not hold: changed migrations or URL, or not at the stamped revisions."""
    stamp = read_stamp(env)
    stale = []
    for name in DATABASES:
        known = stamp.get(name) or {}
        if known.get("fingerprint") != fingerprint(env, name) \
                or revisions(database_url(env, name)) != known.get("revisions"):
            stale.append(name)
    return stale


def admin_digest(env: dict) -> str:
    """Which administrator the seed was asked for (CRM_ADMIN_EMAIL, hashed): another one runs the bootstrap."""
    return hashlib.sha256((env.get("CRM_ADMIN_EMAIL") or "").strip().lower().encode()).hexdigest()


def keys_present(env: dict) -> bool:
    return all(env.get(name) and Path(env[name]).is_file() for name in KEY_FILES)


def consumers(env: dict) -> list[str]:
    """The consumers that registered subscriptions (entry point names: nothing is imported) and the test ones
    (CRM_EXTRA_SUBSCRIPTIONS)."""
    from importlib.metadata import entry_points
    names = {point.name for point in entry_points(group="crm.subscriptions")}  # crm_common.topology.ENTRY_POINTS
    for item in (env.get("CRM_EXTRA_SUBSCRIPTIONS") or "").split(";"):
        if "=" in item:
            names.add(item.split("=", 1)[0].strip())
    return sorted(names)


def queues_exist(conn, names: list[str]) -> bool:
    """Whether every consumer's event queue is declared on the broker `conn` talks to (passive declares)."""
    from amqp.exceptions import NotFound
    for name in names:
        channel = conn.channel()
        try:
            channel.queue_declare(f"crm.{name}.events", passive=True)
        except NotFound:
            return False
        finally:
            if channel.is_open:
                channel.close()
    return True


def serving_suite(uri: str, services) -> str | None:
    """The first of `services` that something consumes on the broker at `uri` (another suite's), or None."""
    from amqp.exceptions import NotFound
    from kombu import Connection
    with Connection(uri) as conn:
        for service in services:
            channel = conn.channel()
            try:
                _, _, consumers = channel.queue_declare(f"rpc-{service}", passive=True)
            except NotFound:  # no such queue: nobody serves it here (the broker closed the channel)
                consumers = 0
            finally:
                if channel.is_open:
                    channel.close()
            if consumers:
                return service
    return None


def broker_users(admin_uri: str, directory: Path, prefix: str) -> tuple[str, dict[str, str]]:
    """(a digest of the broker users `make run` wants: names, passwords, permissions; each account's URI). The
    passwords are read from (or made in) `directory`, as crm_common.brokerusers.create does."""
    from crm_common import brokerusers
    wanted, uris = {}, {}
    for account in brokerusers.ACCOUNTS:
        password = brokerusers.read_or_make_password(directory, account)
        name = brokerusers.user_name(prefix, account)
        wanted[account] = [name, password, brokerusers.permissions(account, prefix)]
        uris[account] = brokerusers.uri_with(admin_uri, name, password)
    body = json.dumps([brokerusers.vhost_of(admin_uri), wanted], sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest(), uris


def users_connect(uris) -> bool:
    """Whether every user opens the vhost now (the users `make run` made last time are still there)."""
    from kombu import Connection
    try:
        for uri in uris:
            with Connection(uri, connect_timeout=3) as conn:
                conn.connect()
    except Exception:  # noqa: BLE001 - any doubt means: make them again
        return False
    return True
