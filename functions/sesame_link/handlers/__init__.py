"""Lambda handlers: one module per door."""
