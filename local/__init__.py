"""Development-only tooling: local gateway, Sesame simulator, template reader. Never deployed."""
