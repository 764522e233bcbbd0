"""Errors to RFC 9457 problem+json, in one place for every HTTP answer."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic_core import ErrorDetails

from sesame_link.core import errors
from sesame_link.core.models import FieldProblem, Problem

PROBLEM_JSON = "application/problem+json"
_TYPE_BASE = "urn:sesame-link:problem:"
_MESSAGES = {
    "json_invalid": "is not valid JSON",
    "model_type": "must be a JSON object",
    "missing": "is required",
    "extra_forbidden": "is not a known field",
    "string_type": "must be a string",
    "string_pattern_mismatch": "is not in the expected form",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "greater_than_equal": "is too small",
    "less_than_equal": "is too large",
    "string_too_short": "is too short",
    "string_too_long": "is too long",
}
# Per field, where the generic message would say less than it could.
_FIELD_MESSAGES = {
    ("region", "string_pattern_mismatch"): "must be a region such as eu1",
    ("limit", "greater_than_equal"): "must be from 1 to 100",
    ("limit", "less_than_equal"): "must be from 1 to 100",
}
# Field names that may be said back: the model's own, and the unknown ones people are expected to
# try. Any other name came from the input, and the input is never echoed.
_NAMEABLE_FIELDS = frozenset(
    {
        "token",
        "region",
        "tenant",
        "tenant_id",
        "tenantId",
        "company",
        "company_id",
        "connection_id",
        "secret",
        "limit",
        "cursor",
    }
)


def problem_for(exc: errors.LinkError) -> Problem:
    return Problem(
        type=_TYPE_BASE + exc.code,
        title=exc.title,
        status=exc.status,
        detail=exc.detail,
        code=exc.code,
        retryable=exc.retryable,
        suggested_region=getattr(exc, "suggested_region", None),
        errors=getattr(exc, "fields", None) or None,
    )


def headers_for(exc: errors.LinkError) -> dict[str, str]:
    headers = {}
    if retry_after := getattr(exc, "retry_after", None):
        headers["Retry-After"] = retry_after
    if allow := getattr(exc, "allow", None):
        headers["Allow"] = allow
    return headers


def invalid_request(
    field_errors: Sequence[ErrorDetails], detail: str = "The request body is not a valid link request."
) -> errors.InvalidRequest:
    """Name the fields and what is wrong with them; never the values (pydantic keeps them)."""
    fields = [FieldProblem(field=_field(error["loc"]), message=_message(error)) for error in field_errors]
    return errors.InvalidRequest(detail, fields)


def _field(loc: tuple[int | str, ...]) -> str:
    if not loc or not isinstance(loc[0], str):
        return "(body)"
    return loc[0] if loc[0] in _NAMEABLE_FIELDS else "(unknown field)"


def _message(error: ErrorDetails) -> str:
    if error["type"] == "value_error":
        return str(error.get("ctx", {}).get("error", "is not valid"))
    field = _field(error["loc"])
    return _FIELD_MESSAGES.get((field, error["type"])) or _MESSAGES.get(error["type"], "is not valid")
