"""Every token a test uses is registered here; conftest fails any test whose captured output
(stdout, stderr, logs, failure report) contains one."""

from __future__ import annotations

import secrets

_tokens: set[str] = set()


def register(token: str) -> str:
    _tokens.add(token)
    return token


def new_token() -> str:
    """A token shaped like Sesame's: 64 lowercase hex characters."""
    return register(secrets.token_hex(32))


def leaked_in(text: str) -> int:
    """How many registered tokens appear in `text` (never which: that would print them)."""
    return sum(1 for token in _tokens if token in text)


def redact(text: str) -> str:
    for token in _tokens:
        text = text.replace(token, "[LEAKED TOKEN]")
    return text
