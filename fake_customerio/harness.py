"""FakeCustomerIO: run the fake in a thread or a subprocess and drive it over its /_fake/ routes."""

from __future__ import annotations

import asyncio
import select
import ssl
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path
from typing import Self

import httpx

from fake_customerio.limits import max_in_any_window
from fake_customerio.runner import start
from fake_customerio.server import DEFAULT_WORKSPACES, FakeServer, Workspace
from fake_customerio.tls import CA_FILE

START_TIMEOUT_S = 60.0


class FakeCustomerIO:
    def __init__(self, workspaces: tuple[Workspace, ...] = DEFAULT_WORKSPACES, *, tls: bool = False,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.workspaces = workspaces
        self.host, self.port = host, port
        self._tls_tmp = tempfile.TemporaryDirectory(prefix="fake-cio-tls-") if tls else None
        self.base_url = ""
        self.process_id: int | None = None  # set by start_process (benchmarks measure its CPU)
        self._stop = lambda: None
        self._control: httpx.Client | None = None

    # ---- lifecycle -------------------------------------------------------------------------------
    @property
    def tls_dir(self) -> Path | None:
        return Path(self._tls_tmp.name) if self._tls_tmp else None

    @property
    def ca_file(self) -> str | None:
        """The CA to trust for HTTPS (httpx verify=..., or REQUESTS_CA_BUNDLE for requests)."""
        return str(self.tls_dir / CA_FILE) if self.tls_dir else None

    @property
    def app_base_url(self) -> str:
        """The App API shares the server: its routes (/v1/...) do not collide with the Track API's (/api/...)."""
        return self.base_url

    def start_thread(self) -> Self:
        """Serve from an event loop in a daemon thread of this process."""
        ready = threading.Event()
        outcome: dict = {}

        def serve() -> None:
            loop = asyncio.new_event_loop()
            try:
                runner, outcome["url"] = loop.run_until_complete(
                    start(FakeServer(self.workspaces), self.host, self.port, self.tls_dir))
            except Exception as exc:  # noqa: BLE001 - any start failure is re-raised in the starting thread
                outcome["error"] = exc
                ready.set()
                loop.close()
                return
            outcome["loop"] = loop
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        thread = threading.Thread(target=serve, name="fake-customerio", daemon=True)
        thread.start()
        if not ready.wait(START_TIMEOUT_S) or "error" in outcome:
            raise RuntimeError(f"fake Customer.io did not start: {outcome.get('error')}")

        def stop() -> None:
            outcome["loop"].call_soon_threadsafe(outcome["loop"].stop)
            thread.join(START_TIMEOUT_S)

        return self._started(outcome["url"], stop)

    def start_process(self) -> Self:
        """Serve from `python -m fake_customerio` (benchmarks: the fake gets its own core)."""
        args = [sys.executable, "-m", "fake_customerio", "--host", self.host, "--port", str(self.port)]
        for w in self.workspaces:
            args += ["--workspace", ":".join(x for x in (w.site_id, w.api_key, w.app_api_key) if x)]
        if self.tls_dir:
            args += ["--tls-dir", str(self.tls_dir)]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parent.parent)
        ready, _, _ = select.select([proc.stdout], [], [], START_TIMEOUT_S)
        line = proc.stdout.readline() if ready else ""  # "listening <url>", or "" if it died
        if not line.startswith("listening "):
            proc.kill()
            proc.wait()
            raise RuntimeError(f"fake Customer.io process did not start (exit code {proc.poll()})")

        def stop() -> None:
            proc.terminate()
            try:
                proc.wait(START_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            proc.stdout.close()

        self.process_id = proc.pid
        return self._started(line.split()[1], stop)

    def _started(self, url: str, stop) -> Self:
        self.base_url = url
        self._stop = stop
        verify = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else True
        self._control = httpx.Client(base_url=url, verify=verify, timeout=60.0)
        return self

    def stop(self) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None
        self._stop()
        self._stop = lambda: None
        if self._tls_tmp:
            self._tls_tmp.cleanup()

    def __enter__(self) -> Self:
        if self._control is None:
            self.start_thread()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- control ---------------------------------------------------------------------------------
    def _call(self, method: str, path: str, body: object = None):
        response = self._control.request(method, path, json=body)
        response.raise_for_status()
        return response.json()

    def inject(self, kind: str, count: int = 1, *, path_prefix: str = "", seconds: float = 0.0) -> None:
        """The next `count` requests whose path starts with `path_prefix` suffer `kind`:
        "429", "500", "503", "delay" (by `seconds`, then processed), "reset_before", "reset_after"."""
        self._call("POST", "/_fake/faults", {"kind": kind, "count": count, "path_prefix": path_prefix,
                                              "seconds": seconds})

    def clear_faults(self) -> None:
        self._call("DELETE", "/_fake/faults")

    def throttle(self, rps: int | None, path_prefix: str = "/api/") -> None:
        """At most `rps` requests/s (sliding window) on paths under `path_prefix`, 429 beyond; None lifts it."""
        self._call("POST", "/_fake/throttle", {"rps": rps, "path_prefix": path_prefix})

    def export_settings(self, **changes) -> dict:
        """ready_after_polls, ready_after_seconds, url_ttl_seconds, fail_next, expire_next_urls."""
        return self._call("POST", "/_fake/exports/settings", changes)

    def seed_people(self, site_id: str, people: list[dict]) -> None:
        """Add people directly: {"id"|"email"|"cio_id": ..., "attributes": {...}, "segments": [...]}."""
        self._call("POST", f"/_fake/people/{site_id}", people)

    def reset(self) -> None:
        """Forget all state, faults and throttling (export settings are kept)."""
        self._call("POST", "/_fake/reset")

    # ---- inspection ------------------------------------------------------------------------------
    def _state(self, site_id: str, what: str):
        return self._call("GET", f"/_fake/state/{site_id}/{what}")

    def events(self, site_id: str) -> dict[str, dict]:
        """Delivered events by id (events sent without an id get a "noid-N" key)."""
        return self._state(site_id, "events")

    def receipts(self, site_id: str) -> dict[str, int]:
        """Event id -> times received (resends included)."""
        return self._state(site_id, "receipts")

    def delivered(self, site_id: str) -> dict[str, int]:
        """Event id -> times delivered (never more than 1)."""
        return self._state(site_id, "delivered")

    def people(self, site_id: str) -> dict[str, dict]:
        """"<kind>:<value>" -> {"cio_id", the identifier, "attributes", "segments"}."""
        return self._state(site_id, "people")

    def suppressed(self, site_id: str) -> dict[str, float]:
        return self._state(site_id, "suppressed")

    def deleted(self, site_id: str) -> dict[str, float]:
        return self._state(site_id, "deleted")

    def actions(self, site_id: str) -> dict[str, int]:
        """Action -> valid operations received (identify, event, delete, suppress ...)."""
        return self._state(site_id, "actions")

    def requests(self) -> Counter[tuple[str, str]]:
        """(route, status) -> count; status is the HTTP status, or "reset_before" / "reset_after"."""
        return Counter({(r["route"], r["status"]): r["count"] for r in self._call("GET", "/_fake/requests")})

    def dead_items(self) -> list[dict]:
        """Every item rejected in a 207: site_id, batch_index, reason, field, message, item."""
        return self._call("GET", "/_fake/dead_items")

    def app_api_max_per_second(self) -> int:
        """The most App API requests the fake received within any one second."""
        return max_in_any_window(self._call("GET", "/_fake/app_api_times"))
