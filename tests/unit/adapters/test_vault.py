"""Secrets Manager call sequences and error mapping, with botocore's Stubber: what AWS answers and
the local emulator does not (throttling, KMS and access failures, a put AWS ignores because the
version exists, a secret under another key)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from sesame_link.adapters.vault import SecretsManagerReader, SecretsManagerVault
from sesame_link.core import errors
from sesame_link.core.domain import Credential
from tests.support import canary
from tests.support.fakes import FakeSealer

KEY = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
OTHER_KEY = "arn:aws:kms:eu-west-1:123456789012:key/99999999-2222-3333-4444-555555555555"
ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:sl/auth0_7c1/sesame/c1-AbCdEf"
NAME = "sl/auth0_7c1/sesame/c1"
TOKEN = canary.new_token()
CREDENTIAL = Credential(tenant="auth0|1", region="eu1", company_id="c1", company_name="Acme", token=TOKEN)
VALUE = json.dumps(
    {"company_id": "c1", "company_name": "Acme", "region": "eu1", "token": TOKEN}, sort_keys=True
)
VERSION = FakeSealer().digest("secret-version", VALUE).hex()
OLDER, NEWER = "0" * 64, "f" * 64  # other versions' ids
ALIAS = "arn:aws:kms:eu-west-1:123456789012:alias/sesame-link-prod"
CHECK_ROLE = "arn:aws:iam::123456789012:role/sesame-link-prod-CheckFunctionRole-AbC"


@pytest.fixture
def client() -> Any:
    return boto3.client(
        "secretsmanager", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


@pytest.fixture
def kms() -> Iterator[tuple[Any, Stubber]]:
    """KMS, asked only what an alias names: a call not stubbed fails the test."""
    client = boto3.client("kms", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def stubbed(client: Any, kms: tuple[Any, Stubber]) -> Iterator[tuple[SecretsManagerVault, Stubber]]:
    with Stubber(client) as stubber:
        yield SecretsManagerVault(client, KEY, "sl", FakeSealer(), (CHECK_ROLE,), kms=kms[0]), stubber
        stubber.assert_no_pending_responses()


def expect_alias(kms: tuple[Any, Stubber], alias: str, key: str | None) -> None:
    """KMS DescribeKey on an alias answers the key it points to (AWS KMS API reference, DescribeKey)."""
    if key is None:
        kms[1].add_client_error("describe_key", "NotFoundException", expected_params={"KeyId": alias})
    else:
        metadata = {"KeyId": key.rpartition("/")[2], "Arn": key}
        kms[1].add_response("describe_key", {"KeyMetadata": metadata}, {"KeyId": alias})


def expect_create(stubber: Stubber, error: str | None = None) -> None:
    params = {
        "Name": NAME,
        "SecretString": VALUE,
        "KmsKeyId": KEY,
        "ClientRequestToken": VERSION,
        "Description": ANY,
        "Tags": ANY,
    }
    if error:
        stubber.add_client_error("create_secret", error, expected_params=params)
    else:
        stubber.add_response("create_secret", {"ARN": ARN, "Name": NAME}, params)


def expect_no_secret(stubber: Stubber) -> None:
    stubber.add_client_error(
        "describe_secret", "ResourceNotFoundException", expected_params={"SecretId": NAME}
    )


def expect_describe(stubber: Stubber, key: str | None = KEY, **secret: Any) -> None:
    described = {"ARN": ARN, "Name": NAME, **({"KmsKeyId": key} if key else {}), **secret}
    stubber.add_response("describe_secret", described, {"SecretId": NAME})


def expect_put(stubber: Stubber, stages: list[str]) -> None:
    stubber.add_response(
        "put_secret_value",
        {"ARN": ARN, "VersionId": VERSION, "VersionStages": stages},
        {"SecretId": NAME, "SecretString": VALUE, "ClientRequestToken": VERSION},
    )


def expect_policy(stubber: Stubber) -> None:
    stubber.add_response(
        "put_resource_policy",
        {"ARN": ARN, "Name": NAME},
        {"SecretId": ARN, "ResourcePolicy": ANY, "BlockPublicPolicy": True},
    )


def test_every_stored_secret_denies_reading_its_token_to_all_but_the_readers(
    client: Any, stubbed: tuple[SecretsManagerVault, Stubber]
) -> None:
    """Secrets Manager user guide, "Resource-based policies" and "Policy evaluation": an explicit
    deny in the resource policy wins over any identity policy of the account, so a principal with
    secretsmanager:* (and kms:Decrypt) still cannot read the token."""
    vault, stubber = stubbed
    expect_no_secret(stubber)
    expect_create(stubber)
    written: list[dict[str, Any]] = []
    stubber.add_response(
        "put_resource_policy",
        {"ARN": ARN, "Name": NAME},
        {"SecretId": ARN, "ResourcePolicy": ANY, "BlockPublicPolicy": True},
    )
    client.meta.events.register(
        "before-parameter-build.secrets-manager.PutResourcePolicy",
        lambda params, **_: written.append(json.loads(params["ResourcePolicy"])),
    )
    vault.store(CREDENTIAL)
    [policy] = written
    [statement] = policy["Statement"]
    assert (statement["Effect"], statement["Principal"], statement["Action"]) == (
        "Deny",
        "*",
        "secretsmanager:GetSecretValue",
    )
    assert statement["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": [CHECK_ROLE]}}


def test_a_secret_whose_policy_cannot_be_written_fails_the_link_retryably(
    stubbed: tuple[SecretsManagerVault, Stubber],
) -> None:
    vault, stubber = stubbed
    expect_no_secret(stubber)
    expect_create(stubber)
    stubber.add_client_error("put_resource_policy", "ThrottlingException")
    with pytest.raises(errors.StorageUnavailable):
        vault.store(CREDENTIAL)


def test_the_version_id_is_a_keyed_hash_of_the_value_never_the_token() -> None:
    assert len(VERSION) == 64
    assert TOKEN not in VERSION
    assert FakeSealer().digest("secret-version", VALUE.replace("eu1", "eu4")).hex() != VERSION


def test_first_link_creates_the_secret_under_the_key(stubbed: tuple[SecretsManagerVault, Stubber]) -> None:
    vault, stubber = stubbed
    expect_no_secret(stubber)
    expect_create(stubber)
    expect_policy(stubber)
    stored = vault.store(CREDENTIAL)
    assert (stored.arn, stored.changed) == (ARN, True)


@pytest.mark.parametrize(
    "key", [KEY, KEY.rpartition("/")[2], ALIAS], ids=["by its ARN", "by its key id", "by an alias of it"]
)
def test_the_same_value_again_writes_nothing(
    stubbed: tuple[SecretsManagerVault, Stubber], kms: tuple[Any, Stubber], key: str
) -> None:
    """DescribeSecret may name the key by its ARN, its id or an alias ARN (Secrets Manager API
    reference, DescribeSecret, KmsKeyId): each is this stack's key, an alias as KMS resolves it."""
    vault, stubber = stubbed
    if key == ALIAS:
        expect_alias(kms, ALIAS, KEY)
    expect_describe(stubber, key=key, VersionIdsToStages={VERSION: ["AWSCURRENT"], OLDER: ["AWSPREVIOUS"]})
    expect_policy(stubber)
    stored = vault.store(CREDENTIAL)  # no put is stubbed: one would fail the test
    assert (stored.arn, stored.changed) == (ARN, False)


def test_another_value_becomes_a_new_current_version(stubbed: tuple[SecretsManagerVault, Stubber]) -> None:
    vault, stubber = stubbed
    expect_describe(stubber, VersionIdsToStages={OLDER: ["AWSCURRENT"]})
    expect_put(stubber, ["AWSCURRENT"])
    expect_policy(stubber)
    assert vault.store(CREDENTIAL).changed is True


def test_an_earlier_value_again_is_made_current_explicitly(
    stubbed: tuple[SecretsManagerVault, Stubber],
) -> None:
    # AWS ignores a put whose version exists with the same value, and moves no label.
    vault, stubber = stubbed
    expect_describe(stubber, VersionIdsToStages={VERSION: ["AWSPREVIOUS"], NEWER: ["AWSCURRENT"]})
    expect_put(stubber, ["AWSPREVIOUS"])
    stubber.add_response(
        "update_secret_version_stage",
        {"ARN": ARN, "Name": NAME},
        {
            "SecretId": NAME,
            "VersionStage": "AWSCURRENT",
            "MoveToVersionId": VERSION,
            "RemoveFromVersionId": NEWER,
        },
    )
    expect_policy(stubber)
    assert vault.store(CREDENTIAL).changed is True


@pytest.mark.parametrize(
    ("key", "aliased"),
    [
        (OTHER_KEY, None),
        (OTHER_KEY.rpartition("/")[2], None),
        ("arn:aws:kms:eu-west-1:123456789012:alias/other", OTHER_KEY),
        ("arn:aws:kms:eu-west-1:123456789012:alias/gone", None),
        (None, None),
    ],
    ids=[
        "another key",
        "another key's id",
        "an alias of another key",
        "an alias of nothing",
        "the AWS managed key",
    ],
)
def test_a_secret_under_another_key_is_never_written(
    stubbed: tuple[SecretsManagerVault, Stubber],
    kms: tuple[Any, Stubber],
    key: str | None,
    aliased: str | None,
) -> None:
    vault, stubber = stubbed
    if key and ":alias/" in key:
        expect_alias(kms, key, aliased)
    expect_describe(stubber, key=key, VersionIdsToStages={OLDER: ["AWSCURRENT"]})
    with pytest.raises(errors.StorageFailed) as caught:
        vault.store(CREDENTIAL)  # no put, no restore is stubbed
    assert caught.value.status == 500


def test_kms_throttling_an_alias_lookup_is_retryable_not_another_key(
    stubbed: tuple[SecretsManagerVault, Stubber], kms: tuple[Any, Stubber]
) -> None:
    vault, stubber = stubbed
    expect_describe(stubber, key=ALIAS, VersionIdsToStages={OLDER: ["AWSCURRENT"]})
    kms[1].add_client_error("describe_key", "ThrottlingException", expected_params={"KeyId": ALIAS})
    with pytest.raises(errors.StorageUnavailable):
        vault.store(CREDENTIAL)


def test_a_secret_scheduled_for_deletion_is_restored_then_written(
    stubbed: tuple[SecretsManagerVault, Stubber],
) -> None:
    vault, stubber = stubbed
    expect_describe(stubber, DeletedDate="2026-11-27T00:00:00Z", VersionIdsToStages={OLDER: ["AWSCURRENT"]})
    stubber.add_response("restore_secret", {"ARN": ARN}, {"SecretId": NAME})
    expect_put(stubber, ["AWSCURRENT"])
    expect_policy(stubber)
    assert vault.store(CREDENTIAL).changed is True


@pytest.mark.parametrize("conflict", ["ResourceExistsException", "InvalidRequestException"])
def test_a_name_a_racing_link_took_is_updated_instead(
    stubbed: tuple[SecretsManagerVault, Stubber], conflict: str
) -> None:
    vault, stubber = stubbed
    expect_no_secret(stubber)
    expect_create(stubber, conflict)
    expect_describe(stubber, VersionIdsToStages={OLDER: ["AWSCURRENT"]})
    expect_put(stubber, ["AWSCURRENT"])
    expect_policy(stubber)
    assert vault.store(CREDENTIAL).changed is True


def test_a_name_that_vanished_again_is_retryable(stubbed: tuple[SecretsManagerVault, Stubber]) -> None:
    vault, stubber = stubbed
    expect_no_secret(stubber)
    expect_create(stubber, "InvalidRequestException")
    expect_no_secret(stubber)
    with pytest.raises(errors.StorageUnavailable):
        vault.store(CREDENTIAL)


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
    expect_no_secret(stubber)
    expect_create(stubber, code)
    with pytest.raises(expected) as caught:
        vault.store(CREDENTIAL)
    assert caught.value.status in {500, 503}
    assert TOKEN not in str(caught.value)


def test_a_failed_rotation_is_reported(stubbed: tuple[SecretsManagerVault, Stubber]) -> None:
    vault, stubber = stubbed
    expect_describe(stubber, VersionIdsToStages={OLDER: ["AWSCURRENT"]})
    stubber.add_client_error("put_secret_value", "ThrottlingException")
    with pytest.raises(errors.StorageUnavailable):
        vault.store(CREDENTIAL)


@pytest.mark.parametrize(
    ("days", "window"),
    [
        (7, {"RecoveryWindowInDays": 7}),
        (30, {"RecoveryWindowInDays": 30}),
        (0, {"ForceDeleteWithoutRecovery": True}),
    ],
)
def test_unlinking_schedules_the_deletion_with_the_window(
    stubbed: tuple[SecretsManagerVault, Stubber], days: int, window: dict[str, Any]
) -> None:
    vault, stubber = stubbed
    stubber.add_response("delete_secret", {"ARN": ARN}, {"SecretId": ARN, **window})
    vault.schedule_deletion(ARN, days)


@pytest.mark.parametrize("deleted", [True, False])
def test_unlinking_a_secret_already_scheduled_or_gone_is_done(
    stubbed: tuple[SecretsManagerVault, Stubber], deleted: bool
) -> None:
    vault, stubber = stubbed
    if deleted:
        stubber.add_client_error("delete_secret", "InvalidRequestException")
        stubber.add_response(
            "describe_secret", {"ARN": ARN, "DeletedDate": "2026-11-27T00:00:00Z"}, {"SecretId": ARN}
        )
    else:
        stubber.add_client_error("delete_secret", "ResourceNotFoundException")
    vault.schedule_deletion(ARN, 7)


def test_an_unlink_refused_for_another_reason_fails(stubbed: tuple[SecretsManagerVault, Stubber]) -> None:
    vault, stubber = stubbed
    stubber.add_client_error("delete_secret", "InvalidRequestException")
    stubber.add_response("describe_secret", {"ARN": ARN}, {"SecretId": ARN})
    with pytest.raises(errors.StorageFailed):
        vault.schedule_deletion(ARN, 7)


@pytest.mark.parametrize("code", ["ResourceNotFoundException", "InvalidRequestException"])
def test_a_check_reads_nothing_from_a_secret_gone_or_being_deleted(client: Any, code: str) -> None:
    with Stubber(client) as stubber:
        stubber.add_client_error("get_secret_value", code)
        assert SecretsManagerReader(client).read(ARN) is None


def test_a_check_that_cannot_read_the_secret_fails_retryably_when_throttled(client: Any) -> None:
    with Stubber(client) as stubber:
        stubber.add_client_error("get_secret_value", "ThrottlingException")
        with pytest.raises(errors.StorageUnavailable):
            SecretsManagerReader(client).read(ARN)


def test_a_check_reads_the_stored_credential(client: Any) -> None:
    with Stubber(client) as stubber:
        stubber.add_response(
            "get_secret_value",
            {"ARN": ARN, "SecretString": VALUE},
            {"SecretId": ARN, "VersionStage": "AWSCURRENT"},
        )
        stored = SecretsManagerReader(client).read(ARN)
    assert stored is not None
    assert (stored.token, stored.region, stored.company_id) == (TOKEN, "eu1", "c1")
