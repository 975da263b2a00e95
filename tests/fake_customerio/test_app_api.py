"""App API exports: bearer auth, the 10 requests/s limit, the pending/done/failed lifecycle, signed URLs."""

from __future__ import annotations

import csv
import gzip
import io

import httpx
import orjson

from fake_customerio import FakeCustomerIO
from tests.fake_customerio.conftest import OTHER_SITE, SITE, identify

FILTERS = {"filters": {"segment": {"id": 1}}}


def _export(app_api: httpx.Client) -> int:
    return app_api.post("/v1/exports/customers", json=FILTERS).json()["export"]["id"]


def _poll_until_done(app_api: httpx.Client, export_id: int) -> list[str]:
    statuses = []
    while not statuses or statuses[-1] == "pending":
        statuses.append(app_api.get(f"/v1/exports/{export_id}").json()["export"]["status"])
    return statuses


def _rows(content: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(gzip.decompress(content).decode())))


def test_export_lifecycle_and_csv_content(fake, track, app_api):
    track.post("/api/v2/batch", json={"batch": [identify("u1", plan="gold", tags=["a"]), identify("u2")]})
    fake.seed_people(SITE.site_id, [{"email": "x@example.com", "attributes": {"plan": "free"}, "segments": [7]}])
    fake.export_settings(ready_after_polls=2)
    export_id = _export(app_api)
    assert _poll_until_done(app_api, export_id) == ["pending", "pending", "done"]
    url = app_api.get(f"/v1/exports/{export_id}/download").json()["url"]
    response = httpx.get(url)
    assert response.status_code == 200
    rows = {r["id"] or r["email"]: r for r in _rows(response.content)}
    assert list(next(iter(rows.values()))) == ["cio_id", "id", "email", "segments", "plan", "tags"]
    assert rows["u1"]["plan"] == "gold" and orjson.loads(rows["u1"]["tags"]) == ["a"]
    assert orjson.loads(rows["x@example.com"]["segments"]) == [7]
    assert len({r["cio_id"] for r in rows.values()}) == 3


def test_requested_attributes_limit_the_columns(fake, app_api):
    fake.seed_people(SITE.site_id, [{"id": "u1", "attributes": {"plan": "gold", "secret": "s"}}])
    fake.export_settings(ready_after_polls=0)
    export_id = app_api.post("/v1/exports/customers", json={**FILTERS, "attributes": ["plan"]}).json()["export"]["id"]
    _poll_until_done(app_api, export_id)
    url = app_api.get(f"/v1/exports/{export_id}/download").json()["url"]
    assert list(_rows(httpx.get(url).content)[0]) == ["cio_id", "id", "email", "segments", "plan"]


def test_bearer_auth_is_per_workspace(fake, app_api):
    assert httpx.post(fake.app_base_url + "/v1/exports/customers", json=FILTERS).status_code == 401
    export_id = _export(app_api)
    other = {"Authorization": f"Bearer {OTHER_SITE.app_api_key}"}
    assert httpx.get(f"{fake.app_base_url}/v1/exports/{export_id}", headers=other).status_code == 404


def test_filters_are_required(app_api):
    for body in ({}, {"filters": {}}, {"filters": {"and": [], "or": []}}, {"filters": [1]}):
        assert app_api.post("/v1/exports/customers", json=body).status_code == 400


def test_more_than_10_requests_in_a_second_get_429(fake, app_api):
    statuses = [app_api.get("/v1/exports/999").status_code for _ in range(25)]
    assert statuses.count(429) >= 1  # 25 quick requests never spread over 3 seconds here
    assert statuses.count(404) >= 10
    assert fake.app_api_max_per_second() >= 11  # the fake saw the burst, refusals included


def test_failed_export(fake, app_api):
    fake.export_settings(fail_next=1, ready_after_polls=0)
    export_id = _export(app_api)
    assert _poll_until_done(app_api, export_id) == ["failed"]
    assert app_api.get(f"/v1/exports/{export_id}/download").status_code == 400
    assert _poll_until_done(app_api, _export(app_api)) == ["done"]  # only the next one failed


def test_expired_url_is_403_and_a_fresh_one_works(fake, app_api):
    fake.export_settings(ready_after_polls=0, expire_next_urls=1)
    export_id = _export(app_api)
    _poll_until_done(app_api, export_id)
    expired = app_api.get(f"/v1/exports/{export_id}/download").json()["url"]
    assert httpx.get(expired).status_code == 403
    fresh = app_api.get(f"/v1/exports/{export_id}/download").json()["url"]
    assert httpx.get(fresh).status_code == 200


def test_signed_url_refuses_a_bearer_header(fake, app_api):
    fake.export_settings(ready_after_polls=0)
    export_id = _export(app_api)
    _poll_until_done(app_api, export_id)
    url = app_api.get(f"/v1/exports/{export_id}/download").json()["url"]
    assert app_api.get(url).status_code == 400  # the App API client adds its Authorization header


def test_export_ready_after_seconds(fake, app_api):
    fake.export_settings(ready_after_polls=None, ready_after_seconds=0.0)
    assert _poll_until_done(app_api, _export(app_api)) == ["done"]


def test_the_fake_runs_as_a_subprocess_too():
    with FakeCustomerIO().start_process() as fake:
        response = httpx.post(fake.base_url + "/api/v2/batch", json={"batch": [identify("u1")]},
                              auth=(SITE.site_id, SITE.api_key))
        assert response.status_code == 200
        assert set(fake.people(SITE.site_id)) == {"id:u1"}
