"""A warehouse holding only the stitching input, written by hand for identity scenarios."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

RULES = {  # id_type: (priority, max_per_profile, links_profiles)
    "user_id": (1, 1, True), "email": (2, 5, True), "phone": (3, 5, True), "whatsapp": (4, 5, True),
    "loyalty_id": (5, 5, True), "device_id": (6, 5, True), "qr_id": (7, 5, True), "cookie_id": (8, 5, True),
    "card_last4": (9, 5, False),
}


def observation(record_id: str, at: str, id_type: str, value: str, brand_id: int = 1, source: str = "action_log") -> tuple:
    return (source, brand_id, record_id, at, id_type, value)


def add_observations(path: Path, rows: list[tuple], *, relink: bool = False) -> None:
    """Append observations and rebuild the identifier and link tables the way dbt shapes them: the events' links
    appended as one batch (a landing file, linked by one invocation), the extracts' rebuilt, the links a view of both.
    `relink` links every event again, as new rules or a full refresh do (the only way an event's links change)."""
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema if not exists intermediate")
        con.execute("""create table if not exists intermediate.int_identity__observations (
            source varchar, brand_id bigint, record_id varchar, observed_at timestamptz, id_type varchar,
            raw_value varchar, value varchar, invalid_reason varchar, source_file_id varchar)""")
        batch = con.execute("select coalesce(max(cast(substr(source_file_id, 6) as integer)), 0) + 1 "
                            "from intermediate.int_identity__observations").fetchall()[0][0]
        new = pa.table(dict(zip(["source", "brand_id", "record_id", "observed_at", "id_type", "value"], map(list, zip(*rows)))))
        con.register("new_rows", new)
        con.execute("""insert into intermediate.int_identity__observations
            select source, brand_id, record_id, cast(observed_at as timestamptz), id_type, value, value, null, ?
            from new_rows""", [f"file_{batch}"])
        con.unregister("new_rows")
        rules = ", ".join(f"('{t}', {p}, {m}, {str(k).lower()})" for t, (p, m, k) in RULES.items())
        con.execute(f"""
            create or replace table intermediate.int_identity__identifiers as
            select brand_id, id_type, value, min(observed_at) as first_seen_at, max(observed_at) as last_seen_at,
                count(*) as observations, count(distinct record_id) as records, list(distinct source) as sources,
                null::varchar as blocked_reason, any_value(r.priority) as priority,
                any_value(r.max_per_profile) as max_per_profile, any_value(r.links_profiles) as links_profiles
            from intermediate.int_identity__observations
            join (values {rules}) as r(id_type, priority, max_per_profile, links_profiles) using (id_type)
            group by brand_id, id_type, value""")
        links = """select o.source, o.brand_id, o.record_id, o.observed_at, o.id_type, o.value, i.priority, i.max_per_profile,
                o.source_file_id, '{linked_by}' as linked_by
            from intermediate.int_identity__observations as o
            join intermediate.int_identity__identifiers as i using (brand_id, id_type, value)
            where i.links_profiles and o.source {events} 'action_log'"""
        linked_by = f"invocation_{batch}"  # each call is an invocation of its own
        con.execute(f"create or replace table intermediate.int_identity__record_links as "
                    f"{links.format(linked_by=linked_by, events='<>')}")
        con.execute(f"create table if not exists intermediate.int_identity__event_links as "
                    f"{links.format(linked_by=linked_by, events='=')} and false")
        if relink:
            con.execute("delete from intermediate.int_identity__event_links")
        con.execute(f"""insert into intermediate.int_identity__event_links {links.format(linked_by=linked_by, events='=')}
            and o.source_file_id not in (select source_file_id from intermediate.int_identity__event_links)""")
        columns = "source, brand_id, record_id, observed_at, id_type, value, priority, max_per_profile"
        con.execute(f"""create or replace view intermediate.int_identity__links as
            select {columns} from intermediate.int_identity__event_links
            union all select {columns} from intermediate.int_identity__record_links""")
    finally:
        con.close()


def profile_ids(path: Path) -> dict[tuple[str, str], str]:
    """(id_type, value) -> profile_id for linking identifiers."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {(t, v): p for t, v, p in con.execute(
            "select id_type, value, profile_id from identity.identifier_profiles where links_profiles").fetchall()}
    finally:
        con.close()
