"""Build and spec tooling: the package assembled here, openapi.json, the dependency audit."""
