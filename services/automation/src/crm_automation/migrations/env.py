from crm_common.migrate import run_env

from crm_automation.models import Base

run_env(Base.metadata)
