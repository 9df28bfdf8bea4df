"""Territory scope: the territories a user is given on their record (`User.territory_ids`) and those
sales lists them on (`sales.territory_members_changed.v1`, kept as rosters here)."""
from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from crm_common.db import utcnow
from crm_identity.models import TerritoryMember, TerritoryRoster, User


def territory_ids(session: Session, user: User) -> list[str]:
    """The user's territories now: their record's, then those whose sales roster lists them."""
    listed = session.execute(select(TerritoryMember.territory_id).where(TerritoryMember.user_id == user.id)
                             .order_by(TerritoryMember.territory_id)).scalars()
    return list(dict.fromkeys([*(user.territory_ids or []), *listed]))


def apply_roster(session: Session, territory_id: str, member_ids: list[str], version: int) -> bool:
    """Make `member_ids` the territory's members, unless a newer version was applied already.
    Returns whether anything was applied."""
    roster = session.get(TerritoryRoster, territory_id)
    if roster is not None and roster.version >= version:
        return False
    if roster is None:
        roster = TerritoryRoster(territory_id=territory_id, version=version)
        session.add(roster)
    roster.version, roster.updated_at = version, utcnow()
    session.execute(delete(TerritoryMember).where(TerritoryMember.territory_id == territory_id))
    for user_id in dict.fromkeys(member_ids):
        session.add(TerritoryMember(territory_id=territory_id, user_id=user_id))
    session.flush()
    return True
