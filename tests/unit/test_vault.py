"""Secrets Manager call sequences and error mapping, with botocore's Stubber (the local
emulator cannot produce throttling, KMS or access failures)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import ANY, Stubber

from sesame_link import errors
from sesame_link.linking import Credential
from sesame_link.vault import SecretsManagerVault
from tests import canary

KEY = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:sl/auth0_7c1/sesame/c1-AbCdEf"
NAME = "sl/auth0_7c1/sesame/c1"


@pytest.fixture
def stubbed() -> Iterator[tuple[SecretsManagerVault, Stubber]]:
    client = boto3.client(
        "secretsmanager", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stubber:
        yield SecretsManagerVault(client, KEY, "sl"), stubber
        stubber.assert_no_pending_responses()


def credential() -> Credential:
    return Credential(
        tenant="auth0|1",
        region="eu1",
        company_id="c1",
        company_name="Acme",
        token=canary.new_token(),
        linked_at=datetime(2026, 11, 28, tzinfo=UTC),
    )


def expect_create(stubber: Stubber, error: str | None = None) -> None:
    params = {"Name": NAME, "SecretString": ANY, "KmsKeyId": KEY, "Description": ANY, "Tags": ANY}
    if error:
        stubber.add_client_error("create_secret", error, expected_params=params)
    else:
        stubber.add_response("create_secret", {"ARN": ARN, "Name": NAME}, params)


def test_first_link_creates_the_secret_under_the_key(stubbed: tuple[SecretsManagerVault, Stubber]) -> None:
    vault, stubber = stubbed
    expect_create(stubber)
    stored = vault.store(credential())
    assert (stored.arn, stored.created) == (ARN, True)


def test_existing_secret_gets_a_new_version(stubbed: tuple[SecretsManagerVault, Stubber]) -> None:
    vault, stubber = stubbed
    expect_create(stubber, "ResourceExistsException")
    stubber.add_response("describe_secret", {"ARN": ARN}, {"SecretId": NAME})
    stubber.add_response("put_secret_value", {"ARN": ARN}, {"SecretId": NAME, "SecretString": ANY})
    stored = vault.store(credential())
    assert (stored.arn, stored.created) == (ARN, False)


def test_secret_scheduled_for_deletion_is_restored_then_written(
    stubbed: tuple[SecretsManagerVault, Stubber],
) -> None:
    vault, stubber = stubbed
    expect_create(stubber, "InvalidRequestException")
    stubber.add_response(
        "describe_secret", {"ARN": ARN, "DeletedDate": datetime(2026, 11, 27)}, {"SecretId": NAME}
    )
    stubber.add_response("restore_secret", {"ARN": ARN}, {"SecretId": NAME})
    stubber.add_response("put_secret_value", {"ARN": ARN}, {"SecretId": NAME, "SecretString": ANY})
    assert vault.store(credential()).created is False


def test_other_invalid_requests_are_storage_failures(stubbed: tuple[SecretsManagerVault, Stubber]) -> None:
    vault, stubber = stubbed
    expect_create(stubber, "InvalidRequestException")
    stubber.add_response("describe_secret", {"ARN": ARN}, {"SecretId": NAME})
    with pytest.raises(errors.StorageFailed):
        vault.store(credential())


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("ThrottlingException", errors.StorageUnavailable),
        ("InternalServiceError", errors.StorageUnavailable),
        ("ServiceUnavailable", errors.StorageUnavailable),
        ("AccessDeniedException", errors.StorageFailed),
        ("EncryptionFailure", errors.StorageFailed),
        ("KMSDisabledException", errors.StorageFailed),
        ("KMSInvalidStateException", errors.StorageFailed),
        ("LimitExceededException", errors.StorageFailed),
    ],
)
def test_create_errors_map_to_the_documented_codes(
    stubbed: tuple[SecretsManagerVault, Stubber], code: str, expected: type[errors.LinkError]
) -> None:
    vault, stubber = stubbed
    expect_create(stubber, code)
    with pytest.raises(expected) as caught:
        vault.store(credential())
    assert caught.value.status in {500, 503}


def test_a_failed_rotation_is_reported(stubbed: tuple[SecretsManagerVault, Stubber]) -> None:
    vault, stubber = stubbed
    expect_create(stubber, "ResourceExistsException")
    stubber.add_response("describe_secret", {"ARN": ARN}, {"SecretId": NAME})
    stubber.add_client_error("put_secret_value", "ThrottlingException")
    with pytest.raises(errors.StorageUnavailable):
        vault.store(credential())
