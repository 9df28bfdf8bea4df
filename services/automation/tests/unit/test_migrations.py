from crm_common.testing.checks import assert_migrations_match_models
from crm_automation.models import Base


def test_migrations_build_the_schema_the_models_declare(tmp_path):
    assert_migrations_match_models("automation", f"sqlite:///{tmp_path / 'automation.db'}", Base.metadata)
