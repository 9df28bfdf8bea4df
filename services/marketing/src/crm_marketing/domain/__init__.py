"""The marketing service's business rules: plain functions `fn(ctx, [record_id], [data])`, no transport."""
