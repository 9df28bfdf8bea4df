"""Routes of the marketing context."""
blueprints: list = []
