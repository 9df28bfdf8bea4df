"""One table of error codes, raised by services and mapped once to HTTP statuses at the gateway."""
from __future__ import annotations

import json

from nameko.exceptions import deserialize_to_instance

# code -> (HTTP status, title)
CODES: dict[str, tuple[int, str]] = {
    "bad_request": (400, "Bad request"),
    "unauthenticated": (401, "Unauthenticated"),
    "forbidden": (403, "Forbidden"),
    "not_found": (404, "Not found"),
    "method_not_allowed": (405, "Method not allowed"),
    "conflict": (409, "Conflict"),
    "precondition_failed": (412, "Precondition failed"),
    "payload_too_large": (413, "Payload too large"),
    "uri_too_long": (414, "URI too long"),
    "unsupported_media_type": (415, "Unsupported media type"),
    "validation_failed": (422, "Validation failed"),
    "rate_limited": (429, "Too many requests"),
    "internal": (500, "Internal error"),
    "unavailable": (503, "Service unavailable"),
    "timeout": (503, "Service did not answer in time"),
}


# members of a problem+json body that an error's `extra` may not set (it would overwrite what the error says)
RESERVED_EXTRA = frozenset({"type", "title", "status", "detail", "instance", "errors", "code", "request_id"})


@deserialize_to_instance
class ServiceError(Exception):
    """A business failure with a code from CODES; crosses RPC intact (nameko re-raises it as itself)."""

    def __init__(self, code: str, detail: str = "", errors: dict | str | None = None,
                 extra: dict | str | None = None):
        if code not in CODES:
            raise ValueError(f"unknown error code {code!r}")
        # nameko turns non-string values in exception args into text; JSON keeps their types intact
        errors = json.loads(errors) if isinstance(errors, str) else errors
        extra = json.loads(extra) if isinstance(extra, str) else extra
        clashing = RESERVED_EXTRA.intersection(extra or {})
        if clashing:
            raise ValueError(f"ServiceError extra may not set {', '.join(sorted(clashing))}")
        super().__init__(code, detail, json.dumps(errors or {}, default=str), json.dumps(extra or {}, default=str))
        self.code = code
        self.detail = detail
        self.errors = errors or {}
        self.extra = extra or {}

    @property
    def status(self) -> int:
        return CODES[self.code][0]

    @property
    def title(self) -> str:
        return CODES[self.code][1]

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


def not_found(what: str = "resource") -> ServiceError:
    return ServiceError("not_found", f"{what} not found")


def validation(errors: dict, detail: str = "the request has invalid fields") -> ServiceError:
    return ServiceError("validation_failed", detail, errors=errors)


def conflict(detail: str, **extra) -> ServiceError:
    return ServiceError("conflict", detail, extra=extra)


def forbidden(detail: str = "not allowed") -> ServiceError:
    return ServiceError("forbidden", detail)
