"""The service desk's business rules: plain functions over a `crm_common.entrypoint.Context` (no nameko,
no transport), each module named for what it holds."""
