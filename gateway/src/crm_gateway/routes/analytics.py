"""Routes of the analytics context."""
blueprints: list = []
