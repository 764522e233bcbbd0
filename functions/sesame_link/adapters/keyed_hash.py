"""Keyed hashes under the stack's KMS HMAC key, which never leaves KMS: one GenerateMac per
execution environment derives a root key, and each purpose gets its own HMAC-SHA256 under it.

Used where a value must be named or sealed without revealing it: secret version ids derived from
the secret's value (whoever can list versions learns nothing of the token), list cursors bound
to the tenant they were issued to."""

from __future__ import annotations

import hashlib
import hmac
import threading
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from sesame_link.adapters.aws import storage_error

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient

_ROOT_MESSAGE = b"sesame-link keyed hash root v1"


class KeyedHash:
    def __init__(self, kms: KMSClient, mac_key_id: str) -> None:
        self._kms = kms
        self._mac_key_id = mac_key_id
        self._root: bytes | None = None
        self._lock = threading.Lock()

    def digest(self, purpose: str, *parts: str) -> bytes:
        """HMAC-SHA256 of the parts (length-prefixed, so no two part lists collide) for a purpose."""
        message = b"".join(
            len(part.encode()).to_bytes(4, "big") + part.encode() for part in (purpose, *parts)
        )
        return hmac.new(self._root_key(), message, hashlib.sha256).digest()

    def _root_key(self) -> bytes:
        with self._lock:
            if self._root is None:
                try:
                    response = self._kms.generate_mac(
                        KeyId=self._mac_key_id, Message=_ROOT_MESSAGE, MacAlgorithm="HMAC_SHA_256"
                    )
                except (ClientError, BotoCoreError) as exc:
                    raise storage_error(exc) from None
                self._root = response["Mac"]
            return self._root
