"""Gateway settings, from the environment over defaults."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from crm_common import config

JWT_ISSUER = "crm-identity"
JWT_AUDIENCE = "crm-api"
JWT_ALGORITHM = "EdDSA"  # pinned: tokens signed any other way are refused


def default_key_dir() -> Path:
    return config.var_dir() / "keys"


@dataclass
class Settings:
    amqp_uri: str = field(default_factory=config.amqp_uri)
    rpc_timeout: float = field(default_factory=config.rpc_timeout)
    public_key_file: str = field(default_factory=lambda: config.env(
        "CRM_JWT_PUBLIC_KEY_FILE", str(default_key_dir() / "jwt_public.pem")))
    bus_key_file: str = field(default_factory=lambda: config.env(
        "CRM_BUS_KEY_FILE", str(default_key_dir() / "bus.key")))
    database_url: str = field(default_factory=lambda: config.database_url("gateway"))
    cors_origins: tuple[str, ...] = field(default_factory=lambda: tuple(
        o.strip() for o in (config.env("CRM_CORS_ORIGINS", "") or "").split(",") if o.strip()))
    max_body_bytes: int = 10 * 1024 * 1024
    api_key_cache_seconds: float = field(default_factory=lambda: config.env_float("CRM_API_KEY_CACHE", 5.0))
    token_cutoff_cache_seconds: float = field(default_factory=lambda: config.env_float("CRM_TOKEN_CUTOFF_CACHE", 10.0))
    services: tuple[str, ...] = config.SERVICES
