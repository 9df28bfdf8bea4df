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
    # Proxy hops in front of the gateway whose X-Forwarded-For / -Proto / -Host are believed (0: none).
    trusted_proxies: int = field(default_factory=lambda: config.env_int("CRM_TRUSTED_PROXIES", 0))
    # Rate limits (the `limits` notation, e.g. "600/minute" or "10/second;600/hour"), per route:
    # per authenticated caller; per client address without a caller; /readyz per client address.
    rate_limit: str = field(default_factory=lambda: config.env("CRM_RATE_LIMIT", "600/minute"))
    rate_limit_anonymous: str = field(default_factory=lambda: config.env("CRM_RATE_LIMIT_ANONYMOUS", "120/minute"))
    rate_limit_readyz: str = field(default_factory=lambda: config.env("CRM_RATE_LIMIT_READYZ", "30/minute"))
    # Public routes limited apart, per client address: form submissions (a person submits a few; a bot
    # many), and the tracking pixel and links (image proxies fetch many recipients' pixels from one address).
    rate_limit_forms: str = field(default_factory=lambda: config.env("CRM_RATE_LIMIT_FORMS", "10/minute;200/hour"))
    rate_limit_tracking: str = field(default_factory=lambda: config.env("CRM_RATE_LIMIT_TRACKING", "6000/minute"))
    # Where the counters live: Redis shared by every gateway process when set, else each process's memory.
    redis_url: str | None = field(default_factory=lambda: config.env("REDIS_URL"))
    rate_limit_prefix: str = field(default_factory=lambda: config.env("CRM_RATE_LIMIT_PREFIX", "crm"))
