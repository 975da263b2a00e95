"""python -m benchmarks.sync [--events 200000] [--official-events 5000] [--quick]

Customer.io sync throughput on loopback, in one run, against the fake Customer.io serving HTTPS in
its own process (the official client only speaks https):

- ours: the sync's delivery step (async httpx, 500 KB batches, 8 in flight, 100 requests/s limit)
  draining a queue of realistic events (catalog payloads with product and user snapshots);
- the official `customerio` client (PyPI, requests-based) on the same events, one `track` call per
  event (Track API v1), on the first --official-events of them;
- the official client's `batch` call (Track API v2) on the same events, packed into the same
  500 KB bodies, one request at a time;
- ours again while the fake throttles to 100 requests/s (429 beyond): how close to 100 full
  batches per second; and with both the fake and our limit at 10 requests/s, whether the pacing
  uses the whole allowance without a single 429.

Every run starts from an empty fake; after each, the fake must hold every event exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from activation import payloads
from activation.batching import pack
from activation.deliver import deliver
from activation.destinations import Destination
from activation.event_ids import event_ulid
from activation.segments import QueuedItem, append_items
from activation.sync_state import SyncState
from activation.track_client import TrackClient
from benchmarks.measure import machine, write_result
from fake_customerio import FakeCustomerIO

SITE, KEY = "site-1", "track-key-1"
START = datetime(2026, 11, 20, tzinfo=UTC)


def realistic_events(count: int) -> list[tuple[str, str, datetime, dict]]:
    """(person, event id, time, data) shaped like marts.customerio_events' product scans (~700 bytes)."""
    events = []
    for n in range(count):
        when = START + timedelta(milliseconds=37 * n)
        user = n % 20_000 + 1
        data = {
            "product_snapshot": {
                "identity": {"product_id": n % 400 + 1, "sku": f"B1-VAPE-{n % 400:03d}", "product_name": "Blue Dream 1g Vape"},
                "economy": {"points_award": 400 + n % 50, "msrp": 45.0},
                "taxonomy": {"product_form": "Vape Cartridge", "strain_type": "Sativa", "strain_name": "Blue Dream",
                             "product_line": "Everyday"}},
            "user_snapshot": {
                "identity": {"user_id": user, "email": f"member{user}@example.com"},
                "economy": {"points_balance": 1850 + n % 1000, "lifetime_points": 6100 + n},
                "status": {"rank_key": "gold", "rank_name": "Gold"},
                "profile_data": {"custom_strain_preference": "Sativa"}}}
        events.append((f"user-{user}", event_ulid(1, f"app:evt-{n}", when), when, data))
    return events


def queue(state: SyncState, destination: Destination, events) -> None:
    append_items(state.queue_dir(destination.key), [
        QueuedItem(1, person, "event", event_id, payloads.event(person, event_id, "product_scanned", when, data).body)
        for person, event_id, when, data in events])


def verify(fake: FakeCustomerIO, events) -> None:
    delivered = fake.delivered(SITE)
    missing = [e[1] for e in events if delivered.get(e[1]) != 1]
    if missing or len(delivered) != len(events):
        raise RuntimeError(f"fake holds {len(delivered)} events, expected each of {len(events)} once ({len(missing)} not)")


def run_ours(fake: FakeCustomerIO, events, workdir: Path, *, rps: float = 100) -> dict:
    fake.reset()
    destination = Destination(1, fake.base_url, SITE, KEY)
    with SyncState(workdir / f"state-{time.time_ns()}" / "sync_state.sqlite") as state:
        queue(state, destination, events)
        queued_bytes = sum(len(payloads.event(*e[:2], "product_scanned", *e[2:]).body) for e in events)

        async def go():
            async with TrackClient(fake.base_url, SITE, KEY, requests_per_second=rps, verify=fake.ca_file) as client:
                return await deliver(state, destination, client=client)

        summary = asyncio.run(go())
    verify(fake, events)
    requests = sum(n for (route, _), n in fake.requests().items() if route == "/api/v2/batch")
    throttled = sum(n for (route, status), n in fake.requests().items() if route == "/api/v2/batch" and status == "429")
    return {"events": len(events), "seconds": summary.seconds, "events_per_second": summary.items_per_second,
            "batches": summary.batches, "requests": requests, "retries": summary.retries, "answered_429": throttled,
            "requests_per_second": round(requests / summary.seconds, 1),
            "batches_per_second": round(summary.batches / summary.seconds, 1),
            "mean_body_kb": round(queued_bytes / summary.batches / 1000, 1)}


def official_client(fake: FakeCustomerIO):
    from customerio import CustomerIO
    from customerio.regions import Regions

    host, port = fake.base_url.removeprefix("https://").split(":")
    os.environ["REQUESTS_CA_BUNDLE"] = fake.ca_file  # how `requests` is told to trust the fake's CA
    return CustomerIO(SITE, KEY, host=host, port=int(port), region=Regions.US)


def run_official_per_event(fake: FakeCustomerIO, events) -> dict:
    fake.reset()
    client = official_client(fake)
    started = time.perf_counter()
    for person, event_id, when, data in events:
        client.track(person, "product_scanned", data=data, id=event_id, timestamp=int(when.timestamp()))
    seconds = time.perf_counter() - started
    verify(fake, events)
    return {"events": len(events), "seconds": round(seconds, 3), "events_per_second": round(len(events) / seconds, 1),
            "requests": len(events)}


def run_official_batch(fake: FakeCustomerIO, events) -> dict:
    fake.reset()
    client = official_client(fake)
    operations = [orjson.loads(payloads.event(p, i, "product_scanned", w, d).body) for p, i, w, d in events]
    # Packed as the official client will encode them (json.dumps, with spaces), so every body is under 500 KB.
    operations = [(op, json.dumps(op).encode()) for op in operations]
    started = time.perf_counter()
    requests = 0
    for batch in pack(operations, max_body_bytes=490_000):  # room for the ", " separators requests adds
        client.batch([op for op, _ in batch])
        requests += 1
    seconds = time.perf_counter() - started
    verify(fake, events)
    return {"events": len(events), "seconds": round(seconds, 3), "events_per_second": round(len(events) / seconds, 1),
            "requests": requests}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sync", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--official-events", type=int, default=5_000)
    parser.add_argument("--quick", action="store_true", help="20,000 events, 1,000 per official call")
    args = parser.parse_args(argv)
    if args.quick:
        args.events, args.official_events = 20_000, 1_000
    events = realistic_events(args.events)
    results: dict = {"machine": machine(), "events": args.events}
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp, FakeCustomerIO(tls=True).start_process() as fake:
        workdir = Path(tmp)
        results["ours"] = run_ours(fake, events, workdir)
        results["ours_same_events_as_official"] = run_ours(fake, events[:args.official_events], workdir)
        results["official_per_event"] = run_official_per_event(fake, events[:args.official_events])
        results["official_batch"] = run_official_batch(fake, events)
        fake.throttle(100, path_prefix="/api/v2/batch")
        results["ours_throttled_100rps"] = run_ours(fake, events, workdir)
        # A throttle below what the machine can push shows whether the pacing uses all of the allowance.
        fake.throttle(10, path_prefix="/api/v2/batch")
        results["ours_throttled_10rps_client_10rps"] = run_ours(fake, events[:args.events // 10], workdir, rps=10)
        fake.throttle(None)
    ours = results["ours"]["events_per_second"]
    results["ratio_vs_official_per_event"] = round(ours / results["official_per_event"]["events_per_second"], 1)
    results["ratio_vs_official_batch"] = round(ours / results["official_batch"]["events_per_second"], 1)
    path = write_result("sync", results)
    print(orjson.dumps(results, option=orjson.OPT_INDENT_2).decode())
    print(f"results: {path}")
    return results


if __name__ == "__main__":
    main()
