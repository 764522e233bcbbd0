"""The local stack: `make run`'s gateway, the local AWS (moto), the Sesame simulator, the connect page."""
