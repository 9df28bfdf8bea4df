"""Business rules of the identity service: plain functions taking a Session (no nameko, no transport)."""
