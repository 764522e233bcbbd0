"""Signature Version 4 for the local gateway's AWS_IAM routes: a request is accepted only when its
signature, recomputed with the local stack's credentials, matches (IAM user guide, "Signature
Version 4 for API requests"); and the signing that `make connect-link` and the tests use, the
same as botocore's for any AWS client."""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from local.stack.backends import FAKE_AWS_CREDENTIALS, LOCAL_REGION

SERVICE = "execute-api"
MAX_CLOCK_SKEW_SECONDS = 300
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)"
    r"/aws4_request, ?SignedHeaders=(?P<signed>[a-z0-9;-]+), ?Signature=(?P<signature>[0-9a-f]{64})"
)


def sign(
    method: str, url: str, body: bytes, *, access_key: str, secret_key: str, region: str
) -> dict[str, str]:
    """The headers of a request signed for API Gateway (Host, X-Amz-Date, Authorization, ...)."""
    request = AWSRequest(
        method=method, url=url, data=body, headers={"content-type": "application/json"} if body else {}
    )
    SigV4Auth(Credentials(access_key, secret_key), SERVICE, region).add_auth(request)
    return dict(request.headers.items())


def sign_as_local_backend(method: str, url: str, body: bytes = b"") -> dict[str, str]:
    """`sign` with the local stack's credentials: what a product's backend sends to `make run`."""
    return sign(
        method,
        url,
        body,
        access_key=FAKE_AWS_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        secret_key=FAKE_AWS_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region=LOCAL_REGION,
    )


def verified_key(  # noqa: PLR0917 - one argument per part of the request
    method: str, url: str, headers: Mapping[str, str], body: bytes, secrets: Mapping[str, str], region: str
) -> str | None:
    """The access key that signed the request, when its signature is right and fresh; else None.
    `headers` lowercased; `secrets`: secret key by access key."""
    found = _AUTHORIZATION.fullmatch(headers.get("authorization", ""))
    if found is None or found["service"] != SERVICE or found["region"] != region:
        return None
    secret = secrets.get(found["key"])
    signed = found["signed"].split(";")
    amz_date = headers.get("x-amz-date", "")
    if secret is None or "host" not in signed or any(name not in headers for name in signed):
        return None
    try:
        moment = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None
    if (
        not amz_date.startswith(found["date"])
        or abs((datetime.now(UTC) - moment).total_seconds()) > MAX_CLOCK_SKEW_SECONDS
    ):
        return None
    request = AWSRequest(method=method, url=url, data=body, headers={name: headers[name] for name in signed})
    request.context["timestamp"] = amz_date
    auth = SigV4Auth(Credentials(found["key"], secret), SERVICE, region)
    expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
    return found["key"] if hmac.compare_digest(expected, found["signature"]) else None
