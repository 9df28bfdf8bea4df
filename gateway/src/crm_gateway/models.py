"""The gateway's database: the kernel's tables alone (crm_common.tables). An Idempotency-Key is kept by the service
a request reaches, with its answer (crm_gateway.idempotency)."""
from crm_common.db import make_base

Base = make_base("gateway")
