"""The Sesame client against the simulator over real HTTP on loopback."""

from __future__ import annotations

import ipaddress
import json
import socket
import ssl
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from local.stack.backends import SIMULATED_REGIONS
from local.stack.dns import install_local_resolver, simulated_sesame_url
from local.stack.sesame_sim import Fault, SesameSimulator
from sesame_link.adapters.sesame import DEFAULT_PROBE_REGIONS, MAX_BODY_BYTES, SesameClient, new_session
from sesame_link.core import errors
from sesame_link.core.config import load_settings
from tests.support import canary

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def simulator() -> Iterator[SesameSimulator]:
    install_local_resolver(SIMULATED_REGIONS)
    sim = SesameSimulator().start()
    yield sim
    sim.stop()


@pytest.fixture
def sim(simulator: SesameSimulator) -> Iterator[SesameSimulator]:
    simulator.reset()
    yield simulator
    simulator.reset()
    simulator.latency_seconds = 0.0


@pytest.fixture
def client(simulator: SesameSimulator) -> SesameClient:
    """Probing every simulated region (a stack's ProbeRegions may list them all)."""
    return SesameClient(simulated_sesame_url(simulator.port), new_session(), probe_regions=SIMULATED_REGIONS)


def account(sim: SesameSimulator, region: str = "eu1", name: str = "Acme") -> tuple[str, str]:
    token, company_id = canary.new_token(), str(uuid.uuid4())
    sim.add_account(token, region, company_id, name)
    return token, company_id


def soon(seconds: float = 3.0) -> float:
    return time.monotonic() + seconds


def test_a_good_token_names_its_company_with_one_request(sim: SesameSimulator, client: SesameClient) -> None:
    token, company_id = account(sim, name="Café Ñandú 株式会社")
    company = client.check(token, "eu1", soon())
    assert (company.id, company.name) == (company_id, "Café Ñandú 株式会社")
    assert [(seen.region, seen.status) for seen in sim.seen()] == [("eu1", 200)]


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("Acme\u202e SL", "Acme SL"),  # a right-to-left override
        ("\u2066Acme\u2069 Iberia", "Acme Iberia"),  # an isolate
        ("Acme\x1b[31m\n Iberia\u2028", "Acme[31m Iberia"),  # a terminal escape, line breaks
        ("A\u200bcme\ufeff", "Acme"),  # zero-width characters
        ("Café Ñandú 株式会社", "Café Ñandú 株式会社"),
    ],
)
def test_a_company_name_loses_control_and_bidirectional_characters(
    sim: SesameSimulator, client: SesameClient, sent: str, kept: str
) -> None:
    token, _ = account(sim, name=sent)
    assert client.check(token, "eu1", soon()).name == kept


def test_a_rejected_token_is_probed_once_in_each_other_known_region(
    sim: SesameSimulator, client: SesameClient
) -> None:
    with pytest.raises(errors.InvalidToken):
        client.check(canary.new_token(), "eu1", soon())
    regions = sorted(seen.region or "" for seen in sim.seen())
    assert regions == sorted(SIMULATED_REGIONS)


def test_by_default_the_probe_asks_only_the_confirmed_and_observed_regions(sim: SesameSimulator) -> None:
    """A probe sends the customer's token to another host: never a demo environment or a region
    only third parties report (reference/sesame-api.md, "Base URL and regions")."""
    token, _ = account(sim, region="mx1")
    client = SesameClient(simulated_sesame_url(sim.port), new_session())
    with pytest.raises(errors.InvalidToken):
        client.check(token, "eu1", soon())
    assert sorted(seen.region or "" for seen in sim.seen()) == sorted(DEFAULT_PROBE_REGIONS) == ["eu1", "eu4"]


def test_a_token_of_another_region_suggests_it(sim: SesameSimulator, client: SesameClient) -> None:
    token, _ = account(sim, region="eu4")
    with pytest.raises(errors.WrongRegion) as caught:
        client.check(token, "eu1", soon())
    assert caught.value.suggested_region == "eu4"
    assert token not in str(caught.value)


def test_the_probe_runs_in_parallel_within_the_deadline(sim: SesameSimulator, client: SesameClient) -> None:
    # Nine calls of 0.4 s in a 1.5 s deadline: only a parallel probe reaches the right region.
    token, _ = account(sim, region="mx1")
    sim.latency_seconds = 0.4
    with pytest.raises(errors.WrongRegion) as caught:
        client.check(token, "eu1", soon(1.5))
    assert caught.value.suggested_region == "mx1"


def test_a_token_accepted_in_two_other_regions_suggests_none(
    sim: SesameSimulator, client: SesameClient
) -> None:
    token, _ = account(sim, region="eu4")
    sim.set_fault("br1", Fault(status=200, body=b'{"data":{"company":{"id":"x-1"}}}'))
    with pytest.raises(errors.InvalidToken):
        client.check(token, "eu1", soon())


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (Fault(status=403), errors.TokenForbidden),
        (Fault(status=429), errors.SesameRateLimited),
        (Fault(status=500), errors.SesameUnavailable),
        (Fault(status=502), errors.SesameUnavailable),
        (Fault(status=503), errors.SesameUnavailable),
        (Fault(status=404), errors.SesameUnavailable),
        (Fault(status=200, body=b"<html>maintenance</html>"), errors.SesameUnavailable),
        (Fault(status=200, body=b'{"data":{"company":{"name":"no id"}}}'), errors.SesameUnavailable),
        (Fault(status=200, body=b'{"data":[{"company":{"id":"a"}}]}'), errors.SesameUnavailable),
        (Fault(status=200, body=b'{"data":{"company":{"id":"../../other"}}}'), errors.SesameUnavailable),
        (Fault(status=200, body=b'{"data":{"company":{"id":"ok-1","name":7}}}'), errors.SesameUnavailable),
        (Fault(reset=True), errors.SesameUnavailable),
        (Fault(delay_seconds=1.5), errors.SesameTimeout),
        (Fault(trickle_seconds=0.05), errors.SesameTimeout),
    ],
)
def test_faults_map_to_the_documented_codes(
    sim: SesameSimulator, client: SesameClient, fault: Fault, expected: type[errors.LinkError]
) -> None:
    token, _ = account(sim)
    sim.set_fault("eu1", fault)
    started = time.monotonic()
    with pytest.raises(expected) as caught:
        client.check(token, "eu1", soon(1.0))
    assert time.monotonic() - started < 2.5, "the deadline bounds every call"
    assert token not in str(caught.value)
    assert len(sim.seen()) == 1


def test_an_oversized_answer_is_refused(sim: SesameSimulator, client: SesameClient) -> None:
    # Valid JSON of the documented shape, only too large: the size cap alone must refuse it.
    token, _ = account(sim)
    padding = "x" * (300 * 1024)
    body = ('{"data":{"company":{"id":"c-1","name":"Acme","padding":"' + padding + '"}}}').encode()
    sim.set_fault("eu1", Fault(status=200, body=body))
    with pytest.raises(errors.SesameUnavailable):
        client.check(token, "eu1", soon())


@pytest.mark.parametrize("deadline_seconds", [1.0, 2.0])
def test_a_silent_server_is_cut_off_at_the_deadline_not_before_nor_after(
    sim: SesameSimulator, client: SesameClient, deadline_seconds: float
) -> None:
    token, _ = account(sim)
    sim.set_fault("eu1", Fault(delay_seconds=5.0))
    started = time.monotonic()
    with pytest.raises(errors.SesameTimeout):
        client.check(token, "eu1", soon(deadline_seconds))
    elapsed = time.monotonic() - started
    # The read timeout is the time left: a fixed one would stop too early or too late.
    assert deadline_seconds - 0.25 <= elapsed <= deadline_seconds + 0.4, elapsed


def test_a_rate_limit_is_answered_at_once_with_one_request(
    sim: SesameSimulator, client: SesameClient
) -> None:
    token, _ = account(sim)
    sim.set_fault("eu1", Fault(status=429, headers={"Retry-After": "1"}))
    started = time.monotonic()
    with pytest.raises(errors.SesameRateLimited) as caught:
        client.check(token, "eu1", soon(5.0))
    assert time.monotonic() - started < 0.5, "no retry, no waiting for Retry-After"
    assert caught.value.retry_after == "1"
    assert [(seen.region, seen.status) for seen in sim.seen()] == [("eu1", 429)]


def test_retry_after_is_passed_on(sim: SesameSimulator, client: SesameClient) -> None:
    token, _ = account(sim)
    sim.set_fault("eu1", Fault(status=429, headers={"Retry-After": "30"}))
    with pytest.raises(errors.SesameRateLimited) as caught:
        client.check(token, "eu1", soon())
    assert caught.value.retry_after == "30"


def test_a_redirect_is_not_followed_with_the_token(sim: SesameSimulator, client: SesameClient) -> None:
    elsewhere = SesameSimulator().start()
    try:
        token, _ = account(sim)
        location = f"http://127.0.0.1:{elsewhere.port}/eu1/core/v3/info"
        sim.set_fault("eu1", Fault(status=302, headers={"Location": location}))
        with pytest.raises(errors.SesameUnavailable):
            client.check(token, "eu1", soon())
        assert elsewhere.seen() == []
    finally:
        elsewhere.stop()


def test_a_region_whose_host_does_not_resolve_is_unknown(sim: SesameSimulator, client: SesameClient) -> None:
    with pytest.raises(errors.UnknownRegion):
        client.check(canary.new_token(), "zz9", soon())
    assert sim.seen() == []


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (socket.EAI_NONAME, errors.UnknownRegion),
        (socket.EAI_NODATA, errors.UnknownRegion),
        (socket.EAI_AGAIN, errors.SesameUnavailable),
        (socket.EAI_FAIL, errors.SesameUnavailable),
    ],
    ids=["no such name", "no data", "temporary failure", "resolver failure"],
)
def test_only_a_definite_no_such_name_is_an_unknown_region(
    sim: SesameSimulator, client: SesameClient, monkeypatch: pytest.MonkeyPatch, failure: int, expected: type
) -> None:
    resolve = socket.getaddrinfo

    def failing(host: object, *args: object, **kwargs: object) -> object:
        if host == "api-eu2.sesame.test":
            raise socket.gaierror(failure, "simulated resolver answer")
        return resolve(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", failing)
    token, _ = account(sim, region="eu2")
    with pytest.raises(expected) as caught:
        client.check(token, "eu2", soon())
    assert caught.value.retryable is (expected is errors.SesameUnavailable)
    assert sim.seen() == []


def test_no_time_left_means_no_request(sim: SesameSimulator, client: SesameClient) -> None:
    token, _ = account(sim)
    with pytest.raises(errors.SesameTimeout):
        client.check(token, "eu1", time.monotonic() - 1)
    assert sim.seen() == []


@pytest.fixture
def impostor(tmp_path: Path) -> Iterator[SesameSimulator]:
    """The simulator behind TLS with a self-signed certificate: a Sesame impostor."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    server = SesameSimulator(tls=context).start()
    yield server
    server.stop()


def test_a_host_whose_certificate_is_not_trusted_never_gets_the_token(impostor: SesameSimulator) -> None:
    token, _ = account(impostor)
    with pytest.raises(errors.SesameUnavailable):
        SesameClient(f"https://127.0.0.1:{impostor.port}/{{region}}", new_session()).check(
            token, "eu1", soon()
        )
    assert impostor.seen() == []


def test_proxy_variables_are_ignored(sim: SesameSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = socket.create_server(("127.0.0.1", 0))
    proxy.settimeout(0.2)
    try:
        for variable in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
            monkeypatch.setenv(variable, f"http://127.0.0.1:{proxy.getsockname()[1]}")
        token, company_id = account(sim)
        assert (
            SesameClient(simulated_sesame_url(sim.port), new_session()).check(token, "eu1", soon()).id
            == company_id
        )
        with pytest.raises(TimeoutError):
            proxy.accept()
    finally:
        proxy.close()


# --- What the suite let through (mutation testing): cookies, bodies in pieces, odd headers, ids ---


def test_no_cookie_a_sesame_answer_sets_crosses_to_the_next_request(
    sim: SesameSimulator, client: SesameClient
) -> None:
    first, _ = account(sim)
    second, _ = account(sim)
    client.check(first, "eu1", soon())
    client.check(second, "eu1", soon())
    assert [seen.cookie for seen in sim.seen()] == [None, None]


def info_document(company_id: str, padding: int = 0) -> bytes:
    """The documented 200 shape, padded (in a field the client ignores) to any size."""
    document = {"data": {"company": {"id": company_id, "name": "Acme"}}, "meta": {"pad": ""}}
    body = json.dumps(document).encode()
    document["meta"]["pad"] = "x" * (padding - len(body)) if padding else ""
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    "pieces",
    [
        {"piece_bytes": 0},  # one write above the 16 KiB a read takes at once
        {"piece_bytes": 20_000, "trickle_seconds": 0.05},  # two pieces, the second later
        {"chunked": True, "piece_bytes": 4096},  # chunked: no Content-Length at all
    ],
    ids=["one-write", "two-pieces", "chunked"],
)
def test_a_valid_answer_in_pieces_is_read_whole(
    sim: SesameSimulator, client: SesameClient, pieces: dict[str, Any]
) -> None:
    token, company_id = account(sim)
    body = info_document(company_id, padding=40_000)
    sim.set_fault("eu1", Fault(status=200, body=body, **pieces))
    assert client.company(token, "eu1", soon()).id == company_id


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked-1KiB-pieces"])
def test_the_size_cap_holds_at_its_boundary(
    sim: SesameSimulator, client: SesameClient, chunked: bool
) -> None:
    token, company_id = account(sim)
    pieces = {"chunked": True, "piece_bytes": 1024} if chunked else {}
    sim.set_fault("eu1", Fault(status=200, body=info_document(company_id, MAX_BODY_BYTES), **pieces))
    assert client.company(token, "eu1", soon()).id == company_id
    sim.set_fault("eu1", Fault(status=200, body=info_document(company_id, MAX_BODY_BYTES + 1), **pieces))
    with pytest.raises(errors.SesameUnavailable, match="too large"):
        client.company(token, "eu1", soon())


@pytest.mark.parametrize(
    ("header", "passed_on"),
    [
        ("120", "120"),
        ("999999", "999999"),
        ("1000000", None),
        ("1.5", None),
        ("-1", None),
        ("Wed, 21 Oct 2026 07:28:00 GMT", None),
    ],
)
def test_only_a_sane_number_of_seconds_is_passed_on_as_retry_after(
    sim: SesameSimulator, client: SesameClient, header: str, passed_on: str | None
) -> None:
    token, _ = account(sim)
    sim.set_fault("eu1", Fault(status=429, headers={"Retry-After": header}))
    with pytest.raises(errors.SesameRateLimited) as caught:
        client.company(token, "eu1", soon())
    assert caught.value.retry_after == passed_on


@pytest.mark.parametrize(("length", "accepted"), [(1, True), (64, True), (65, False)])
def test_company_ids_of_1_to_64_characters_are_accepted(
    sim: SesameSimulator, client: SesameClient, length: int, accepted: bool
) -> None:
    token, _ = account(sim)
    company_id = ("a1-" * 30)[:length]
    sim.set_fault("eu1", Fault(status=200, body=info_document(company_id)))
    if accepted:
        assert client.company(token, "eu1", soon()).id == company_id
    else:
        with pytest.raises(errors.SesameUnavailable):
            client.company(token, "eu1", soon())


def test_a_sesame_api_url_with_a_trailing_slash_still_calls_the_info_path(
    sim: SesameSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    token, company_id = account(sim)
    monkeypatch.setenv("SESAME_API_URL", simulated_sesame_url(sim.port) + "/")
    client = SesameClient(load_settings().sesame_api_url, new_session())
    assert client.company(token, "eu1", soon()).id == company_id
    assert [(seen.region, seen.status) for seen in sim.seen()] == [("eu1", 200)]
