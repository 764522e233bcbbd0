"""Handlers: one module per Lambda function (api, check, provisioning, sweep), what the doors share
(http, problems, reporting, cold_start) and the composition root that builds the adapters
(runtime)."""
