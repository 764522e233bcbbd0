"""Core: the domain's values and rules, the pydantic models at the edges, errors, ports (the
protocols the services need), config, deadline and observability. Imports no other layer."""
