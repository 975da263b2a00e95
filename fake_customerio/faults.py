"""Fault injection: the next N matching requests fail in a chosen way, and a throttle mode."""

from __future__ import annotations

from dataclasses import dataclass

from fake_customerio.limits import SlidingWindow

# status: answer with that status and do nothing.
# delay: wait `seconds` (past the client's timeout), then process normally: the client gave up,
#        but the work was done, as happens with a real slow server.
# reset_before: drop the connection (TCP RST) before processing: nothing was applied.
# reset_after: process the request, send the headers and part of the body, then reset: the work
#              was applied but the client never learns it (the case that exercises dedup).
STATUS_KINDS = {"429": 429, "500": 500, "503": 503}
FAULT_KINDS = (*STATUS_KINDS, "delay", "reset_before", "reset_after")


@dataclass
class Fault:
    kind: str
    count: int
    path_prefix: str = ""
    seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {FAULT_KINDS}")
        if self.count < 1:
            raise ValueError("count must be at least 1")


class Faults:
    """Pending faults (first match wins) and an optional throttle on a path prefix."""

    def __init__(self) -> None:
        self._pending: list[Fault] = []
        self._throttle: SlidingWindow | None = None
        self._throttle_prefix = "/api/"

    @property
    def active(self) -> bool:
        return bool(self._pending) or self._throttle is not None

    def add(self, fault: Fault) -> None:
        self._pending.append(fault)

    def throttle(self, rps: int | None, path_prefix: str = "/api/") -> None:
        self._throttle = SlidingWindow(rps) if rps else None
        self._throttle_prefix = path_prefix

    def clear(self) -> None:
        self._pending.clear()
        self._throttle = None

    def take(self, path: str, now: float) -> Fault | None:
        """The fault this request suffers, if any (the throttle answers as a one-off 429)."""
        for fault in self._pending:
            if path.startswith(fault.path_prefix):
                fault.count -= 1
                if fault.count == 0:
                    self._pending.remove(fault)
                return fault
        if self._throttle is not None and path.startswith(self._throttle_prefix) and not self._throttle.allow(now):
            return Fault("429", 1)
        return None

    def describe(self) -> dict:
        return {"pending": [vars(f) for f in self._pending],
                "throttle_rps": self._throttle.limit if self._throttle else None}
