"""The dead-letter store: events whose handler kept failing, kept for an operator to list and replay.

CLI: `python -m crm_common.deadletters list <service>` and
     `python -m crm_common.deadletters replay <service> <id> [<id> ...] | --all`
(both call the service's `dead_letters` / `replay_dead_letters` RPC methods as the operator, signed with
the bus key of the host they run on: CRM_BUS_KEY_FILE).
"""
from __future__ import annotations

import json
import sys

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from crm_common import tables, topology
from crm_common.db import utcnow


def store(engine: Engine, metadata, queue: str, envelope: dict, error: str, attempts: int) -> int:
    table = metadata.tables[tables.DEAD_LETTERS]
    with engine.begin() as conn:
        result = conn.execute(table.insert().values(
            event_id=envelope.get("event_id", "?"), type=envelope.get("type", "?"), queue=queue,
            envelope=envelope, error=error[:4000], attempts=attempts, created_at=utcnow()))
        return result.inserted_primary_key[0]


def list_letters(engine: Engine, metadata, include_replayed: bool = False, limit: int = 200) -> list[dict]:
    table = metadata.tables[tables.DEAD_LETTERS]
    query = select(table).order_by(table.c.id).limit(limit)
    if not include_replayed:
        query = query.where(table.c.replayed_at.is_(None))
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [{"id": r["id"], "event_id": r["event_id"], "type": r["type"], "queue": r["queue"],
             "error": r["error"], "attempts": r["attempts"], "created_at": r["created_at"].isoformat(),
             "replayed_at": r["replayed_at"].isoformat() if r["replayed_at"] else None} for r in rows]


def replay(engine: Engine, metadata, publisher, ids: list[int] | None) -> list[int]:
    """Send the letters back to their queue with a fresh attempt count; returns the replayed ids."""
    table = metadata.tables[tables.DEAD_LETTERS]
    query = select(table).where(table.c.replayed_at.is_(None)).order_by(table.c.id)
    if ids is not None:
        query = query.where(table.c.id.in_(ids))
    replayed = []
    with engine.begin() as conn:
        for row in conn.execute(query).mappings().all():
            publisher.publish_to_queue(row["queue"], row["envelope"], headers={"nameko.crm_attempt": 0},
                                       exchange=topology.retry_exchange(topology.consumer_of(row["queue"])))
            conn.execute(update(table).where(table.c.id == row["id"]).values(replayed_at=utcnow()))
            replayed.append(row["id"])
    return replayed


def main(argv: list[str]) -> int:
    from crm_common.callers import OPERATOR
    from crm_common.rpcclient import call_once

    if len(argv) < 2 or argv[0] not in ("list", "replay"):
        print(__doc__, file=sys.stderr)
        return 2
    command, service, rest = argv[0], argv[1], argv[2:]
    if command == "list":
        print(json.dumps(call_once(service, "dead_letters", actor=OPERATOR), indent=2))
        return 0
    ids = None if rest == ["--all"] else [int(x) for x in rest]
    if ids == []:
        print("name the ids to replay, or --all", file=sys.stderr)
        return 2
    print(json.dumps({"replayed": call_once(service, "replay_dead_letters", ids, actor=OPERATOR)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
