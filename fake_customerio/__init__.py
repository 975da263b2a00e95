"""A fake Customer.io (Track API v1/v2 and App API exports) on loopback, for tests and benchmarks.

Start it in a thread (tests) or a subprocess (benchmarks), optionally over HTTPS::

    with FakeCustomerIO(tls=True).start_thread() as fake:   # or .start_process()
        fake.base_url        # Track API base, e.g. https://127.0.0.1:PORT (POST /api/v2/batch ...)
        fake.app_base_url    # App API base (same server: /v1/exports/...)
        fake.ca_file         # the CA to trust (httpx verify=..., REQUESTS_CA_BUNDLE=...)

Workspaces (`Workspace(site_id, api_key, app_api_key)`, default `DEFAULT_WORKSPACES`) each hold their
own people and events. What it implements:

- `POST /api/v2/batch` (Basic site_id:api_key): 400 for a body of 500,000 bytes or more (the docs say
  "smaller than 500kb" and name no 413; the Track API answers invalid requests with 400), malformed
  JSON or a missing `batch`; 401 for bad auth;
  per item (type person, exactly one of id/email/phone/cio_id, a known action, `name` for events, an
  event `id` that is a ULID, an integer `timestamp`, at most 32,000 bytes) invalid items are listed in
  a 207 `{"errors": [{batch_index, reason, field, message}]}` and the valid ones applied; all valid
  answers 200 `{}`.
- Track API v1 as the official `customerio` client calls it: PUT/DELETE /api/v1/customers/{id},
  POST .../events (`name`, `data`, optional ULID `id`, `timestamp`), POST .../suppress, .../unsuppress.
- Event ids deduplicate per workspace: a resend is acknowledged, counted in `receipts`, not delivered
  again. identify merges attributes; delete removes the person; suppress removes and blocks them.
- App API (Bearer app_api_key, 10 requests/s sliding window per key, 429 beyond):
  POST /v1/exports/customers `{"filters": {one property}, "attributes"?: [names]}` (filters are
  checked for shape, not applied: everyone is exported; `attributes` limits the attribute columns),
  GET /v1/exports/{id} (pending until `ready_after_polls` polls or `ready_after_seconds`, then done or
  failed), GET /v1/exports/{id}/download -> `{"url"}`: a signed URL served by the fake itself, 403
  once expired, 400 if an Authorization header is sent along; the file is a gzipped CSV with columns
  cio_id, id, email, segments (JSON array) and one per attribute.

Control (also over HTTP under /_fake/, so a subprocess is driven the same way):
`inject(kind, count=1, path_prefix="", seconds=0.0)` with kind "429" | "500" | "503" | "delay" |
"reset_before" | "reset_after"; `clear_faults()`; `throttle(rps, path_prefix="/api/")`;
`export_settings(ready_after_polls=, ready_after_seconds=, url_ttl_seconds=, fail_next=,
expire_next_urls=)`; `seed_people(site_id, people)`; `reset()`.
Inspection: `events(site_id)`, `receipts(site_id)`, `delivered(site_id)`, `people(site_id)`,
`suppressed(site_id)`, `deleted(site_id)`, `actions(site_id)`, `requests()` ((route, status) -> n),
`dead_items()`, `app_api_max_per_second()`. The HTTP routes behind them: POST /_fake/reset,
POST|DELETE /_fake/faults, POST /_fake/throttle, POST /_fake/exports/settings, POST /_fake/people/{site},
GET /_fake/state/{site}/{people|events|receipts|delivered|suppressed|deleted|actions},
GET /_fake/requests, GET /_fake/dead_items, GET /_fake/app_api_times, GET /_fake/health.

By hand: `python -m fake_customerio --port 8089 [--tls-dir D] [--workspace SITE:KEY[:APP_KEY]]`.
Its own speed: `python -m fake_customerio.throughput`.
"""

from fake_customerio.harness import FakeCustomerIO
from fake_customerio.server import DEFAULT_WORKSPACES, Workspace

__all__ = ["DEFAULT_WORKSPACES", "FakeCustomerIO", "Workspace"]
