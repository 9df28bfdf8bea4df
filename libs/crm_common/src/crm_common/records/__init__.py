"""What every record shares across services: custom fields (definitions, values, list filters and sort)."""
