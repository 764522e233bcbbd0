"""AWS clients from one botocore session, every call bounded by the invocation's deadline, and the
one place that says which AWS failures are worth retrying.

The clients come from botocore's session, the one boto3's wraps: a boto3 client is a botocore
client, but importing boto3 imports s3transfer (and with it multiprocessing, concurrent.futures,
zipfile), about 100 ms of a 3.13 cold start on the bench's machine (issue 21) for nothing these
functions use."""

from __future__ import annotations

from typing import Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as AwsConnectionError

from sesame_link.core import deadline, errors

CONNECT_TIMEOUT_SECONDS = 1.0
READ_TIMEOUT_SECONDS = 2.0
# Standard retry mode: the first backoff is at most 1 s (random * 2**0); two attempts in all.
MAX_ATTEMPTS = 2
MAX_BACKOFF_SECONDS = 1.0
# An attempt starts only if it and the backoff after it fit in the time left. botocore has no
# per-call timeout, so the bound is the fixed per-attempt one, checked before each attempt.
ATTEMPT_WORST_SECONDS = CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS + MAX_BACKOFF_SECONDS

CONFIG = Config(
    connect_timeout=CONNECT_TIMEOUT_SECONDS,
    read_timeout=READ_TIMEOUT_SECONDS,
    retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
    tcp_keepalive=True,
)
# For a call the service goes on without when it fails (the attempt budget): one short attempt,
# so a slow or unreachable table costs a link half a second, not its storage reserve.
QUICK_CONFIG = Config(
    connect_timeout=0.5,
    read_timeout=0.5,
    retries={"mode": "standard", "total_max_attempts": 1},
    tcp_keepalive=True,
)
# Throttling and service-side failures (and their KMS counterparts, which Secrets Manager,
# SQS and DynamoDB pass on): worth another try later. Anything else is a refusal.
RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "RequestThrottled",
        "InternalServiceError",
        "InternalServerError",
        "InternalFailure",
        "InternalError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalException",
        "KMSThrottlingException",
        "KMSInternalException",
        "KmsThrottled",
    }
)

session = botocore.session.Session()


class NoTimeLeft(BotoCoreError):
    fmt = "Not enough time left in the invocation for another AWS call attempt."


def client(service: str, config: Config = CONFIG) -> Any:
    """A client whose every attempt (retries included) is refused when it could outlive the deadline."""
    created = session.create_client(service, config=config)
    created.meta.events.register("before-send", _refuse_without_time)
    return created


def _refuse_without_time(**_: Any) -> None:
    if not deadline.allows(ATTEMPT_WORST_SECONDS):
        raise NoTimeLeft()


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def storage_error(exc: ClientError | BotoCoreError) -> errors.LinkError:
    """An AWS failure as the service's error: retryable (throttled, unavailable, no answer, too slow
    for the time left) or not (refused: access denied, key disabled, ...). Never its message nor
    its code: an answer must not tell a caller how the account's IAM or keys are set up."""
    if isinstance(exc, ClientError):
        if error_code(exc) in RETRYABLE_CODES:
            return errors.StorageUnavailable("Credential storage is unavailable; try again shortly.")
        return errors.StorageFailed("Credential storage refused the request.", cause=error_code(exc))
    # No answer: a read timeout or a dropped connection (HTTPClientError), no connection at all
    # (EndpointConnectionError, ConnectTimeoutError), or no time left for another attempt.
    if isinstance(exc, HTTPClientError | AwsConnectionError | NoTimeLeft):
        return errors.StorageUnavailable("Credential storage did not answer in time; try again shortly.")
    return errors.StorageFailed("Credential storage could not be called.", cause=type(exc).__name__)
