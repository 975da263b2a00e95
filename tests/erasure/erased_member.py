"""The erasure tests' data, for both engines: member 5 (to be erased) and member 6, an anonymous event stitched to
member 5 by its cookie, a referral between them each way, a quarantined line of member 5, a people export with rows
about member 5 and about others, and the identity and derived tables a build would have, as SELECTs that DuckDB and
Spark SQL both run."""

from __future__ import annotations

from pathlib import Path

from ingestion.sources import ACTION_LOGS, CUSTOMERIO_EXPORTS, ERASURE_REQUESTS, REFERENCE
from ingestion.warehouse import connect
from tests.ingestion.helpers import event, load, write_lines

ERASED_EMAIL = "erased.member@example.org"
COOKIE = "ck_erased_browser_0001"
# Every value of member 5 the landing zone carries: none may stay anywhere after the redaction.
ERASED_VALUES = (ERASED_EMAIL, "Erased.Member@Example.org", COOKIE, "203.0.113.5", "Erin", "Rased", "+13035550105", "ERIN5",
                 "cio_5", "other@example.org", "cio_8")  # the last three: export rows redacted whole
SOURCES = (ACTION_LOGS, REFERENCE["users"], REFERENCE["referrals"], CUSTOMERIO_EXPORTS, ERASURE_REQUESTS)


def write_landing(landing: Path) -> None:
    write_lines(landing / "app/action_logs/dt=2026-11-19/a.ndjson", [
        event("e1", user_id=5, identifiers={"email": ERASED_EMAIL, "cookie_id": COOKIE}, ip_address="203.0.113.5"),
        event("e2", user_id=6, identifiers={"email": "kept@example.org"}),
        event("e3", user_id=..., identifiers={"cookie_id": COOKIE}),  # anonymous, stitched to member 5
        event("e4", user_id=5, action_type="not_an_action", identifiers={"email": ERASED_EMAIL}),  # quarantined
    ])
    write_lines(landing / "app/reference/users/users-20261119T000000Z.ndjson", [
        {"id": 5, "brand_id": 1, "email": ERASED_EMAIL, "first_name": "Erin", "last_name": "Rased",
         "phone_number": "+13035550105", "created_at": "2026-01-01T00:00:00Z"},
        {"id": 6, "brand_id": 1, "email": "kept@example.org", "first_name": "Kim", "last_name": "Kept",
         "created_at": "2026-01-02T00:00:00Z"},
    ])
    write_lines(landing / "app/reference/referrals/referrals-20261119T000000Z.ndjson", [
        {"id": 1, "referrer_user_id": 6, "referee_user_id": 5, "referral_code": "KIM6", "email": ERASED_EMAIL,
         "status": "converted"},
        {"id": 2, "referrer_user_id": 5, "referee_user_id": 6, "referral_code": "ERIN5", "email": "kept@example.org",
         "status": "converted"},
    ])
    # A people export is redacted by user id in any brand and by email: rows about member 5 under their id, about
    # member 8 under member 5's email as written on their profile, and member 9's, untouched.
    write_lines(landing / "customerio/exports/people-20261119T000000Z.ndjson", [
        {"cio_id": "cio_5", "id": "5", "email": "other@example.org", "churn_probability": 0.4},
        {"cio_id": "cio_8", "id": "8", "email": " Erased.Member@Example.org", "churn_probability": 0.6},
        {"cio_id": "cio_9", "id": "9", "email": "nine@example.org", "churn_probability": 0.2},
    ])
    write_lines(landing / "app/erasure_requests/r.ndjson", [
        {"brand_id": 1, "user_id": 5, "requested_at": "2026-11-20T08:00:00Z"}])


# name -> SELECT, created in this order once the landing zone is loaded.
BUILT_TABLES = {
    "identity.identifier_profiles": f"""SELECT * FROM (VALUES
        (1, 'user_id', '5', 'prof_erased', true), (1, 'email', '{ERASED_EMAIL}', 'prof_erased', true),
        (1, 'cookie_id', '{COOKIE}', 'prof_erased', true),
        (1, 'user_id', '6', 'prof_kept', true), (1, 'email', 'kept@example.org', 'prof_kept', true))
        AS t(brand_id, id_type, value, profile_id, links_profiles)""",
    "identity.record_profiles": """SELECT * FROM (VALUES
        ('action_log', 1, 'e1', 'prof_erased'), ('action_log', 1, 'e3', 'prof_erased'), ('app_user', 1, '5', 'prof_erased'),
        ('action_log', 1, 'e2', 'prof_kept'), ('app_user', 1, '6', 'prof_kept')) AS t(source, brand_id, record_id, profile_id)""",
    "identity.rejected_links": """SELECT * FROM (VALUES
        ('action_log', 1, 'e2', 'cookie_id', 'x', 'prof_kept', 'limit_cookie_id'),
        ('action_log', 1, 'e1', 'cookie_id', 'y', 'prof_kept', 'limit_cookie_id'))
        AS t(source, brand_id, record_id, id_type, value, kept_in_profile_id, reason)""",
    "identity.merge_review": """SELECT source, brand_id, record_id, split(matched, ',') AS matched_profile_ids FROM (VALUES
        ('action_log', 1, 'e2', 'prof_kept,prof_other'), ('app_user', 1, '6', 'prof_other,prof_erased'))
        AS t(source, brand_id, record_id, matched)""",
    # Derived incrementally from the raw rows: the erased events' rows go.
    "staging.stg_app__action_logs": "SELECT brand_id, event_id, user_id FROM raw.app_action_logs",
    "intermediate.int_identity__event_observations": """SELECT * FROM (VALUES
        ('action_log', 1, 'e1', 'email', 'Erased.Member@Example.org'), ('action_log', 1, 'e2', 'email', 'kept@example.org'))
        AS t(source, brand_id, record_id, id_type, raw_value)""",
    "intermediate.int_identity__event_links": f"""SELECT * FROM (VALUES
        ('action_log', 1, 'e1', 'email', '{ERASED_EMAIL}'), ('action_log', 1, 'e3', 'cookie_id', '{COOKIE}'),
        ('action_log', 1, 'e2', 'email', 'kept@example.org')) AS t(source, brand_id, record_id, id_type, value)""",
    "intermediate.int_identity__record_links": f"""SELECT * FROM (VALUES
        ('app_user', 1, '5', 'email', '{ERASED_EMAIL}'), ('app_user', 1, '6', 'email', 'kept@example.org'))
        AS t(source, brand_id, record_id, id_type, value)""",
    # Kept per profile across builds (macros/prediction_history.sql): the erased profile, member 5 under an earlier
    # build's profile, member 5's id in another brand and member 8 (both in redacted export rows) go; 6 and 9 stay.
    "marts.prediction_history": """SELECT * FROM (VALUES
        ('prof_erased', 1, 5), ('prof_before', 1, 5), ('prof_kept', 1, 6), ('prof_same_id', 2, 5),
        ('prof_same_email', 2, 8), ('prof_untouched', 2, 9)) AS t(profile_id, brand_id, user_id)""",
}


def duckdb_warehouse(root: Path, landing: Path | None = None) -> Path:
    """The data loaded into a DuckDB warehouse under `root`, not redacted yet: from `landing`, or from a landing zone
    written beside it (the ledger records when each file arrived: warehouses compared with each other load one)."""
    if landing is None:
        landing = root / "landing"
        write_landing(landing)
    path = root / "warehouse.duckdb"
    for source in SOURCES:
        load(path, landing, source)
    con = connect(path)
    for name, sql in BUILT_TABLES.items():
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {name.split('.')[0]}")
        con.execute(f"CREATE TABLE {name} AS {sql}")
    con.close()
    return path
