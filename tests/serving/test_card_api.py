"""The card endpoint over real HTTP: tokens, enumeration resistance, ETag/304, encodings, CORS, readiness."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import httpx
import pytest

from publishing.card_store import CardStoreWriter
from serving.app import create_app
from tests.serving.helpers import (
    ORIGIN,
    ServerProcess,
    TOKEN_KEYS_TEXT,
    document_bytes,
    running_server,
    secret,
    serving,
    settings_for,
    token,
    versioned_document,
    wait_until,
)

MEMBERS = [(1, 5), (1, 6), (2, 5)]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> tuple[str, dict[tuple[int, int], bytes]]:
    data = tmp_path_factory.mktemp("cards") / "data"
    bodies = {member: document_bytes(versioned_document(*member, version=1)) for member in MEMBERS}
    with CardStoreWriter(data / "cards") as writer:
        writer.publish([(b, u, body) for (b, u), body in bodies.items()])
    with running_server(settings_for(data, cache_max_age=120)) as url:
        yield url, bodies


def cards_url(base: str, brand_id, user_id) -> str:
    return f"{base}/v1/brands/{brand_id}/members/{user_id}/cards"


def get(base: str, brand_id, user_id, bearer: str | None = None, **headers) -> httpx.Response:
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    headers.setdefault("Accept-Encoding", "identity")
    return httpx.get(cards_url(base, brand_id, user_id), headers=headers, timeout=30)


def test_a_member_reads_their_current_document(server):
    base, bodies = server
    response = get(base, 1, 5, token(1, 5))
    assert response.status_code == 200
    assert response.content == bodies[(1, 5)]
    digest = hashlib.sha256(response.content).hexdigest()
    assert response.headers["etag"] == f'"{digest}"'
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "private, max-age=120"
    assert response.headers["vary"] == "Accept-Encoding, Origin"  # Origin: added by the CORS layer
    assert response.headers["x-snapshot-version"] == "1"
    assert "content-encoding" not in response.headers


def test_gzip_is_sent_as_stored_with_its_own_validator(server):
    base, bodies = server
    response = httpx.get(cards_url(base, 1, 5), headers={"Authorization": f"Bearer {token(1, 5)}",
                                                         "Accept-Encoding": "gzip, deflate"}, timeout=30)
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert response.content == bodies[(1, 5)]  # httpx decoded it
    digest = hashlib.sha256(bodies[(1, 5)]).hexdigest()
    assert response.headers["etag"] == f'"{digest}-gz"'
    refused = get(base, 1, 5, token(1, 5), **{"Accept-Encoding": "gzip;q=0, br"})
    assert "content-encoding" not in refused.headers and refused.content == bodies[(1, 5)]


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_if_none_match_answers_304_for_the_same_representation(server, encoding):
    base, _ = server
    first = get(base, 1, 6, token(1, 6), **{"Accept-Encoding": encoding})
    etag = first.headers["etag"]
    for if_none_match in [etag, f"W/{etag}", f'"other", {etag}', "*"]:
        again = get(base, 1, 6, token(1, 6), **{"Accept-Encoding": encoding, "If-None-Match": if_none_match})
        assert again.status_code == 304, if_none_match
        assert again.content == b""
        assert again.headers["etag"] == etag
        assert again.headers["x-snapshot-version"] == "1"
        assert again.headers["cache-control"].startswith("private")
    other = "gzip" if encoding == "identity" else "identity"
    assert get(base, 1, 6, token(1, 6), **{"Accept-Encoding": other, "If-None-Match": etag}).status_code == 200
    assert get(base, 1, 6, token(1, 6), **{"Accept-Encoding": encoding, "If-None-Match": '"stale"'}).status_code == 200


def refusal_cases() -> dict[str, tuple]:
    """name -> (brand_id, user_id, bearer or None); all must look like an unknown member."""
    good = token(1, 5)
    prefix, kid, expires, signature = good.split(".")
    other_keys = f"k2026a:{secret('another k2026a')}"  # same key id, another secret
    return {
        "no token": (1, 5, None),
        "malformed": (1, 5, "not-a-token"),
        "another member's": (1, 5, token(1, 6)),
        "another brand's": (1, 5, token(2, 5)),
        "expired": (1, 5, token(1, 5, expires_in=-3600)),
        "too long-lived": (1, 5, token(1, 5, expires_in=30 * 86400)),
        "tampered expiry": (1, 5, f"{prefix}.{kid}.{int(expires) + 60}.{signature}"),
        "unknown key id": (1, 5, token(1, 5, kid="gone", keys_text=f"{TOKEN_KEYS_TEXT},gone:{secret('gone')}")),
        "wrong secret": (1, 5, token(1, 5, keys_text=other_keys)),
        "non-numeric id": ("1x", 5, good),
        "ids with a trailing newline": ("1%0A", "5%0A", good),
        "non-ASCII digits": (1, "\u0665", good),
        "unknown member, valid token": (1, 999, token(1, 999)),
        "unknown brand, valid token": (9, 5, token(9, 5)),
    }


def comparable(response: httpx.Response) -> tuple:
    headers = sorted((k, v) for k, v in response.headers.items() if k != "date")
    return response.status_code, response.content, headers


def test_every_refusal_is_indistinguishable_from_an_unknown_member(server):
    base, _ = server
    responses = {name: get(base, *case[:2], case[2], Origin=ORIGIN) for name, case in refusal_cases().items()}
    reference = comparable(responses["unknown member, valid token"])
    assert reference[0] == 404
    assert json.loads(reference[1]) == {"error": "not_found"}
    for name, response in responses.items():
        assert comparable(response) == reference, name


def test_rotated_keys_old_and_new_accepted_then_old_retired(tmp_path: Path, server):
    _, bodies = server
    data = tmp_path / "data"
    with CardStoreWriter(data / "cards") as writer:
        writer.publish([(1, 5, bodies[(1, 5)])])
    old_keys, new_key = f"old:{secret('old')}", f"new:{secret('new')}"
    old_token = token(1, 5, keys_text=old_keys)
    new_token = token(1, 5, keys_text=new_key)
    from serving.tokens import parse_keys
    both = settings_for(data, card_token_keys=parse_keys(f"{new_key},{old_keys}"))
    with running_server(both) as url:
        assert get(url, 1, 5, old_token).status_code == 200
        assert get(url, 1, 5, new_token).status_code == 200
    with running_server(settings_for(data, card_token_keys=parse_keys(new_key))) as url:
        assert get(url, 1, 5, old_token).status_code == 404
        assert get(url, 1, 5, new_token).status_code == 200


def test_cors_preflight_answers_only_the_pwa_origin(server):
    base, _ = server
    preflight = {"Access-Control-Request-Method": "GET",
                 "Access-Control-Request-Headers": "authorization, if-none-match"}
    allowed = httpx.options(cards_url(base, 1, 5), headers={"Origin": ORIGIN, **preflight}, timeout=30)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    allowed_headers = allowed.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed_headers and "if-none-match" in allowed_headers
    refused = httpx.options(cards_url(base, 1, 5), headers={"Origin": "https://evil.example", **preflight}, timeout=30)
    assert refused.status_code == 400
    assert cors_headers(refused) == []  # not even the allowed methods and headers

    actual = get(base, 1, 5, token(1, 5), Origin=ORIGIN)
    assert actual.headers["access-control-allow-origin"] == ORIGIN
    exposed = actual.headers["access-control-expose-headers"].lower()
    assert "etag" in exposed and "x-snapshot-version" in exposed
    stranger = get(base, 1, 5, token(1, 5), Origin="https://evil.example")
    assert stranger.status_code == 200 and cors_headers(stranger) == []
    assert "Origin" in stranger.headers["vary"]


def cors_headers(response: httpx.Response) -> list[str]:
    return [name for name in response.headers if name.lower().startswith("access-control-")]


def test_health_and_readiness(tmp_path: Path, server):
    data = tmp_path / "data"
    with running_server(settings_for(data)) as url:
        assert httpx.get(f"{url}/healthz", timeout=30).json() == {"status": "ok"}
        not_ready = httpx.get(f"{url}/readyz", timeout=30)
        assert not_ready.status_code == 503
        assert not_ready.json()["problems"] == ["no card version published"]
        assert get(url, 1, 5, token(1, 5)).status_code == 404  # nothing published: same 404
        with CardStoreWriter(data / "cards") as writer:
            writer.publish([(1, 5, server[1][(1, 5)])])
        ready = httpx.get(f"{url}/readyz", timeout=30)
        assert ready.status_code == 200
        assert ready.json()["card_version"] == 1 and ready.json()["landing_writable"] is True
        assert get(url, 1, 5, token(1, 5)).status_code == 200


def test_the_gzip_body_is_the_stored_one(server):
    base, bodies = server
    # Read the raw bytes: the body on the wire is a gzip stream of exactly the document.
    headers = {"Authorization": f"Bearer {token(2, 5)}", "Accept-Encoding": "gzip"}
    with httpx.Client(timeout=30) as client, client.stream("GET", cards_url(base, 2, 5), headers=headers) as response:
        raw = b"".join(response.iter_raw())
    assert gzip.decompress(raw) == bodies[(2, 5)]


def test_access_log_has_the_request_but_never_the_token(server, caplog):
    base, _ = server
    secret_token = token(1, 5)
    with caplog.at_level("INFO", logger="serving"):
        assert get(base, 1, 5, secret_token).status_code == 200
        assert get(base, 1, 6, secret_token, **{"X-Request-ID": "req-42"}).headers["x-request-id"] == "req-42"
        wait_until(lambda: len([r for r in caplog.records if r.name == "serving.access"]) >= 2, "access log lines")
    access = [r.json_fields for r in caplog.records if r.name == "serving.access"]
    assert access[0]["method"] == "GET" and access[0]["path"] == "/v1/brands/1/members/5/cards"
    assert access[0]["status"] == 200 and access[0]["bytes"] > 0 and "duration_ms" in access[0]
    assert access[1]["status"] == 404 and access[1]["reason"] == "token_bad_signature"
    assert access[1]["request_id"] == "req-42"
    everything = repr([(r.getMessage(), getattr(r, "json_fields", None)) for r in caplog.records])
    assert secret_token.rsplit(".", 1)[1] not in everything and "Bearer" not in everything


def test_the_server_as_operators_start_it_sends_security_headers_and_no_software_name(tmp_path: Path):
    data = tmp_path / "data"
    with CardStoreWriter(data / "cards") as writer:
        writer.publish([(1, 5, document_bytes(versioned_document(1, 5, version=1)))])
    env = {"SYNERGY_DATA_DIR": str(data), "SYNERGY_CARD_TOKEN_KEYS": TOKEN_KEYS_TEXT}
    server = ServerProcess(env, tmp_path / "server.log").start()
    try:
        responses = [get(server.url, 1, 5, token(1, 5)), get(server.url, 1, 6, token(1, 6)),
                     httpx.get(f"{server.url}/healthz", timeout=30), httpx.get(f"{server.url}/nowhere", timeout=30)]
    finally:
        server.stop()
    assert [r.status_code for r in responses] == [200, 404, 200, 404]
    for response in responses:
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "server" not in response.headers


def test_an_unhandled_error_answers_500_with_the_security_headers(tmp_path: Path):
    data = tmp_path / "data"
    with CardStoreWriter(data / "cards") as writer:
        writer.publish([(1, 5, document_bytes(versioned_document(1, 5, version=1)))])
    app = create_app(settings_for(data))

    def broken(*_):
        raise RuntimeError("a bug")

    with serving(app) as url:
        getattr(app, "app", app).state.card_reader.get = broken  # the Starlette app, inside any wrapper
        response = get(url, 1, 5, token(1, 5))
    assert response.status_code == 500
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
