"""One exception per error code of DESIGN.md (and the three every HTTP API needs: not_found,
method_not_allowed, internal_error). Messages never carry the token or any input."""

from __future__ import annotations

from sesame_link.core.models import FieldProblem


class LinkError(Exception):
    code = "internal_error"
    status = 500
    title = "Internal error"
    retryable = False
    # A conclusive "no" about the token: the attempt stays spent from the tenant's budget.
    spends_attempt = False

    def __init__(self, detail: str, *, cause: str | None = None) -> None:
        """`cause`: what the operator needs to know and the caller must not (an AWS error code):
        logged, never in an answer."""
        super().__init__(detail)
        self.detail = detail
        self.cause = cause


class InvalidRequest(LinkError):
    code, status, title = "invalid_request", 400, "The request is not valid"

    def __init__(self, detail: str, fields: list[FieldProblem] | None = None) -> None:
        super().__init__(detail)
        self.fields = fields or []


class Unauthenticated(LinkError):
    code, status, title = "unauthenticated", 401, "No tenant in the request's credentials"


class ConnectionNotFound(LinkError):
    code, status, title = "connection_not_found", 404, "No such connection"

    # One text for every cause (another tenant's id, an id that never existed, one that cannot
    # exist): the answers must not tell them apart.
    def __init__(self, detail: str = "This tenant has no such connection.") -> None:
        super().__init__(detail)


class RouteNotFound(LinkError):
    code, status, title = "not_found", 404, "Not found"


class MethodNotAllowed(LinkError):
    code, status, title = "method_not_allowed", 405, "Method not allowed"

    def __init__(self, detail: str, allow: str) -> None:
        super().__init__(detail)
        self.allow = allow


class PayloadTooLarge(LinkError):
    code, status, title = "payload_too_large", 413, "The request body is too large"


class InvalidToken(LinkError):
    code, status, title = "invalid_token", 422, "Sesame rejected the token"
    spends_attempt = True


class WrongRegion(LinkError):
    code, status, title = "wrong_region", 422, "The token belongs to another region"
    spends_attempt = True

    def __init__(self, detail: str, suggested_region: str) -> None:
        super().__init__(detail)
        self.suggested_region = suggested_region


class TokenForbidden(LinkError):
    code, status, title = "token_forbidden", 422, "Sesame refused the token access"
    spends_attempt = True


class UnknownRegion(LinkError):
    code, status, title = "unknown_region", 422, "No Sesame host for that region"
    spends_attempt = True


class CompanyMismatch(LinkError):
    code, status, title = "company_mismatch", 422, "The token belongs to another Sesame company"
    spends_attempt = True


class SessionInvalid(LinkError):
    code, status, title = "session_invalid", 401, "No valid connect session"

    # One text for a missing, malformed and unknown session token: the answers must not tell
    # them apart.
    def __init__(self, detail: str = "The request carries no valid connect session.") -> None:
        super().__init__(detail)


class OriginNotAllowed(LinkError):
    code, status, title = "origin_not_allowed", 403, "This origin may not use the session"


class SessionExpired(LinkError):
    code, status, title = "session_expired", 410, "The connect session can no longer be used"

    def __init__(
        self, detail: str = "The connect session is expired, revoked, completed or exhausted."
    ) -> None:
        super().__init__(detail)


class ConnectionLimitReached(LinkError):
    code, status, title = "connection_limit_reached", 409, "The tenant has as many connections as it may"
    spends_attempt = True  # the token was valid, but a leaked one must not buy unlimited tries


class LinkAttemptsExhausted(LinkError):
    code, status, title, retryable = (
        "link_attempts_exhausted",
        429,
        "Too many unsuccessful link attempts",
        True,
    )

    def __init__(self, detail: str, retry_after_seconds: int) -> None:
        super().__init__(detail)
        self.retry_after = str(retry_after_seconds)


class SesameRateLimited(LinkError):
    code, status, title, retryable = "sesame_rate_limited", 503, "Sesame is rate limiting", True

    def __init__(self, detail: str, retry_after: str | None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class SesameUnavailable(LinkError):
    code, status, title, retryable = "sesame_unavailable", 502, "Sesame is unavailable", True


class SesameTimeout(LinkError):
    code, status, title, retryable = "sesame_timeout", 504, "Sesame did not answer in time", True


class StorageUnavailable(LinkError):
    code, status, title, retryable = "storage_unavailable", 503, "Credential storage is unavailable", True


class StorageFailed(LinkError):
    code, status, title = "storage_failed", 500, "The credential could not be stored"
