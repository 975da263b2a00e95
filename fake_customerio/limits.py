"""Sliding-window request limit: at most `limit` requests in any `period` seconds."""

from __future__ import annotations

from collections import deque


class SlidingWindow:
    """Counts accepted requests only, so a client that backs off gets through again."""

    def __init__(self, limit: int, period: float = 1.0) -> None:
        self.limit = limit
        self.period = period
        self._times: deque[float] = deque()

    def allow(self, now: float) -> bool:
        cutoff = now - self.period
        times = self._times
        while times and times[0] <= cutoff:
            times.popleft()
        if len(times) >= self.limit:
            return False
        times.append(now)
        return True


def max_in_any_window(times: list[float], period: float = 1.0) -> int:
    """The largest number of timestamps inside any half-open window (t - period, t]."""
    ordered = sorted(times)
    best = start = 0
    for end, t in enumerate(ordered):
        while ordered[start] <= t - period:
            start += 1
        best = max(best, end - start + 1)
    return best
