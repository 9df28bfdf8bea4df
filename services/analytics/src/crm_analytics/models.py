"""Tables of the analytics service."""
from crm_common.db import make_base

Base = make_base("analytics")
