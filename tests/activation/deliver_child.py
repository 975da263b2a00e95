"""A delivery process for the crash test: `python -m tests.activation.deliver_child STATE URL SITE KEY`."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from activation.deliver import deliver
from activation.destinations import Destination
from activation.sync_state import SyncState
from activation.track_client import TrackClient


async def main(state_path: str, base_url: str, site_id: str, api_key: str) -> None:
    destination = Destination(1, base_url, site_id, api_key)
    with SyncState(Path(state_path)) as state:
        async with TrackClient(base_url, site_id, api_key, requests_per_second=1000, max_connections=4) as client:
            await deliver(state, destination, client=client, concurrency=4, max_body_bytes=20_000)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
