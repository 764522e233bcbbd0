"""A tenant's connections: list them (newest link first), read one, unlink one. Every operation
answers only for the caller's tenant: another tenant's connection is not found, exactly like one
that never existed. No HTTP or AWS here."""

from __future__ import annotations

import base64
import binascii
import hmac
import re

from sesame_link.core import errors
from sesame_link.core.domain import ConnectionRecord
from sesame_link.core.models import FieldProblem
from sesame_link.core.ports import Registry, Sealer, Vault

CURSOR_PURPOSE = "list-cursor"
_SEAL_BYTES = 16
_POSITION = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ#conn_[0-9a-f]{32}")


class ConnectionsService:
    def __init__(self, registry: Registry, vault: Vault, sealer: Sealer, recovery_days: int) -> None:
        self._registry = registry
        self._vault = vault
        self._sealer = sealer
        self._recovery_days = recovery_days

    def list(self, tenant: str, limit: int, cursor: str | None) -> tuple[list[ConnectionRecord], str | None]:
        """A page of the tenant's connections and the cursor of the next page (None: no more)."""
        after = self._open(tenant, cursor) if cursor is not None else None
        page = self._registry.page(tenant, limit, after)
        next_cursor = self._seal(tenant, page.last_order) if page.last_order is not None else None
        return page.records, next_cursor

    def read(self, tenant: str, connection_id: str) -> ConnectionRecord:
        record = self._registry.get(tenant, connection_id)
        if record is None:
            raise errors.ConnectionNotFound()
        return record

    def unlink(self, tenant: str, connection_id: str) -> ConnectionRecord:
        """The secret first, then the registry entry: an unlink that fails half-way leaves the
        connection listed, so a retry finishes it; never a stored token nobody can see."""
        record = self.read(tenant, connection_id)
        self._vault.schedule_deletion(record.secret_arn, self._recovery_days)
        if not self._registry.delete(tenant, connection_id):
            raise errors.ConnectionNotFound()
        return record

    def _seal(self, tenant: str, position: str) -> str:
        """An opaque cursor bound to the tenant: the position, and a keyed hash of tenant and position."""
        seal = self._sealer.digest(CURSOR_PURPOSE, tenant, position)[:_SEAL_BYTES]
        return f"{_b64(position.encode())}.{_b64(seal)}"

    def _open(self, tenant: str, cursor: str) -> str:
        """The position a cursor holds, if this API issued it to this tenant; else invalid_request."""
        try:
            encoded_position, encoded_seal = cursor.split(".")
            position, seal = _unb64(encoded_position).decode(), _unb64(encoded_seal)
        except (ValueError, binascii.Error):
            raise _invalid_cursor() from None
        if (_b64(position.encode()), _b64(seal)) != (encoded_position, encoded_seal):
            raise _invalid_cursor()  # another spelling of the same bytes: only the issued one is taken
        expected = self._sealer.digest(CURSOR_PURPOSE, tenant, position)[:_SEAL_BYTES]
        if not hmac.compare_digest(seal, expected) or not _POSITION.fullmatch(position):
            raise _invalid_cursor()
        return position


def _invalid_cursor() -> errors.InvalidRequest:
    return errors.InvalidRequest(
        "The query is not valid.",
        [FieldProblem(field="cursor", message="is not a cursor this API gave you")],
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
