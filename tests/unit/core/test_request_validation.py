"""The strict input model, and problem details that never echo what was sent."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from sesame_link.core.models import LinkRequest
from sesame_link.handlers.problems import invalid_request, problem_for
from tests.support import canary

TOKEN = canary.register("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")


def rejection(body: str) -> dict[str, object]:
    with pytest.raises(ValidationError) as caught:
        LinkRequest.model_validate_json(body)
    problem = problem_for(invalid_request(caught.value.errors())).model_dump(exclude_none=True)
    assert problem["status"] == 400
    assert problem["code"] == "invalid_request"
    return problem


@pytest.mark.parametrize(
    "region",
    [
        "eu1.evil.com",
        "eu1@host",
        "eu1/..",
        "eu1#",
        "eu%31",
        "EU1",
        "eu",
        "e1",
        "eu123",
        "éu1",
        "eu1\n",
        "ｅｕ１",
        "",
        " eu1",
        "xn--eu1",
        "abcdefg1",
        "e.u1",
        "eu.1",
        "e-u1",
        "e_u1",
    ],
)
def test_regions_that_could_bend_the_hostname_are_rejected(region: str) -> None:
    problem = rejection(json.dumps({"token": TOKEN, "region": region}))
    # The whole problem is fixed text: nothing of the input can be in it.
    assert problem == {
        "type": "urn:sesame-link:problem:invalid_request",
        "title": "The request is not valid",
        "status": 400,
        "detail": "The request body is not a valid link request.",
        "code": "invalid_request",
        "retryable": False,
        "errors": [{"field": "region", "message": "must be a region such as eu1"}],
    }


@pytest.mark.parametrize("region", ["eu1", "eu4", "br2", "mx1", "demo1", "abcdef12"])
def test_regions_of_the_documented_shape_are_accepted(region: str) -> None:
    assert LinkRequest.model_validate_json(json.dumps({"token": TOKEN, "region": region})).region == region


@pytest.mark.parametrize(
    "token",
    [TOKEN[:15], TOKEN * 9, TOKEN[:20] + " " + TOKEN[:20], TOKEN + "\n", TOKEN[:30] + "é" + TOKEN[:30]],
)
def test_token_shape_is_checked_without_echoing_it(token: str) -> None:
    canary.register(token)
    problem = rejection(json.dumps({"token": token, "region": "eu1"}))
    assert problem["errors"] == [
        {"field": "token", "message": "must be 16 to 512 printable characters without spaces"}
    ]
    assert token.strip()[:15] not in json.dumps(problem)


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ("not json", "(body)", "is not valid JSON"),
        ("[1, 2]", "(body)", "must be a JSON object"),
        ('{"region": "eu1"}', "token", "is required"),
        (
            '{"token": 1234567890123456789, "region": "eu1"}',
            "token",
            "must be 16 to 512 printable characters without spaces",
        ),
        ('{"token": "' + TOKEN + '", "region": 1}', "region", "must be a string"),
        ('{"token": "' + TOKEN + '", "region": "eu1", "tenant": "other"}', "tenant", "is not a known field"),
    ],
)
def test_each_field_problem_names_the_field_and_never_the_value(body: str, field: str, message: str) -> None:
    problem = rejection(body)
    assert {"field": field, "message": message} in problem["errors"]  # type: ignore[operator]
    assert TOKEN not in json.dumps(problem)
    assert "other" not in json.dumps(problem)


def test_an_unknown_field_named_like_a_token_is_not_echoed() -> None:
    problem = rejection(json.dumps({TOKEN: "x", "token": TOKEN, "region": "eu1"}))
    assert problem["errors"] == [{"field": "(unknown field)", "message": "is not a known field"}]


def test_an_unknown_field_is_named_only_if_it_is_one_we_expect() -> None:
    problem = rejection(json.dumps({"token": TOKEN, "region": "eu1", "zqxq": 1, "tenant": "x"}))
    assert problem["errors"] == [
        {"field": "(unknown field)", "message": "is not a known field"},
        {"field": "tenant", "message": "is not a known field"},
    ]
