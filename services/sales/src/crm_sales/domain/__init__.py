"""The sales business: plain functions `fn(ctx, [record_id], [data], **options)` over the models, no transport."""
