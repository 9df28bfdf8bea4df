from crm_common.migrate import run_env

from crm_service_desk.models import Base


def include_name(name, type_, parent_names):
    """The SQLite FTS5 index of articles (sd_kb_fts and its shadow tables) is created by a migration,
    not by the models: autogenerate must not offer to drop it."""
    return not (type_ == "table" and name.startswith("sd_kb_fts"))


run_env(Base.metadata, include_name=include_name)
