"""One RabbitMQ user per service and one for the gateway, each with the least permissions it needs.

A service `S` (user `<prefix>S`) may declare, write and read only its own things: its RPC queue
`rpc-S`, its events exchange `S.events`, its consumer queue `crm.S.events` and its retry exchange
`crm.S.retry`; it may read (bind its queue to) the events exchanges of the producers it subscribes
to; on `nameko-rpc` it may publish replies only (routing keys `rpc.reply-...`) and bind only `S.*`
(topic permissions). The gateway may declare and read its own reply queues and publish requests to
the services' methods. Every event is published with `user_id` = the producer's user, which the
broker checks against the connection's user; consumers check it against the event type's producer
(see stream.EventStream).

`definitions(...)` is what RabbitMQ imports (`rabbitmqctl import_definitions`, or the file loaded at
boot in docker-compose); `create(...)` makes the users of one vhost with generated passwords kept as
files (0600) under a directory (var/keys/amqp/<account>/password for `make run`), never printed.

    python -m crm_common.brokerusers definitions OUT.json --vhost crm --secrets DIR [--template T]
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from crm_common import config, topology

GATEWAY = "gateway"
ACCOUNTS = config.SERVICES + (GATEWAY,)
# services that call other services' RPC methods (signed, as their own actor): automation acts on records
# through their owners' methods, never their tables; integration reads their lists for bulk exports (as the
# caller who asked for the export)
CALLS = {"automation": ("sales", "service_desk", "identity"),
         "integration": ("identity", "sales", "service_desk", "marketing", "analytics", "automation")}


def _any(*names: str) -> str:
    return "^(" + "|".join(names) + ")$"


def permissions(account: str, prefix: str, subscription=None) -> dict:
    """configure / write / read regexes of one account, and its topic permissions on `nameko-rpc`."""
    rpc = re.escape("nameko-rpc")
    replies = rf"rpc\.reply-{re.escape(user_name(prefix, account))}-.+"  # its RpcPool's reply queues
    if account == GATEWAY:
        methods = "|".join(re.escape(s) for s in config.SERVICES)
        return {"configure": _any(rpc, replies), "write": _any(rpc, replies), "read": _any(rpc, replies),
                "topic": {"write": rf"^({methods})\.[A-Za-z0-9_]+$", "read": rf"^{replies}$"}}
    s = re.escape(account)
    own = [rpc, rf"rpc-{s}", rf"{s}\.events", rf"crm\.{s}\.events", rf"crm\.{s}\.retry", replies]
    subscription = topology.subscriptions().get(account, ()) if subscription is None else subscription
    producers = sorted({p for p, _ in topology.routes(subscription)} - {account})
    read = own + [rf"{re.escape(p)}\.events" for p in producers]
    # on nameko-rpc: replies to any caller, and its own health (the container's health check); it binds
    # its RPC queue (`S.*`) and its own reply queues only
    calls = "".join(rf"|{re.escape(callee)}\.[A-Za-z0-9_]+" for callee in CALLS.get(account, ()))
    return {"configure": _any(*own), "write": _any(*own), "read": _any(*read),
            "topic": {"write": rf"^(rpc\.reply-.+|{s}\.health{calls})$", "read": rf"^({s}\.\*|{replies})$"}}


def password_hash(password: str) -> str:
    """RabbitMQ's rabbit_password_hashing_sha256: base64(salt + sha256(salt + password))."""
    salt = os.urandom(4)
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def user_name(prefix: str, account: str) -> str:
    return f"{prefix}{account}"


def read_or_make_password(directory: Path, account: str) -> str:
    """`directory/<account>/password`, made once (0600) and then kept."""
    path = directory / account / "password"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    password = secrets.token_urlsafe(24)
    with os.fdopen(fd, "w") as fh:
        fh.write(password + "\n")
    return password


def definitions(vhost: str, prefix: str, passwords: dict[str, str], template: dict | None = None) -> dict:
    """RabbitMQ definitions with the users of `passwords` (account -> password) and their permissions."""
    result = dict(template or {})
    result.setdefault("vhosts", [{"name": vhost}])
    users, perms, topics = list(result.get("users", [])), list(result.get("permissions", [])), \
        list(result.get("topic_permissions", []))
    for account, password in passwords.items():
        name = user_name(prefix, account)
        users.append({"name": name, "password_hash": password_hash(password),
                      "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": "", "limits": {}})
        p = permissions(account, prefix)
        perms.append({"user": name, "vhost": vhost, "configure": p["configure"], "write": p["write"],
                      "read": p["read"]})
        topics.append({"user": name, "vhost": vhost, "exchange": "nameko-rpc", **p["topic"]})
    result.update(users=users, permissions=perms, topic_permissions=topics)
    return result


def uri_with(uri: str, user: str, password: str) -> str:
    """`uri` with another user and password (the host, port and vhost kept)."""
    parts = urlsplit(uri)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def vhost_of(uri: str) -> str:
    path = urlsplit(uri).path
    return "/" if path in ("", "/") else path[1:]


def default_prefix(uri: str) -> str:
    vhost = vhost_of(uri)
    return "crm-" if vhost == "/" else f"crm-{vhost}-"


def create(admin_uri: str, directory: Path, prefix: str | None = None,
           accounts: tuple[str, ...] = ACCOUNTS) -> tuple[str, dict[str, str]]:
    """Make (or update) every account's user on the vhost of `admin_uri` through rabbitmqctl; returns the
    prefix and each account's AMQP URI. Passwords are kept under `directory` and reused."""
    prefix = prefix or default_prefix(admin_uri)
    vhost = vhost_of(admin_uri)
    passwords = {account: read_or_make_password(directory, account) for account in accounts}
    body = json.dumps(definitions(vhost, prefix, passwords, {"vhosts": [{"name": vhost}]}))
    subprocess.run(["rabbitmqctl", "-q", "import_definitions"], input=body, text=True, check=True,
                   capture_output=True, timeout=120)  # the definitions on stdin: no password on a command line
    uris = {account: uri_with(admin_uri, user_name(prefix, account), password)
            for account, password in passwords.items()}
    _await_users(uris.values())
    return prefix, uris


def _await_users(uris, timeout: float = 30) -> None:
    """The broker imports definitions in the background: wait until every user may open the vhost."""
    import time
    from kombu import Connection
    deadline = time.monotonic() + timeout
    for uri in uris:
        while True:
            try:
                with Connection(uri, connect_timeout=5) as conn:
                    conn.connect()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise TimeoutError("the broker users did not appear in time") from None
                time.sleep(0.2)


def delete(prefix: str, accounts: tuple[str, ...] = ACCOUNTS) -> None:
    """Remove every account's user of `prefix` (one rabbitmqctl call)."""
    names = ", ".join(f'<<"{user_name(prefix, a)}">>' for a in accounts)
    expr = (f"lists:foreach(fun(U) -> catch rabbit_auth_backend_internal:delete_user(U, <<\"crm-tests\">>) end, "
            f"[{names}]).")
    subprocess.run(["rabbitmqctl", "-q", "eval", expr], check=False, capture_output=True, timeout=120)


def local_admin(uri: str) -> bool:
    """Whether `make run` may make users itself: a broker on this machine, reached as guest, rabbitmqctl here."""
    import shutil
    parts = urlsplit(uri)
    return (parts.hostname in ("127.0.0.1", "localhost", "::1") and parts.username == "guest"
            and shutil.which("rabbitmqctl") is not None)


def main(argv: list[str]) -> int:
    import argparse
    parser = argparse.ArgumentParser(prog="python -m crm_common.brokerusers")
    parser.add_argument("command", choices=["definitions"])
    parser.add_argument("out")
    parser.add_argument("--vhost", default="crm")
    parser.add_argument("--prefix", default="crm-")
    parser.add_argument("--secrets", required=True, help="directory of <account>/password files (made if missing)")
    parser.add_argument("--template", help="definitions to add the users to (vhost, policies, exchanges)")
    args = parser.parse_args(argv)
    template = json.loads(Path(args.template).read_text()) if args.template else None
    directory = Path(args.secrets)
    passwords = {account: read_or_make_password(directory, account) for account in ACCOUNTS + ("admin",)}
    admin = passwords.pop("admin")
    result = definitions(args.vhost, args.prefix, passwords, template)
    result["users"].append({"name": "admin", "password_hash": password_hash(admin),
                            "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": "administrator",
                            "limits": {}})
    result["permissions"].append({"user": "admin", "vhost": args.vhost, "configure": ".*", "write": ".*", "read": ".*"})
    out = Path(args.out)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)  # salted hashes only; the broker reads it
    with os.fdopen(fd, "w") as fh:
        json.dump(result, fh, indent=2)
    print(f"wrote {out}: users {', '.join(u['name'] for u in result['users'])} (passwords in {directory})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
