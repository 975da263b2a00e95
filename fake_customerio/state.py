"""What one workspace holds: people, delivered events (deduplicated by id), suppressions, deletions."""

from __future__ import annotations

import itertools
import time
from collections import Counter

from fake_customerio.validation import Operation


class WorkspaceState:
    def __init__(self) -> None:
        self.people: dict[str, dict] = {}  # person key -> {"cio_id", identifier fields, "attributes", "segments"}
        self.events: dict[str, dict] = {}  # event id (or a generated key when none was sent) -> event
        self.receipts: Counter[str] = Counter()  # event id -> times received
        self.delivered: Counter[str] = Counter()  # event id -> times delivered (the fake keeps it at 1)
        self.suppressed: dict[str, float] = {}  # person key -> when
        self.deleted: dict[str, float] = {}  # person key -> when
        self.actions: Counter[str] = Counter()  # action -> operations applied (or acknowledged)
        self._cio_ids = itertools.count(1)
        self._anonymous_events = itertools.count(1)

    def apply(self, op: Operation) -> None:
        self.actions[op.action] += 1
        handler = _HANDLERS.get(op.action)
        if handler:
            handler(self, op)

    def seed_person(self, person: dict) -> None:
        """A person given directly: {"id"|"email"|"cio_id": ..., "attributes": {...}, "segments": [...]}."""
        kind = next(k for k in ("id", "email", "cio_id") if person.get(k))
        record = self._person(f"{kind}:{person[kind]}", {kind: person[kind]})
        record["attributes"].update(person.get("attributes") or {})
        record["segments"] = list(person.get("segments") or [])

    def _person(self, key: str, identifiers: dict) -> dict:
        record = self.people.get(key)
        if record is None:
            kind, value = next(iter(identifiers.items()))
            record = {"cio_id": value if kind == "cio_id" else f"cio{next(self._cio_ids):08x}",
                      kind: str(value), "attributes": {}, "segments": []}
            self.people[key] = record
        return record

    def _identify(self, op: Operation) -> None:
        if op.person in self.suppressed:
            return  # Customer.io does not re-create a suppressed person
        self._person(op.person, op.identifiers)["attributes"].update(op.attributes)
        self.deleted.pop(op.person, None)

    def _event(self, op: Operation) -> None:
        if op.event_id is None:
            key = f"noid-{next(self._anonymous_events)}"
        else:
            key = op.event_id
            self.receipts[key] += 1
            if key in self.events:
                return  # a resend: acknowledged, not delivered again
            self.delivered[key] += 1
        self.events[key] = {"person": op.person, "name": op.name, "attributes": op.attributes,
                            "timestamp": op.timestamp, "received_at": time.time()}

    def _delete(self, op: Operation) -> None:
        self.people.pop(op.person, None)
        self.deleted[op.person] = time.time()

    def _suppress(self, op: Operation) -> None:
        self.people.pop(op.person, None)
        self.suppressed[op.person] = time.time()

    def _unsuppress(self, op: Operation) -> None:
        self.suppressed.pop(op.person, None)



_HANDLERS = {"identify": WorkspaceState._identify, "event": WorkspaceState._event,
             "page": WorkspaceState._event, "screen": WorkspaceState._event,
             "delete": WorkspaceState._delete, "suppress": WorkspaceState._suppress,
             "unsuppress": WorkspaceState._unsuppress}
