"""Erasure in the warehouse: every row of an erased member is redacted where the pipeline keeps it.

Runs after identity resolution, so it knows everything the member is: their app user row, their own
events, the anonymous events and Customer.io records stitched to their profile. In one transaction:

- raw rows (`raw.*`) keep their key and lineage and lose every other value; `_erased_at` marks them and
  staging leaves them out. Keeping the key and the row hash keeps the ingestion guarantees: reconciliation
  still counts every row of every file, and the same event re-sent later is a duplicate, not a new row.
  Referrals are two members' record: only the erased side (their user id, code or invited email) goes.
- tables derived incrementally from raw rows (`staging.stg_app__action_logs`,
  `staging.stg_customerio__prediction_webhooks`, `intermediate.int_identity__event_observations`, the parsed
  phones of `int_identity__phone_numbers`, the event tables that follow identity resolution:
  `int_identity__profile_events`, `marts.profile_journey`, `int_achievements__qualifying_events`)
  lose those rows, the aggregates kept per profile (`marts.profile_channel_stats`,
  `intermediate.int_kpis__member_days`, `intermediate.int_features__engagement_by_profile`) those of the profiles
  that held them, the prediction history kept per profile (`marts.prediction_history`) the erased members' and
  those of any member whose people export rows this run redacts (computed again by the next build), as do
  the identity tables and intermediate identity tables of this build; later builds derive nothing from redacted rows.
- the text of quarantined rows that carry the member's user id or one of their identifiers is removed
  (reason, file and position stay).

`identity.erasures` lists the erased members with the profile they had in this build; the marts leave
those profiles out. A member's later data (an app that still sends their events) is redacted by the next
build, the request stands. Idempotent: a rerun finds the same rows redacted and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb

# Raw table -> (columns kept besides the lineage ones, which rows are the erased members').
# `m` is the raw row; _erased_members (brand_id, user_id) and _erased_records (source, brand_id,
# record_id) are this build's erased members and the records identity resolution gave their profiles.
ERASED_USER = "EXISTS (SELECT 1 FROM _erased_members AS x WHERE x.user_id = {user_id}{brand})"
EXPORTS = "raw.customerio_exports"
RAW_ROWS: dict[str, tuple[tuple[str, ...], str]] = {
    "raw.app_action_logs": (("event_id", "brand_id"), ERASED_USER.format(user_id="m.user_id", brand=" AND x.brand_id = m.brand_id")
                            + " OR EXISTS (SELECT 1 FROM _erased_records AS r WHERE r.source = 'action_log'"
                              " AND r.brand_id = m.brand_id AND r.record_id = m.event_id)"),
    "raw.app_users": (("id", "brand_id"), ERASED_USER.format(user_id="m.id", brand=" AND x.brand_id = m.brand_id")),
    "raw.app_wishlists": (("id",), ERASED_USER.format(user_id="m.user_id", brand="")),
    "raw.app_user_custom_field_values": (("id",), ERASED_USER.format(user_id="m.user_id", brand="")),
    EXPORTS: (("_extracted_at",), ERASED_USER.format(user_id="try_cast(m.id AS BIGINT)", brand="")
              + " OR lower(trim(m.email)) IN (SELECT value FROM _erased_identifiers WHERE id_type = 'email')"),
    "raw.customerio_webhooks": (("webhook_id", "received_at", "kind"), ERASED_USER.format(
        user_id="try_cast(coalesce(json_extract_string(m.body, '$.user_id'), "
                "json_extract_string(m.body, '$.data.identifiers.id')) AS BIGINT)", brand="")
        + " OR EXISTS (SELECT 1 FROM _erased_records AS r WHERE r.source = 'customerio_webhook' AND r.record_id = m.webhook_id)"),
}
# A key column that is itself an identifier is replaced by a digest: unique as before, no longer readable.
DIGESTED_KEYS = {EXPORTS: "person_key"}
LINEAGE = ("_file_id", "_position", "_partition", "_extracted_at", "_row_hash", "_loaded_at", "_erased_at")

# Tables derived from raw rows before this step ran (or incrementally, so never rebuilt): the rows of erased
# records go. `_erased_events` holds every redacted action-log row, this build's and earlier builds'.
# An erased event's record, in an identity table (`d`): also when it sits in a profile that is not erased (the member's
# user id blocked or weak under a brand's rules), so its identity rows go with its links and identity resolution,
# which hashes only the events it has not resolved, finds the record gone (identity/resolution_scope.py).
ERASED_EVENT_RECORD = ("(d.source = 'action_log' AND EXISTS (SELECT 1 FROM _erased_events AS e"
                       " WHERE e.brand_id = d.brand_id AND e.event_id = d.record_id))")
ERASED_RECORD = "EXISTS (SELECT 1 FROM _erased_records AS r WHERE r.source = d.source AND r.brand_id = d.brand_id AND r.record_id = d.record_id)"
# Aggregates kept per profile across builds (macros/profile_aggregates.sql).
PROFILE_AGGREGATES = ("marts.profile_channel_stats", "intermediate.int_kpis__member_days",
                      "intermediate.int_features__engagement_by_profile")
DERIVED_ROWS = {
    "staging.stg_app__action_logs":
        "EXISTS (SELECT 1 FROM _erased_events AS e WHERE e.brand_id = d.brand_id AND e.event_id = d.event_id)",
    "intermediate.int_identity__event_observations":
        "EXISTS (SELECT 1 FROM _erased_events AS e WHERE e.brand_id = d.brand_id AND e.event_id = d.record_id)",
    # The raw webhooks' rule (RAW_ROWS), on the payloads staging parsed: the member's user id, or a record of theirs.
    "staging.stg_customerio__prediction_webhooks": ERASED_USER.format(user_id="d.user_id", brand="")
        + " OR EXISTS (SELECT 1 FROM _erased_records AS r WHERE r.source = 'customerio_webhook' AND r.record_id = d.webhook_id)",
    # Aggregates kept per profile across builds (macros/profile_aggregates.sql): the erased profiles' rows go, and
    # those of a profile that held an erased event, which the next build computes again. Before the events go.
    **{table: "d.profile_id IN (SELECT profile_id FROM _erased_profiles) OR d.profile_id IN ("
              "SELECT p.profile_id FROM intermediate.int_identity__profile_events AS p"
              " JOIN _erased_events AS e ON e.brand_id = p.brand_id AND e.event_id = p.event_id)"
       for table in PROFILE_AGGREGATES},
    "intermediate.int_identity__profile_events":
        "EXISTS (SELECT 1 FROM _erased_events AS e WHERE e.brand_id = d.brand_id AND e.event_id = d.event_id)",
    # Kept across builds: the erased profiles' timelines go, and an erased event inside a timeline that remains
    # leaves a hole in its steps, which the next build renumbers (macros/profile_timelines.sql).
    "marts.profile_journey":
        "d.profile_id IN (SELECT profile_id FROM _erased_profiles)"
        " OR EXISTS (SELECT 1 FROM _erased_events AS e WHERE e.brand_id = d.brand_id AND e.event_id = d.event_id)",
    # Kept across builds, per event and member: the erased profiles' rows and the erased events' go.
    "intermediate.int_achievements__qualifying_events":
        "d.profile_id IN (SELECT profile_id FROM _erased_profiles)"
        " OR EXISTS (SELECT 1 FROM _erased_events AS e WHERE e.brand_id = d.brand_id AND e.event_id = d.event_id)",
    # Kept per profile across builds (macros/prediction_history.sql): the erased members' predictions go, and those of
    # a member whose people export rows this run redacts (the same user id in another brand, the erased email), which
    # the next build computes again without them.
    "marts.prediction_history": "d.profile_id IN (SELECT profile_id FROM _erased_profiles) OR "
                                + ERASED_USER.format(user_id="d.user_id", brand=" AND x.brand_id = d.brand_id")
                                + " OR d.user_id IN (SELECT user_id FROM _erased_export_users)",
    "intermediate.int_identity__record_observations":
        "EXISTS (SELECT 1 FROM _erased_records AS r WHERE r.source = d.source AND r.brand_id = d.brand_id AND r.record_id = d.record_id)",
    "intermediate.int_identity__event_links":
        "EXISTS (SELECT 1 FROM _erased_events AS e WHERE e.brand_id = d.brand_id AND e.event_id = d.record_id)",
    "intermediate.int_identity__record_links":
        "EXISTS (SELECT 1 FROM _erased_records AS r WHERE r.source = d.source AND r.brand_id = d.brand_id AND r.record_id = d.record_id)",
    # Phones parsed once and kept for the next extracts (a cache: a number deleted here is parsed again if seen).
    "intermediate.int_identity__phone_numbers":
        "d.raw_value IN (SELECT text FROM _erased_text)"
        " OR EXISTS (SELECT 1 FROM _erased_identifiers AS i WHERE i.id_type IN ('phone', 'whatsapp') AND i.value = d.e164)",
    "intermediate.int_identity__identifiers":
        "EXISTS (SELECT 1 FROM _erased_identifiers AS i WHERE i.brand_id = d.brand_id AND i.id_type = d.id_type AND i.value = d.value)",
    "identity.identifier_profiles": "d.profile_id IN (SELECT profile_id FROM _erased_profiles)",
    "identity.record_profiles": f"d.profile_id IN (SELECT profile_id FROM _erased_profiles) OR {ERASED_EVENT_RECORD}",
    # Only the erased records' changes go. A record that survives keeps every change, those into or out of an erased
    # profile too (a profile id, like the one identity.erasures keeps, is no identifier): the models that follow the
    # log need each change's previous profile to cut the timeline the record left.
    "identity.record_profile_changes": f"{ERASED_RECORD} OR {ERASED_EVENT_RECORD}",
    # Its link hashes derive from the member's identifiers; the component's record count then no longer matches,
    # so the next resolution stitches the rest of the component again (identity/resolution_scope.py).
    "identity.resolution_records": f"{ERASED_RECORD} OR {ERASED_EVENT_RECORD}",
    "identity.profile_merges":
        "d.profile_id IN (SELECT profile_id FROM _erased_profiles) OR d.merged_profile_id IN (SELECT profile_id FROM _erased_profiles)",
    "identity.merge_review":
        "list_has_any(d.matched_profile_ids, (SELECT coalesce(list(profile_id), []) FROM _erased_profiles))"
        f" OR {ERASED_RECORD} OR {ERASED_EVENT_RECORD}",
    "identity.rejected_links":
        f"d.kept_in_profile_id IN (SELECT profile_id FROM _erased_profiles) OR {ERASED_RECORD} OR {ERASED_EVENT_RECORD}"
        " OR EXISTS (SELECT 1 FROM _erased_identifiers AS i WHERE i.brand_id = d.brand_id AND i.id_type = d.id_type AND i.value = d.value)",
}
# Identifier text searched for in quarantined rows: long enough not to match unrelated text by chance.
MIN_SEARCHED_LENGTH = 6
# A referral stays the other member's: the erased side (whose user id is the key) loses these columns.
REFERRAL_SIDES = {"referrer_user_id": ("referrer_user_id", "referral_code"),
                  "referee_user_id": ("referee_user_id", "email")}
# A quarantined row (`q`) that carries an erased member's user id or one of their identifiers.
QUARANTINED_OF_ERASED = (
    "q.raw IS NOT NULL AND (try_cast(CASE WHEN json_valid(q.raw) THEN coalesce(json_extract_string(q.raw, '$.user_id'), "
    "CASE WHEN q.source = 'app_users' THEN json_extract_string(q.raw, '$.id') END) END AS BIGINT) "
    "IN (SELECT user_id FROM _erased_members) OR EXISTS (SELECT 1 FROM _erased_text AS t WHERE contains(q.raw, t.text)))")

# The sets naming what is erased, as SELECTs both engines run (erasure/spark_redact.py on Spark).
ERASED_MEMBERS = """
    SELECT r.brand_id, r.user_id, max(r.requested_at) AS requested_at, {profile_id} AS profile_id
    FROM raw.app_erasure_requests AS r
    {join}
    GROUP BY r.brand_id, r.user_id"""
PROFILE_OF_USER = """LEFT JOIN identity.identifier_profiles AS p
        ON p.brand_id = r.brand_id AND p.id_type = 'user_id' AND p.value = CAST(r.user_id AS STRING)"""
IDENTITY_TABLES = {"identity.identifier_profiles", "identity.record_profiles"}
OBSERVATIONS = ("intermediate.int_identity__record_observations", "intermediate.int_identity__event_observations")
# Every action-log row redacted (`{erased}`: which rows are, on the raw table `m`).
ERASED_EVENTS = "SELECT brand_id, event_id FROM raw.app_action_logs AS m WHERE {erased}"
NO_ERASED_EVENTS = "SELECT CAST(NULL AS BIGINT) AS brand_id, CAST(NULL AS STRING) AS event_id LIMIT 0"


def erased_members_sql(tables: set[str]) -> str:
    """The erased members with the profile this build resolved for them (none before identity resolution)."""
    resolved = IDENTITY_TABLES <= tables
    return ERASED_MEMBERS.format(profile_id="any_value(p.profile_id)" if resolved else "CAST(NULL AS STRING)",
                                 join=PROFILE_OF_USER if resolved else "")


def erased_sets(tables: set[str]) -> dict[str, str]:
    """name -> SELECT, in order (each may read the ones before): erased members, their profiles, the records and
    identifiers of those profiles, the members whose people export rows are redacted, and the identifier text searched
    for in quarantined rows (as normalized and as written on their records)."""
    resolved = IDENTITY_TABLES <= tables
    observed = [f"SELECT o.raw_value FROM {t} AS o JOIN _erased_records AS r USING (source, brand_id, record_id)"
                for t in OBSERVATIONS if t in tables]
    return {
        "_erased_members": erased_members_sql(tables),
        "_erased_profiles": "SELECT DISTINCT profile_id FROM _erased_members WHERE profile_id IS NOT NULL",
        "_erased_records": """SELECT source, brand_id, record_id FROM identity.record_profiles
            WHERE profile_id IN (SELECT profile_id FROM _erased_profiles)""" if resolved else
            "SELECT CAST(NULL AS STRING) AS source, CAST(NULL AS BIGINT) AS brand_id, CAST(NULL AS STRING) AS record_id LIMIT 0",
        "_erased_identifiers": """SELECT brand_id, id_type, value FROM identity.identifier_profiles
            WHERE links_profiles AND profile_id IN (SELECT profile_id FROM _erased_profiles)""" if resolved else
            "SELECT CAST(NULL AS BIGINT) AS brand_id, CAST(NULL AS STRING) AS id_type, CAST(NULL AS STRING) AS value LIMIT 0",
        # Read before the raw rows are redacted: the members whose people export rows this run redacts.
        "_erased_export_users": f"""SELECT DISTINCT try_cast(m.id AS BIGINT) AS user_id FROM {EXPORTS} AS m
            WHERE m._erased_at IS NULL AND ({RAW_ROWS[EXPORTS][1]})""" if EXPORTS in tables else
            "SELECT CAST(NULL AS BIGINT) AS user_id LIMIT 0",
        "_erased_text": f"""SELECT DISTINCT text FROM (
            SELECT value AS text FROM _erased_identifiers WHERE id_type NOT IN ('user_id', 'card_last4')
            {"".join(f" UNION ALL {sql}" for sql in observed)}
        ) AS searched WHERE length(text) >= {MIN_SEARCHED_LENGTH}""",
    }


@dataclass
class RedactionSummary:
    erased_members: int = 0
    erased_profiles: int = 0
    raw_rows_redacted: dict[str, int] = field(default_factory=dict)
    referral_sides_redacted: int = 0
    derived_rows_deleted: dict[str, int] = field(default_factory=dict)
    quarantined_rows_redacted: int = 0

    @property
    def rows_redacted(self) -> int:
        return sum(self.raw_rows_redacted.values()) + self.referral_sides_redacted + self.quarantined_rows_redacted


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {f"{s}.{t}" for s, t in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database()").fetchall()}


def _changed(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> int:
    return con.execute(sql, params or []).fetchall()[0][0]


def _who(con: duckdb.DuckDBPyConnection, tables: set[str]) -> None:
    """The temp tables naming what is erased (erased_sets)."""
    for name, sql in erased_sets(tables).items():
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")


def _redact_raw(con: duckdb.DuckDBPyConnection, table: str, kept: tuple[str, ...], erased: str, now: datetime) -> int:
    """The erased members' raw rows are deleted and appended again redacted. An UPDATE in place would be the same
    rows, but DuckDB rewrites every column segment an update touches when it checkpoints: a few hundred members'
    events, scattered over a 13M-row table, made the build's commit rewrite most of the table (17 s at 1M). A
    delete only marks rows, and the redacted copies are one small appended row group."""
    columns = con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name || '.' || table_name = ? ORDER BY column_index", [table]).fetchall()

    def redacted(column: str, data_type: str) -> str:
        if column == "_erased_at":
            return "CAST(? AS TIMESTAMPTZ)"
        if column == DIGESTED_KEYS.get(table):
            return f"""'erased:' || md5("{column}")"""
        return f'"{column}"' if column in kept or column in LINEAGE else f"CAST(NULL AS {data_type})"

    con.execute(f"""CREATE OR REPLACE TEMP TABLE _redacted AS SELECT m.rowid AS _redacted_row, {', '.join(redacted(*c) for c in columns)}
        FROM {table} AS m WHERE m._erased_at IS NULL AND ({erased})""", [now])
    count = _changed(con, f"DELETE FROM {table} WHERE rowid IN (SELECT _redacted_row FROM _redacted)")
    con.execute(f"INSERT INTO {table} SELECT * EXCLUDE (_redacted_row) FROM _redacted")
    con.execute("DROP TABLE _redacted")
    return count


def _redact_referrals(con: duckdb.DuckDBPyConnection) -> int:
    """A referral stays the other member's: only the erased side's columns go (REFERRAL_SIDES)."""
    return sum(_changed(con, f"""UPDATE raw.app_referrals AS m SET {', '.join(f'{c} = NULL' for c in cleared)}
        WHERE m.{side} IN (SELECT user_id FROM _erased_members)""") for side, cleared in REFERRAL_SIDES.items())


def _redact_quarantine(con: duckdb.DuckDBPyConnection) -> int:
    return _changed(con, f"UPDATE audit.quarantine AS q SET raw = NULL, detail = NULL WHERE {QUARANTINED_OF_ERASED}")


def redact_erased(con: duckdb.DuckDBPyConnection, now: datetime | None = None) -> RedactionSummary:
    """Redact every erased member everywhere in the warehouse, in one transaction (see the module's doc)."""
    now = now or datetime.now(UTC)
    summary = RedactionSummary()
    tables = _tables(con)
    if "raw.app_erasure_requests" not in tables:
        return summary
    con.execute("BEGIN TRANSACTION")
    try:
        _who(con, tables)
        for table, (kept, erased) in RAW_ROWS.items():
            if table in tables:
                summary.raw_rows_redacted[table] = _redact_raw(con, table, kept, erased, now)
        if "raw.app_referrals" in tables:
            summary.referral_sides_redacted = _redact_referrals(con)
        events = (ERASED_EVENTS.format(erased="m._erased_at IS NOT NULL") if "raw.app_action_logs" in tables
                  else NO_ERASED_EVENTS)
        con.execute(f"CREATE OR REPLACE TEMP TABLE _erased_events AS {events}")
        for table, erased in DERIVED_ROWS.items():
            if table in tables:
                summary.derived_rows_deleted[table] = _changed(con, f"DELETE FROM {table} AS d WHERE {erased}")
        summary.quarantined_rows_redacted = _redact_quarantine(con)
        changed = summary.rows_redacted + sum(summary.derived_rows_deleted.values())
        con.execute("""CREATE TABLE IF NOT EXISTS audit.erasure_redactions (
            redacted_at TIMESTAMPTZ NOT NULL, rows_changed BIGINT NOT NULL, compacted_at TIMESTAMPTZ)""")
        if changed:  # the freed blocks still hold the old bytes until the file is compacted (erasure/compact.py)
            con.execute("INSERT INTO audit.erasure_redactions VALUES (?, ?, NULL)", [now, changed])
        con.execute("CREATE SCHEMA IF NOT EXISTS identity")
        con.execute("""CREATE OR REPLACE TABLE identity.erasures AS
            SELECT brand_id, user_id, requested_at, profile_id FROM _erased_members ORDER BY brand_id, user_id""")
        summary.erased_members, summary.erased_profiles = con.execute(
            "SELECT count(*), count(DISTINCT profile_id) FROM _erased_members").fetchall()[0]
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return summary
