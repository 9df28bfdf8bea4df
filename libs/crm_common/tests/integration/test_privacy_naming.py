"""`privacy.naming` finds the rows whose JSON text names a person, however that text was written: by the JSON
type (characters beyond ASCII escaped, `\\u00e9`) or by `jsontext.text` (as they are), on both backends; and
no row that does not."""
from __future__ import annotations

import pytest
from sqlalchemy import JSON, Column, Integer, MetaData, Table, Text, select

from crm_common import jsontext
from crm_common.privacy import naming
from crm_common.testing.harness import database_engine

pytestmark = pytest.mark.integration

metadata = MetaData()
COPIES = Table("privacy_copies", metadata, Column("id", Integer, primary_key=True), Column("data", JSON),
               Column("text", Text))


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    with database_engine(request.param, "privacynaming", metadata, tmp_path) as engine:
        yield engine


def test_a_person_named_beyond_ascii_is_found_in_escaped_and_in_plain_json_text_and_no_one_else(engine):
    person = {"email": "josé.núñez@example.com", "first_name": "José"}
    with engine.begin() as conn:
        for row in ({"id": 1, "data": person},  # the JSON type: json.dumps, beyond ASCII escaped
                    {"id": 2, "text": jsontext.text({"record": person})},  # as it is
                    {"id": 3, "data": {"email": "jose.nunez@example.com"}},  # someone else
                    {"id": 4, "text": jsontext.text({"email": "other@example.com", "note": "José"})}):
            conn.execute(COPIES.insert().values(**row))
        assert '\\u00e9' in conn.execute(select(COPIES.c.data.cast(Text)).where(COPIES.c.id == 1)).scalar()
        for column in ("data", "text"):
            found = conn.execute(select(COPIES.c.id).where(naming(COPIES.c[column], ["JOSÉ.núñez@Example.com".lower()]))
                                 .order_by(COPIES.c.id)).scalars().all()
            assert found == ([1] if column == "data" else [2]), column
        found = conn.execute(select(COPIES.c.id).where(naming(COPIES.c.data, ["Jose.Nunez@example.com"]))).scalars()
        assert list(found) == [3]  # an ASCII address, case-insensitive, as before
