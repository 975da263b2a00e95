"""How fast the fake answers, so a benchmark can tell whether the fake is its bottleneck.

    python -m fake_customerio.throughput [--seconds 5] [--concurrency 16]

Runs the fake in its own process and drives it from this one over loopback (bounded in time):
small batches (one identify) per second, then near-limit (~480 KB, 1000 events) batches per second.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import aiohttp
import httpx
import orjson
import psutil

from fake_customerio.harness import FakeCustomerIO
from fake_customerio.server import DEFAULT_WORKSPACES

SITE = DEFAULT_WORKSPACES[0]
ULID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _ulid(n: int) -> str:
    digits = []
    for _ in range(26):
        n, r = divmod(n, 32)
        digits.append(ULID_ALPHABET[r])
    return "".join(reversed(digits))


def small_body(i: int) -> bytes:
    return orjson.dumps({"batch": [{"type": "person", "identifiers": {"id": f"u{i % 1000}"}, "action": "identify",
                                    "attributes": {"points": i}}]})


def large_body(i: int) -> bytes:
    items = [{"type": "person", "identifiers": {"id": f"u{j % 1000}"}, "action": "event", "name": "purchase",
              "id": _ulid(i * 1000 + j), "timestamp": 1_795_000_000, "attributes": {"note": "x" * 330}}
             for j in range(1000)]
    return orjson.dumps({"batch": items})


async def _drive(url: str, bodies, seconds: float, concurrency: int) -> tuple[int, float, dict[int, int]]:
    headers = {"Content-Type": "application/json",
               "Authorization": httpx.BasicAuth(SITE.site_id, SITE.api_key)._auth_header}
    statuses: dict[int, int] = {}
    sent = 0
    deadline = time.monotonic() + seconds

    async def worker(session: aiohttp.ClientSession, k: int) -> None:
        nonlocal sent
        i = k
        while time.monotonic() < deadline:
            async with session.post(url + "/api/v2/batch", data=bodies(i), headers=headers) as response:
                await response.read()
                statuses[response.status] = statuses.get(response.status, 0) + 1
            sent += 1
            i += concurrency

    start = time.monotonic()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        await asyncio.gather(*(worker(session, k) for k in range(concurrency)))
    return sent, time.monotonic() - start, statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    large = [large_body(i) for i in range(32)]  # built ahead: the driver must not be the bottleneck
    print(f"large body: {len(large[0]):,} bytes, 1000 events")
    with FakeCustomerIO().start_process() as fake:
        server = psutil.Process(fake.process_id)
        for label, bodies, concurrency in (("small (1 identify)", small_body, args.concurrency),
                                           ("large (1000 events)", lambda i: large[i % len(large)], 4)):
            fake.reset()
            cpu_before = sum(server.cpu_times()[:2])
            n, elapsed, statuses = asyncio.run(_drive(fake.base_url, bodies, args.seconds, concurrency))
            cpu = sum(server.cpu_times()[:2]) - cpu_before
            print(f"{label}: {n / elapsed:,.0f} requests/s over {elapsed:.1f} s, statuses {statuses}; "
                  f"fake CPU {cpu / n * 1e6:,.0f} us/request (one core: ~{n / cpu:,.0f} requests/s)")


if __name__ == "__main__":
    main()
