from crm_common.migrate import run_env

from crm_service_desk.models import Base


def include_name(name, type_, parent_names):
    """The full-text index of articles is created by a migration, not by the models (on SQLite the FTS5
    table sd_kb_fts and its shadow tables, on PostgreSQL the GIN index ix_sd_kb_articles_fts):
    autogenerate must not offer to drop it."""
    if type_ == "table":
        return not name.startswith("sd_kb_fts")
    return not (type_ == "index" and name == "ix_sd_kb_articles_fts")


run_env(Base.metadata, include_name=include_name)
