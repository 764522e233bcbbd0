"""Secrets Manager store for linked credentials, encrypted under the customer-managed key.

A secret's version id is a keyed hash of its value, on create and on put: a re-link with the
same token writes nothing new (Secrets Manager keeps every version younger than 24 h and refuses
writes past its version quota, so rewriting on every re-link could block a customer for a day)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from sesame_link.adapters.aws import error_code, storage_error
from sesame_link.core import errors
from sesame_link.core.domain import Credential, StoredCredential, StoredSecret, tenant_key

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_secretsmanager.type_defs import DescribeSecretResponseTypeDef, TagTypeDef

    from sesame_link.core.ports import Sealer

PROVIDER = "sesame_hr"
CURRENT = "AWSCURRENT"
# What create_secret answers when a racing link took the name (or it is scheduled for deletion).
_CREATE_CONFLICTS = frozenset({"ResourceExistsException", "InvalidRequestException"})


class SecretsManagerVault:
    def __init__(
        self,
        client: SecretsManagerClient,
        kms_key_id: str,
        prefix: str,
        keyed_hash: Sealer,
        readers: tuple[str, ...],
        *,
        kms: KMSClient,
    ) -> None:
        """`readers`: the only principals (role ARNs) that may read a stored token; `kms` tells
        which key an alias names."""
        self._client = client
        self._kms = kms
        self._kms_key_id = kms_key_id
        self._prefix = prefix
        self._keyed_hash = keyed_hash
        self._policy = json.dumps(reader_policy(readers))

    def secret_name(self, tenant: str, company_id: str) -> str:
        return f"{self._prefix}/{tenant_key(tenant)}/sesame/{company_id}"

    def store(self, credential: Credential) -> StoredSecret:
        """Describe first: AWS ignores a create whose version id exists with the same value even
        when the secret is scheduled for deletion or the version is not current, so a create is
        only tried for a name that is free (and one that a racing link took is updated instead)."""
        name = self.secret_name(credential.tenant, credential.company_id)
        value = _secret_value(credential)
        version = self._keyed_hash.digest("secret-version", value).hex()
        try:
            stored = self._store(name, value, version, credential)
            # Every time, not only on create: it also guards a secret stored before the policy was.
            self._client.put_resource_policy(
                SecretId=stored.arn, ResourcePolicy=self._policy, BlockPublicPolicy=True
            )
        except (ClientError, BotoCoreError) as exc:
            raise storage_error(exc) from None
        return stored

    def _store(self, name: str, value: str, version: str, credential: Credential) -> StoredSecret:
        secret = self._describe(name)
        if secret is None:
            try:
                return self._create(name, value, version, credential)
            except ClientError as exc:
                if error_code(exc) not in _CREATE_CONFLICTS:
                    raise
            secret = self._describe(name)
        if secret is None:
            raise errors.StorageUnavailable("The secret is being deleted; try again shortly.")
        return self._update(secret, value, version)

    def schedule_deletion(self, secret_arn: str, recovery_days: int) -> None:
        """Delete after `recovery_days` (7-30), or at once without recovery (0). A secret already
        gone or already scheduled for deletion is fine: an unlink that is retried succeeds."""
        window: dict[str, Any] = (
            {"ForceDeleteWithoutRecovery": True}
            if recovery_days == 0
            else {"RecoveryWindowInDays": recovery_days}
        )
        try:
            self._client.delete_secret(SecretId=secret_arn, **window)
            return
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return
            if error_code(exc) != "InvalidRequestException":
                raise storage_error(exc) from None
        except BotoCoreError as exc:
            raise storage_error(exc) from None
        try:
            scheduled = "DeletedDate" in self._client.describe_secret(SecretId=secret_arn)
        except (ClientError, BotoCoreError) as exc:
            raise storage_error(exc) from None
        if not scheduled:
            raise errors.StorageFailed("Credential storage refused to delete the secret.")

    def _create(self, name: str, value: str, version: str, credential: Credential) -> StoredSecret:
        response = self._client.create_secret(
            Name=name,
            SecretString=value,
            KmsKeyId=self._kms_key_id,
            ClientRequestToken=version,
            Description="Sesame HR API token linked by sesame-link",
            Tags=_tags(credential),
        )
        return StoredSecret(arn=response["ARN"], changed=True)

    def _is_key(self, described: str | None) -> bool:
        """DescribeSecret names the secret's key by its ARN, key id or alias ARN (Secrets Manager
        API reference, DescribeSecret: "KmsKeyId: The key ID or alias ARN of the KMS key"): an
        alias is this key if KMS says it points to it. No key (the AWS managed key) is not."""
        if described is None:
            return False
        if described in {self._kms_key_id, self._kms_key_id.rpartition(":key/")[2]}:
            return True
        if ":alias/" not in described and not described.startswith("alias/"):
            return False
        try:
            return self._kms.describe_key(KeyId=described)["KeyMetadata"]["Arn"] == self._kms_key_id
        except ClientError as exc:
            if error_code(exc) == "NotFoundException":  # an alias of nothing names no key
                return False
            raise

    def _describe(self, name: str) -> DescribeSecretResponseTypeDef | None:
        try:
            return self._client.describe_secret(SecretId=name)
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return None
            raise

    def _update(self, secret: DescribeSecretResponseTypeDef, value: str, version: str) -> StoredSecret:
        """The name is taken. Never write into a secret under another key; restore one scheduled
        for deletion (AWS refuses a put on it); then make `version` current, writing it only if it
        does not exist yet."""
        name = secret["Name"]
        if not self._is_key(secret.get("KmsKeyId")):
            raise errors.StorageFailed(
                "A secret of that name exists under another key; it was left untouched."
            )
        if "DeletedDate" in secret:
            self._client.restore_secret(SecretId=name)
        stages = secret.get("VersionIdsToStages", {})
        if CURRENT in stages.get(version, []):
            return StoredSecret(arn=secret["ARN"], changed=False)
        response = self._client.put_secret_value(
            SecretId=name, SecretString=value, ClientRequestToken=version
        )
        if CURRENT not in response.get("VersionStages", []):
            # The version already existed (an earlier token linked again): AWS ignores the put
            # and leaves the labels where they were, so the current label is moved explicitly.
            current = [other for other, labels in stages.items() if CURRENT in labels]
            self._client.update_secret_version_stage(
                SecretId=name,
                VersionStage=CURRENT,
                MoveToVersionId=version,
                **({"RemoveFromVersionId": current[0]} if current else {}),
            )
        return StoredSecret(arn=response["ARN"], changed=True)


class SecretsManagerReader:
    """Reads what a link stored: only the check function may (GetSecretValue)."""

    def __init__(self, client: SecretsManagerClient) -> None:
        self._client = client

    def read(self, secret_arn: str) -> StoredCredential | None:
        """The stored credential, or None when the secret is gone or scheduled for deletion (the
        connection is being unlinked)."""
        try:
            response = self._client.get_secret_value(SecretId=secret_arn, VersionStage=CURRENT)
        except ClientError as exc:
            if error_code(exc) in {"ResourceNotFoundException", "InvalidRequestException"}:
                return None
            raise storage_error(exc) from None
        except BotoCoreError as exc:
            raise storage_error(exc) from None
        try:
            value = json.loads(response["SecretString"])
            return StoredCredential(
                token=value["token"], region=value["region"], company_id=value["company_id"]
            )
        except (KeyError, TypeError, ValueError):
            raise errors.StorageFailed("The stored credential is not in the expected shape.") from None


def reader_policy(readers: tuple[str, ...]) -> dict[str, object]:
    """The secret's resource policy: nobody reads the token but `readers`, whatever their IAM
    policies allow (an explicit deny wins; Secrets Manager user guide, "Resource-based policies").
    A deny to every principal is not public, so BlockPublicPolicy accepts it."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OnlyTheCheckFunctionReadsTheToken",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": "*",
                "Condition": {"ArnNotEquals": {"aws:PrincipalArn": list(readers)}},
            }
        ],
    }


def _secret_value(credential: Credential) -> str:
    """What is stable about the credential: the same link again gives the same value."""
    return json.dumps(
        {
            "token": credential.token,
            "region": credential.region,
            "company_id": credential.company_id,
            "company_name": credential.company_name,
        },
        sort_keys=True,
    )


def _tags(credential: Credential) -> list[TagTypeDef]:
    return [
        {"Key": "sesame-link:tenant", "Value": tenant_key(credential.tenant)[:256]},
        {"Key": "sesame-link:provider", "Value": PROVIDER},
        {"Key": "sesame-link:region", "Value": credential.region},
        {"Key": "sesame-link:company", "Value": credential.company_id},
    ]
