"""Where each brand's sync goes: its Customer.io workspace, or its outbox folder in a dry run.

Credentials come only from the environment, per brand: `CUSTOMERIO_SITE_ID_<brand_id>` and
`CUSTOMERIO_API_KEY_<brand_id>` (or the brand-less `CUSTOMERIO_SITE_ID` / `CUSTOMERIO_API_KEY` for
every brand). The region comes from the brand (`brands.customer_io_region`); `CUSTOMERIO_TRACK_URL`
overrides the base URL of both regions (tests and benchmarks point it at a local fake).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

TRACK_URLS = {"us": "https://track.customer.io", "eu": "https://track-eu.customer.io"}


@dataclass(frozen=True)
class Destination:
    brand_id: int
    base_url: str | None = None
    site_id: str | None = None
    api_key: str | None = field(default=None, repr=False)

    @property
    def dry_run(self) -> bool:
        return not (self.site_id and self.api_key)

    @property
    def key(self) -> str:
        """Identifies the stream in the sync state: a workspace, or the brand's outbox."""
        return f"outbox:{self.brand_id}" if self.dry_run else f"site:{self.site_id}"


def destination_for(brand_id: int, region: str | None, env: Mapping[str, str] = os.environ) -> Destination:
    site_id = env.get(f"CUSTOMERIO_SITE_ID_{brand_id}") or env.get("CUSTOMERIO_SITE_ID")
    api_key = env.get(f"CUSTOMERIO_API_KEY_{brand_id}") or env.get("CUSTOMERIO_API_KEY")
    if not (site_id and api_key):
        return Destination(brand_id)
    region = (region or "us").lower()
    if region not in TRACK_URLS:
        raise ValueError(f"brand {brand_id}: unknown Customer.io region {region!r} (expected us or eu)")
    base_url = env.get("CUSTOMERIO_TRACK_URL") or TRACK_URLS[region]
    return Destination(brand_id, base_url, site_id, api_key)
