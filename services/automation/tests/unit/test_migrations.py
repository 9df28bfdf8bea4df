import pytest
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from crm_common.db import make_engine
from crm_common.testing.checks import assert_migrations_match_models
from crm_common.testing.harness import database_url
from crm_automation.domain import ended
from crm_automation.models import Base


def test_migrations_build_the_schema_the_models_declare(tmp_path):
    assert_migrations_match_models("automation", f"sqlite:///{tmp_path / 'automation.db'}", Base.metadata)


@pytest.mark.integration
def test_on_postgresql_a_workflows_ended_runs_are_found_through_their_index(tmp_path):
    """The migrations build the models' schema on PostgreSQL too, and a rare workflow's page of ended runs reads
    the GIN index of the rows' workflow ids, not every row (5,000 rows, the workflow in 2 of them)."""
    with database_url("postgresql", "automation", tmp_path) as url:
        assert_migrations_match_models("automation", url, Base.metadata)
        engine = make_engine(url)
        common, rare = "00000000-0000-7000-8000-000000000001", "00000000-0000-7000-9000-000000000001"
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO workflow_runs_ended (id, created_at, depth, status, workflow_ids, runs) "
                "SELECT lpad(to_hex(i), 8, '0') || '-0000-7000-8000-000000000000', "
                "now() - i * interval '1 second', 0, 'skipped', "
                "CASE WHEN i % 2500 = 0 THEN ' ' || :c || ' ' || :r || ' ' ELSE ' ' || :c || ' ' END, "
                "CASE WHEN i % 2500 = 0 THEN json_build_array(json_build_array(:c, 1, '[]'::json), "
                "json_build_array(:r, 1, '[]'::json)) ELSE json_build_array(json_build_array(:c, 1, '[]'::json)) END "
                "FROM generate_series(1, 5000) AS i"), {"c": common, "r": rare})
            conn.execute(text("ANALYZE workflow_runs_ended"))
        statements = []
        event.listen(engine, "before_cursor_execute", lambda *a: statements.append((a[2], a[3])))
        with Session(engine) as session:
            runs = ended.page(session, {}, rare, None, True, 51)
        assert [run.workflow_id for run in runs] == [rare, rare]
        with engine.connect() as conn:
            plan = "\n".join(conn.exec_driver_sql("EXPLAIN " + statements[0][0], statements[0][1]).scalars())
        assert "ix_runs_ended_workflows" in plan, plan
        engine.dispose()
