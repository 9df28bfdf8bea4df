"""The CRM's web console: a client of the gateway's public HTTP API, nothing else (API.md, Web console)."""
