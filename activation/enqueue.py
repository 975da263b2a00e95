"""From the warehouse's activation marts to a new queue segment, set-based.

For one destination, with the queue state attached (outbound_queue.py):
- Erasures first: a `suppress` (or `delete`) for each newly erased person, who is forgotten by the
  queue state; after the commit their pending items and outbox bodies are scrubbed (idempotently:
  a crash before that finishes is finished by the next run).
- People: only members whose attribute set's digest differs from the one last queued, and of those
  only the attributes that changed (a removed attribute is sent as null, which clears it). A person
  whose identify was dead-lettered is forgotten, so their next identify carries every attribute.
- Events: those that became available after the stream's cursor (re-read with an overlap; their ULIDs
  already queued are skipped), each with its deterministic ULID. A new stream starts with the events
  that occurred within `backfill` of its newest event (Customer.io only triggers campaigns on events
  under 72 hours old), or with all of them when `backfill` is None.
The bodies are built in SQL. Only an item near a Customer.io limit goes through payloads.py, which
truncates with a warning or dead-letters it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import orjson
import pyarrow as pa

from ingestion.schema_sql import sql_str

from activation import outbound_queue, payloads, segments
from activation.destinations import Destination
from activation.event_ids import register_ulid_function
from activation.limits import ATTRIBUTE_VALUE_MAX_BYTES, EVENT_DATA_MAX_BYTES, ID_MAX_BYTES, ITEM_MAX_BYTES, MAX_ATTRIBUTES
from activation.outbox import Outbox
from activation.sync_state import SyncState

ERASURE_ACTIONS = ("suppress", "delete")
Q = outbound_queue.ALIAS
# The person part of every item, and the rows that must go through payloads.py.
PERSON_JSON = """'{"type":"person","identifiers":{"id":' || to_json(person_id) || '}'"""
BAD_ID = f"(person_id IS NULL OR person_id = '' OR strlen(person_id) > {ID_MAX_BYTES})"


@dataclass
class EnqueueSummary:
    destination: str
    dry_run: bool
    identifies: int = 0
    people_unchanged: int = 0
    events: int = 0
    events_already_queued: int = 0
    erasures: int = 0
    outbox_items_scrubbed: int = 0
    unsendable: int = 0
    limit_warnings: int = 0
    first_seq: int | None = None
    last_seq: int | None = None


def brand_regions(con: duckdb.DuckDBPyConnection) -> dict[int, str]:
    return dict(con.execute("SELECT brand_id, customer_io_region FROM staging.stg_app__brands ORDER BY brand_id").fetchall())


def enqueue_brand(con: duckdb.DuckDBPyConnection, state: SyncState, destination: Destination, outbox: Outbox, *,
                  erasure_action: str = "suppress", backfill: timedelta | None = timedelta(hours=72),
                  overlap: timedelta = timedelta(hours=1), now: datetime | None = None) -> EnqueueSummary:
    """Queue one brand's changes for its destination (the queue state must be attached as `q`)."""
    if erasure_action not in ERASURE_ACTIONS:
        raise ValueError(f"erasure_action must be one of {ERASURE_ACTIONS}, not {erasure_action!r}")
    now = now or datetime.now(UTC)
    register_ulid_function(con)
    summary = EnqueueSummary(destination.key, destination.dry_run)
    dest, brand = destination.key, destination.brand_id
    stream = outbound_queue.stream(con, dest)
    next_seq = stream.next_seq
    _forget_dead_identifies(con, state, dest, stream.dead_identifies_seen)
    try:
        _stage_erasures(con, brand, erasure_action)
        _stage_people(con, dest, brand)
        since, floor = _stage_events(con, dest, brand, stream, backfill, overlap)
        _stage_items(con, brand, next_seq)
        summary.erasures, summary.identifies, summary.events, summary.unsendable, summary.limit_warnings = con.execute("""
            SELECT count(*) FILTER (WHERE kind IN ('suppress', 'delete') AND item IS NOT NULL),
                count(*) FILTER (WHERE kind = 'identify' AND item IS NOT NULL),
                count(*) FILTER (WHERE kind = 'event' AND item IS NOT NULL), count(*) FILTER (WHERE item IS NULL),
                (SELECT count(*) FROM _warnings) FROM _items""").fetchone()
        summary.events_already_queued = con.execute("SELECT count(*) FROM _events_read WHERE queued_before").fetchone()[0]
        summary.people_unchanged = con.execute(
            "SELECT count(*) FROM marts.customerio_people WHERE brand_id = ?", [brand]).fetchone()[0] - con.execute(
            "SELECT count(*) FROM _people").fetchone()[0]
        last_seq = con.execute("SELECT max(seq) FROM _items WHERE item IS NOT NULL").fetchone()[0]
        _commit(con, state, dest, brand, next_seq, last_seq, since, floor, overlap, now)
        if last_seq is not None:
            summary.first_seq, summary.last_seq = next_seq, last_seq
    finally:
        for table in ("_erasures", "_people", "_events_read", "_events_to_send", "_events", "_items", "_warnings"):
            con.execute(f"DROP TABLE IF EXISTS temp.{table}")
    summary.outbox_items_scrubbed = scrub_erased(con, state, outbox, brand, now)
    return summary


def _forget_dead_identifies(con, state: SyncState, dest: str, seen: str | None) -> None:
    """Customer.io refused these identifies: forget what they carried, so the next one is complete."""
    dead = state.query("SELECT person_id, dead_at FROM dead_letters WHERE destination = ? AND kind = 'identify'"
                       " AND dead_at > ? ORDER BY dead_at", (dest, seen or ""))
    if dead:
        con.execute(f"DELETE FROM {Q}.people WHERE destination = ? AND person_id IN (SELECT unnest(?))",
                    [dest, [person for person, _ in dead]])
        con.execute(f"UPDATE {Q}.streams SET dead_identifies_seen = ? WHERE destination = ?", [dead[-1][1], dest])


def _stage_erasures(con, brand: int, action: str) -> None:
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _erasures AS
        SELECT e.brand_id, e.person_id, '{action}' AS kind, '{action}:' || e.person_id AS dedup_key,
            {PERSON_JSON} || ',"action":"{action}"}}' AS item
        FROM (SELECT DISTINCT brand_id, person_id FROM marts.customerio_erasures WHERE brand_id = ?) AS e
        WHERE NOT EXISTS (SELECT 1 FROM {Q}.erased AS x WHERE x.brand_id = e.brand_id AND x.person_id = e.person_id)""",
                [brand])


def _stage_people(con, dest: str, brand: int) -> None:
    """_people: members whose attribute set changed, with the identify that brings Customer.io up to date."""
    keys = [k for (k,) in con.execute(f"""
        SELECT DISTINCT unnest(json_keys(attributes)) FROM marts.customerio_people WHERE brand_id = ?
        UNION SELECT DISTINCT unnest(json_keys(attributes)) FROM {Q}.people WHERE destination = ? ORDER BY 1""",
                                      [brand, dest]).fetchall()] or ["profile_id"]
    paths = "[" + ", ".join(sql_str("$." + json.dumps(k)) for k in keys) + "]"
    names = "[" + ", ".join(sql_str(json.dumps(k)) for k in keys) + "]"
    # A key now missing that had a value is sent as null; with no previous set, every key is sent.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _people AS
        WITH changed AS (
            SELECT p.brand_id, p.person_id, CAST(p.attributes AS VARCHAR) AS attributes,
                md5(CAST(p.attributes AS VARCHAR)) AS digest, s.attributes AS previous
            FROM marts.customerio_people AS p
            LEFT JOIN (SELECT person_id, digest, attributes FROM {Q}.people WHERE destination = ?) AS s USING (person_id)
            WHERE p.brand_id = ? AND s.digest IS DISTINCT FROM md5(CAST(p.attributes AS VARCHAR))
              AND p.person_id NOT IN (SELECT person_id FROM {Q}.erased WHERE brand_id = ?)
              AND p.person_id NOT IN (SELECT person_id FROM _erasures)
        ), compared AS (
            SELECT *, CAST(json_extract(attributes, {paths}) AS VARCHAR[]) AS now_values,
                CASE WHEN previous IS NOT NULL THEN CAST(json_extract(previous, {paths}) AS VARCHAR[]) END AS old_values
            FROM changed
        ), diffs AS (
            SELECT *, list_filter(list_transform(range(1, {len(keys) + 1}), lambda i: CASE
                    WHEN now_values[i] IS NOT NULL AND (old_values IS NULL OR old_values[i] IS DISTINCT FROM now_values[i])
                        THEN {names}[i] || ':' || now_values[i]
                    WHEN now_values[i] IS NULL AND old_values[i] IS NOT NULL AND old_values[i] <> 'null'
                        THEN {names}[i] || ':null' END), lambda pair: pair IS NOT NULL) AS pairs,
                list_max(list_transform(now_values, lambda v: strlen(v))) AS longest_value
            FROM compared
        )
        SELECT brand_id, person_id, attributes, digest, 'identify' AS kind,
            'identify:' || person_id || ':' || coalesce(md5(previous), 'new') || '->' || digest AS dedup_key,
            {PERSON_JSON} || ',"action":"identify","attributes":{{' || array_to_string(pairs, ',') || '}}}}' AS item,
            {BAD_ID} OR len(pairs) > {MAX_ATTRIBUTES} OR coalesce(longest_value, 0) > {ATTRIBUTE_VALUE_MAX_BYTES}
                OR strlen(attributes) > {ITEM_MAX_BYTES - 200} AS near_limits,
            '{{' || array_to_string(pairs, ',') || '}}' AS diff
        FROM diffs""", [dest, brand, brand])


def _stage_events(con, dest: str, brand: int, stream: outbound_queue.Stream, backfill: timedelta | None,
                  overlap: timedelta) -> tuple[datetime, datetime | None]:
    """_events_read: the brand's events available since the cursor (minus the overlap), each with its ULID,
    whether it is within the stream's history floor, and whether it was queued before; _events_to_send: those
    to send, with their data. The data (the view's JSON, most of its cost) is built only for events within the
    floor: a new stream reads all history but sends its last `backfill`, and a re-read finds mostly events
    queued before. Returns (since, floor)."""
    if stream.events_cursor is not None:
        since, floor = stream.events_cursor - overlap, stream.events_floor
    else:  # a new stream: its history starts `backfill` before its newest event
        since = datetime(1970, 1, 1, tzinfo=UTC)
        newest = con.execute("SELECT max(occurred_at) FROM marts.customerio_events WHERE brand_id = ?", [brand]).fetchall()[0][0]
        floor = newest - backfill if (backfill is not None and newest is not None) else None
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _events_read AS
        SELECT *, coalesce(dedup_key IN (SELECT dedup_key FROM {Q}.events WHERE destination = ? AND available_at > ?),
                           false) AS queued_before
        FROM (
            -- Only an event within the floor is ever queued, so only it needs its ULID.
            SELECT *, CASE WHEN in_window THEN event_ulid(brand_id, event_key, occurred_at) END AS dedup_key
            FROM (
                SELECT e.brand_id, e.person_id, e.event_key, e.event_name, e.occurred_at, e.available_at, 'event' AS kind,
                    e.occurred_at >= coalesce(?::TIMESTAMPTZ, '-infinity'::TIMESTAMPTZ) AS in_window
                FROM marts.customerio_events AS e
                WHERE e.brand_id = ? AND e.available_at > ?))""", [dest, since, floor, brand, since])
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _events_to_send AS
        SELECT r.*, CAST(e.data AS VARCHAR) AS data
        FROM _events_read AS r
        JOIN (SELECT event_key, data FROM marts.customerio_events
              WHERE brand_id = ? AND available_at > ? AND occurred_at >= coalesce(?::TIMESTAMPTZ, '-infinity'::TIMESTAMPTZ)
             ) AS e USING (event_key)
        WHERE r.in_window AND NOT r.queued_before""", [brand, since, floor])
    return since, floor


EVENT_NEAR_LIMITS = (f"{BAD_ID} OR strlen(data) > {EVENT_DATA_MAX_BYTES} OR strlen(item) > {ITEM_MAX_BYTES}"
                     f" OR strlen(event_name) > {ID_MAX_BYTES} OR coalesce(event_name, '') = ''")


def _stage_items(con, brand: int, next_seq: int) -> None:
    """_items: every item of the new segment with its seq (erasures, then identifies, then events), and
    _warnings. Items near a limit are rebuilt by payloads.py; an item it cannot send has a NULL body and no seq.
    Seqs are numbered part by part without sorting: within a segment the order does not matter (a segment's
    batches go out concurrently), and each person has one identify per segment."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _events AS
        SELECT brand_id, person_id, kind, dedup_key, available_at, item, {EVENT_NEAR_LIMITS} AS near_limits
        FROM (SELECT *, {PERSON_JSON} || ',"action":"event","id":"' || dedup_key || '","name":' || to_json(event_name)
                    || ',"timestamp":' || CAST(floor(epoch(occurred_at)) AS BIGINT) || ',"attributes":' || data || '}}' AS item
              FROM _events_to_send
              WHERE person_id NOT IN (SELECT person_id FROM {Q}.erased WHERE brand_id = ?)
                AND person_id NOT IN (SELECT person_id FROM _erasures))""", [brand])
    fixed, warnings = _through_payloads(con)
    con.register("_fixed_arrow", fixed)
    con.register("_warnings_arrow", warnings)
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE _warnings AS SELECT * FROM _warnings_arrow")
        con.execute("""CREATE OR REPLACE TEMP TABLE _items (seq BIGINT, brand_id BIGINT, person_id VARCHAR, kind VARCHAR,
                       dedup_key VARCHAR, item VARCHAR, available_at TIMESTAMPTZ, reason VARCHAR, message VARCHAR)""")
        parts = [
            f"SELECT brand_id, person_id, kind, dedup_key, item, NULL::TIMESTAMPTZ, NULL, NULL FROM _erasures WHERE NOT {BAD_ID}",
            "SELECT brand_id, person_id, kind, dedup_key, item, NULL, NULL, NULL FROM _people WHERE NOT near_limits",
            "SELECT brand_id, person_id, kind, dedup_key, item, available_at, NULL, NULL FROM _events WHERE NOT near_limits",
            "SELECT brand_id, person_id, kind, dedup_key, item, available_at, NULL, NULL FROM _fixed_arrow WHERE item IS NOT NULL",
        ]
        for rows in parts:
            con.execute(f"""INSERT INTO _items SELECT coalesce((SELECT max(seq) FROM _items), {next_seq - 1})
                            + row_number() OVER (), * FROM ({rows})""")
        con.execute("""INSERT INTO _items SELECT NULL, brand_id, person_id, kind, dedup_key, NULL, available_at, reason, message
                       FROM _fixed_arrow WHERE item IS NULL""")
    finally:
        con.unregister("_fixed_arrow")
        con.unregister("_warnings_arrow")


def _through_payloads(con) -> tuple[pa.Table, pa.Table]:
    """The few items near a limit (or with an id Customer.io refuses), made to fit by payloads.py."""
    rows, warnings = [], []
    for brand, person, kind, key, action in con.execute(
            f"SELECT brand_id, person_id, kind, dedup_key, kind FROM _erasures WHERE {BAD_ID}").fetchall():
        rows.append(_fit(brand, person, kind, key, None, lambda: payloads.person_action(person, action)))
    for brand, person, key, diff in con.execute(
            "SELECT brand_id, person_id, dedup_key, diff FROM _people WHERE near_limits").fetchall():
        rows.append(_fit(brand, person, "identify", key, None, lambda: payloads.identify(person, orjson.loads(diff))))
    for brand, person, key, name, occurred_at, available_at, data in con.execute("""
            SELECT r.brand_id, r.person_id, r.dedup_key, r.event_name, r.occurred_at, r.available_at, r.data
            FROM _events AS e JOIN _events_to_send AS r USING (dedup_key) WHERE e.near_limits""").fetchall():
        rows.append(_fit(brand, person, "event", key, available_at,
                         lambda: payloads.event_from_json(person, key, name, occurred_at, data.encode())))
    for row in rows:
        warnings += [{"dedup_key": row["dedup_key"], "field": w.field, "message": w.message} for w in row.pop("warnings")]
    fixed = pa.Table.from_pylist(rows, schema=pa.schema([
        ("brand_id", pa.int64()), ("person_id", pa.string()), ("kind", pa.string()), ("dedup_key", pa.string()),
        ("item", pa.string()), ("available_at", pa.timestamp("us", tz="UTC")), ("reason", pa.string()),
        ("message", pa.string())]))
    return fixed, pa.Table.from_pylist(warnings, schema=pa.schema(
        [("dedup_key", pa.string()), ("field", pa.string()), ("message", pa.string())]))


def _fit(brand, person, kind, key, available_at, build) -> dict:
    row = {"brand_id": brand, "person_id": person, "kind": kind, "dedup_key": key, "available_at": available_at,
           "reason": None, "message": None, "warnings": []}
    try:
        item = build()
    except payloads.Unsendable as bad:
        return {**row, "item": None, "reason": bad.reason, "message": bad.message}
    return {**row, "item": item.body.decode(), "warnings": list(item.warnings)}


def _commit(con, state: SyncState, dest: str, brand: int, next_seq: int, last_seq: int | None, since: datetime,
            floor: datetime | None, overlap: timedelta, now: datetime) -> None:
    """The queue state and the segment together (outbound_queue.py); erasures are handed to delivery first."""
    erased = [p for (p,) in con.execute("SELECT person_id FROM _erasures").fetchall()]
    if erased:
        state.mark_erased(brand, erased)  # idempotent: a rerun after a crash marks them again
    cursor = con.execute("SELECT max(available_at) FROM _events_read").fetchone()[0]
    queue_root = state.queue_root
    tmp = None
    con.execute("BEGIN")
    try:
        con.execute(f"INSERT INTO {Q}.erased SELECT brand_id, person_id, kind, ?, NULL FROM _erasures", [now])
        con.execute(f"DELETE FROM {Q}.people WHERE person_id IN (SELECT person_id FROM _erasures)")
        con.execute(f"""DELETE FROM {Q}.people WHERE destination = ? AND person_id IN (
                            SELECT person_id FROM _items WHERE kind = 'identify')""", [dest])
        # Unsendable identifies too: they are retried when the attributes change, not on every run.
        con.execute(f"""INSERT INTO {Q}.people SELECT ?, p.person_id, p.brand_id, p.digest, p.attributes
                        FROM _people AS p SEMI JOIN _items AS i ON i.dedup_key = p.dedup_key""", [dest])
        con.execute(f"""INSERT INTO {Q}.events SELECT ?, dedup_key, available_at FROM _events_read
                        WHERE in_window AND NOT queued_before""", [dest])
        con.execute(f"DELETE FROM {Q}.events WHERE destination = ? AND available_at <= ?",
                    [dest, since - overlap - timedelta(days=1)])  # older than any re-read will reach
        con.execute(f"""INSERT INTO {Q}.unsendable SELECT ?, brand_id, person_id, kind, dedup_key, reason, message, ?
                        FROM _items WHERE item IS NULL""", [dest, now])
        con.execute(f"INSERT INTO {Q}.limit_warnings SELECT ?, dedup_key, field, message, ? FROM _warnings", [dest, now])
        if cursor is not None:
            con.execute(f"UPDATE {Q}.streams SET events_cursor = greatest(coalesce(events_cursor, ?), ?), events_floor = ? "
                        f"WHERE destination = ?", [cursor, cursor, floor, dest])
        if last_seq is not None:
            con.execute(f"UPDATE {Q}.streams SET next_seq = ? WHERE destination = ?", [last_seq + 1, dest])
            con.execute(f"""INSERT INTO {Q}.segments SELECT ?, ?, ?, count(*), count(*) FILTER (WHERE kind = 'identify'),
                                count(*) FILTER (WHERE kind = 'event'), count(*) FILTER (WHERE kind IN ('suppress', 'delete')), ?
                            FROM _items WHERE item IS NOT NULL""", [dest, next_seq, last_seq, now])
            tmp = outbound_queue.write_segment(con, queue_root, dest, "(SELECT * FROM _items WHERE item IS NOT NULL)",
                                               next_seq, last_seq)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise
    if tmp is not None:
        segments.publish(tmp, next_seq, last_seq)


def scrub_erased(con, state: SyncState, outbox: Outbox, brand: int, now: datetime) -> int:
    """Remove erased people's items from pending segments and outbox bodies (their suppress/delete stays);
    marked done per person only afterwards, so a crash in between is finished by the next run."""
    people = [p for (p,) in con.execute(f"SELECT person_id FROM {Q}.erased WHERE brand_id = ? AND scrubbed_at IS NULL",
                                        [brand]).fetchall()]
    if not people:
        return 0
    state.mark_erased(brand, people)
    for destination in segments.destinations(state.queue_root):
        directory = state.queue_dir(destination)
        with segments.locked(directory):
            for segment in segments.segments(directory):
                segments.without_people(segment, brand, people)
    with state.outbox_locked(brand):
        removed = outbox.scrub(brand, set(people))
    # The queue's record of their unsendable items can quote their data (limit warnings name fields and sizes only).
    con.execute(f"DELETE FROM {Q}.unsendable WHERE brand_id = ? AND person_id IN (SELECT unnest(?))", [brand, people])
    con.execute(f"UPDATE {Q}.erased SET scrubbed_at = ? WHERE brand_id = ? AND person_id IN (SELECT unnest(?))",
                [now, brand, people])
    return removed


def queue_root(activation_dir: Path) -> Path:
    return activation_dir / "queue"
