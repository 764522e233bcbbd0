"""Secrets Manager store for linked credentials, encrypted under the customer-managed key."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from sesame_link import errors
from sesame_link.linking import Credential, StoredSecret, tenant_key
from sesame_link.models import UTC_TIMESTAMP

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_secretsmanager.type_defs import TagTypeDef

PROVIDER = "sesame_hr"
# What create_secret answers when the name is taken, live or scheduled for deletion.
_CREATE_CONFLICTS = frozenset({"ResourceExistsException", "InvalidRequestException"})
_RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "InternalServiceError",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "KMSThrottlingException",
    }
)


class SecretsManagerVault:
    def __init__(self, client: SecretsManagerClient, kms_key_id: str, prefix: str) -> None:
        self._client = client
        self._kms_key_id = kms_key_id
        self._prefix = prefix

    def secret_name(self, tenant: str, company_id: str) -> str:
        return f"{self._prefix}/{tenant_key(tenant)}/sesame/{company_id}"

    def store(self, credential: Credential) -> StoredSecret:
        name = self.secret_name(credential.tenant, credential.company_id)
        value = _secret_value(credential)
        try:
            return self._create(name, value, credential)
        except ClientError as exc:
            if _code(exc) not in _CREATE_CONFLICTS:
                raise _storage_error(exc) from None
            conflict = exc
        except BotoCoreError as exc:
            raise _storage_error(exc) from None
        return self._rotate(name, value, conflict)

    def _create(self, name: str, value: str, credential: Credential) -> StoredSecret:
        response = self._client.create_secret(
            Name=name,
            SecretString=value,
            KmsKeyId=self._kms_key_id,
            Description="Sesame HR API token linked by sesame-link",
            Tags=_tags(credential),
        )
        return StoredSecret(arn=response["ARN"], created=True)

    def _rotate(self, name: str, value: str, conflict: ClientError) -> StoredSecret:
        """The secret exists: write a new version. One scheduled for deletion is restored first
        (AWS refuses both create and put on it; some emulators accept the put and keep it deleted)."""
        try:
            if "DeletedDate" in self._client.describe_secret(SecretId=name):
                self._client.restore_secret(SecretId=name)
            elif _code(conflict) != "ResourceExistsException":
                raise _storage_error(conflict)
            response = self._client.put_secret_value(SecretId=name, SecretString=value)
        except (ClientError, BotoCoreError) as exc:
            raise _storage_error(exc) from None
        return StoredSecret(arn=response["ARN"], created=False)


def _secret_value(credential: Credential) -> str:
    return json.dumps(
        {
            "token": credential.token,
            "region": credential.region,
            "company_id": credential.company_id,
            "company_name": credential.company_name,
            "linked_at": credential.linked_at.strftime(UTC_TIMESTAMP),
        }
    )


def _tags(credential: Credential) -> list[TagTypeDef]:
    return [
        {"Key": "sesame-link:tenant", "Value": tenant_key(credential.tenant)[:256]},
        {"Key": "sesame-link:provider", "Value": PROVIDER},
        {"Key": "sesame-link:region", "Value": credential.region},
        {"Key": "sesame-link:company", "Value": credential.company_id},
    ]


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _storage_error(exc: ClientError | BotoCoreError) -> errors.LinkError:
    if isinstance(exc, BotoCoreError) or _code(exc) in _RETRYABLE_CODES:
        return errors.StorageUnavailable("Credential storage is unavailable; try again shortly.")
    return errors.StorageFailed(f"Credential storage refused the write ({_code(exc)}).")
