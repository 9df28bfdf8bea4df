"""The integration service of the CRM suite."""
import crm_common  # noqa: F401  (filters eventlet's deprecation warning)
