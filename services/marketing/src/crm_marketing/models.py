"""Tables of the marketing service."""
from crm_common.db import make_base

Base = make_base("marketing")
