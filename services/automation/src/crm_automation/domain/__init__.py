"""Business rules of the automation service: plain functions of a `ctx`, no transport."""
