"""The analytics service's rules: plain functions `fn(ctx, [record_id], [data], **options)`."""
