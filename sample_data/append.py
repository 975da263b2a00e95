"""One more day of data for a generated landing zone, as the next day's files would bring it.

`python -m sample_data --out DIR --append-days 1` redraws the members of the original seed, then
writes for each appended day: the day's events of every member still active (about 1/days of the
original events), a few new members who sign up on that day (some with the cookie an anonymous
visitor browsed with, so identity merges that visitor's old events into the new member), existing members
who log in on a browser they once used anonymously (a merge of two existing profiles), a share of
events that arrive late in the folder of an earlier day, a new users extract with the day's points
and the new members, and a few erasure requests. When a build published card documents, the day's card
feedback is about those cards (sample_data/card_feedback.py) and their true rates go to the ground truth.
Event ids continue the original sequence, so they never collide with an event already written. Same data
directory and builds, same days: same bytes.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import polars as pl

from ingestion.paths import DataPaths
from sample_data import card_feedback, people
from sample_data.generator import DAY, Generator, Population, Scale, ndjson_bytes, rank_key, user_rows, write_atomic

NEW_MEMBERS_PER_DAY = 0.001  # share of the original members who sign up each appended day
ANONYMOUS_SIGNUPS = 0.3  # share of new members who browsed before with a cookie already in the data
ANONYMOUS_LOGINS = 0.005  # share of anonymous visitors who turn out to be an existing member, logging in
LATE_SHARE = 0.005  # share of a day's events that arrive in the folder of one to three days before
ERASURES_PER_DAY = 0.0001  # share of members asking to be erased each appended day
FIRST_APPENDED_PART = 1000  # action-log file names of appended day k: events-<1000 + k>.ndjson.gz


def _scale(saved: dict[str, str]) -> Scale:
    kinds = {"brands": int, "members": int, "days": int, "events_per_member": float, "seed": int,
             "as_of": date.fromisoformat, "action_log_format": str, "malformed_rate": float, "resend_rate": float,
             "chunk_members": int}
    return Scale(**{name: kinds[name](value) for name, value in saved.items() if name in kinds})


def new_members(gen: Generator, world: Population, day: int, first_user_id: int) -> pl.DataFrame:
    """The members who sign up on appended day `day` (deterministic per day)."""
    rng = np.random.default_rng([gen.s.seed, FIRST_APPENDED_PART + day, 1])
    start = gen.as_of + day * DAY
    n = max(1, round(gen.s.members * NEW_MEMBERS_PER_DAY))
    joined = people.make_members(rng, n, world.brands, start, start + DAY)
    created = start + rng.integers(0, DAY - 3600, n)
    user_id = np.arange(first_user_id, first_user_id + n)
    return joined.with_columns(
        user_id=pl.Series(user_id), created_at=pl.Series(created), active_start=pl.Series(created),
        active_end=pl.lit(start + DAY), referred_by=pl.lit(0),
        email=pl.format("{}.{}{}@example.org", "first_name", pl.col("last_name").str.replace_all(" ", ""), pl.Series(user_id)),
        loyalty_id=pl.format("LY{}", pl.Series(2_000_000_000 + user_id)),
        qr_id=pl.when(pl.col("qr_id").is_not_null()).then(pl.format("QR9{}", pl.Series(user_id).cast(pl.String).str.zfill(8))),
    )


def _devices(gen: Generator, world: Population, joined: pl.DataFrame, day: int) -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    """New members' devices and cookies; some take over an anonymous visitor's cookie (a later merge)."""
    rng = np.random.default_rng([gen.s.seed, FIRST_APPENDED_PART + day, 2])
    devices = people.expand_devices(rng, joined, "device_count", "dev_")
    cookies = people.expand_devices(rng, joined, "cookie_count", "ck_")
    anonymous = world.anonymous
    pick = rng.integers(0, anonymous.height, joined.height)
    takes_over = (rng.random(joined.height) < ANONYMOUS_SIGNUPS) & (
        anonymous["brand_id"].to_numpy()[pick] == joined["brand_id"].to_numpy())
    _, first = np.unique(pick, return_index=True)  # one visitor, one new member
    takes_over &= np.isin(np.arange(joined.height), first)
    takeover = dict(zip(joined["user_id"].to_numpy()[takes_over].tolist(), pick[takes_over].tolist()))
    anon_cookie = anonymous["cookie_id"].to_numpy()
    cookies = cookies.with_columns(value=pl.when(pl.col("slot") == 0).then(
        pl.col("user_id").replace_strict({u: anon_cookie[i] for u, i in takeover.items()}, default=None,
                                         return_dtype=pl.String)).otherwise(None).fill_null(pl.col("value")))
    return devices, cookies, takeover


def _anonymous_logins(world: Population, active: pl.DataFrame, events: pl.DataFrame, rng: np.random.Generator,
                      start: int) -> tuple[pl.DataFrame, int]:
    """Existing members who log in on the browser they once used anonymously: a session carrying both their
    user id and the visitor's cookie, which merges the visitor's profile (and its old events) into theirs."""
    anonymous = world.anonymous
    visitors = np.flatnonzero(rng.random(anonymous.height) < ANONYMOUS_LOGINS)
    visitors = visitors if len(visitors) else np.array([0])
    rows = []
    for i in visitors:
        brand = anonymous["brand_id"][int(i)]
        candidates = active.filter(pl.col("brand_id") == brand)
        if candidates.height == 0:
            continue
        member = candidates.row(int(rng.integers(0, candidates.height)), named=True)
        rows.append({"t": start + int(rng.integers(0, DAY)), "brand_id": brand, "member": member["user_id"] - 1,
                     "user_id": member["user_id"], "action_type": "user_session_started", "channel": "web",
                     "id_cookie_id": anonymous["cookie_id"][int(i)], "anonymous": False})
    if not rows:
        return events, 0
    first = int(events["seq"].max()) + 1 if events.height else 0
    logins = pl.DataFrame(rows).with_columns(seq=pl.int_range(first, first + len(rows), dtype=events["seq"].dtype))
    return pl.concat([events, logins], how="diagonal_relaxed"), len(rows)


def _users_extract(gen: Generator, landing: Path, joined: pl.DataFrame, events: pl.DataFrame, end: int) -> None:
    """The next full users extract: everyone's points after the day, and the new members."""
    previous = pl.read_ndjson(sorted((landing / "app" / "reference" / "users").glob("users-*.ndjson"))[-1])
    points = events.filter(pl.col("user_id").is_not_null()).group_by("user_id").agg(
        pl.col("points_awarded").filter(pl.col("points_awarded") > 0).sum().alias("earned"),
        (-pl.col("points_awarded").filter(pl.col("points_awarded") < 0)).sum().alias("spent"))
    kept = previous.join(points.rename({"user_id": "id"}), on="id", how="left").with_columns(
        lifetime_points=pl.col("lifetime_points") + pl.col("earned").fill_null(0),
        points_balance=(pl.col("points_balance") + pl.col("earned").fill_null(0) * 0.4 - pl.col("spent").fill_null(0))
        .clip(0).cast(pl.Int64),
        updated_at=pl.lit(datetime.fromtimestamp(end - 3600, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")))
    kept = kept.with_columns(current_rank_key=rank_key(pl.col("lifetime_points")))
    joined = joined.join(points, on="user_id", how="left").with_columns(
        lifetime_points=pl.col("earned").fill_null(0).cast(pl.Int64),
        points_balance=(pl.col("earned").fill_null(0) * 0.4 - pl.col("spent").fill_null(0)).clip(0).cast(pl.Int64))
    fresh = user_rows(joined, end - 3600)
    users = pl.concat([kept.select(fresh.columns), fresh], how="vertical_relaxed")
    gen.write_reference("users", users, datetime.fromtimestamp(end, UTC).strftime("%Y%m%dT%H%M%SZ"))


def _erasures(gen: Generator, members: pl.DataFrame, day: int, end: int) -> int:
    rng = np.random.default_rng([gen.s.seed, FIRST_APPENDED_PART + day, 3])
    chosen = members.filter(pl.Series(rng.random(members.height) < ERASURES_PER_DAY))
    if chosen.height == 0:
        chosen = members.sample(1, seed=day)
    stamp = datetime.fromtimestamp(end, UTC).strftime("%Y%m%dT%H%M%SZ")
    rows = [{"brand_id": b, "user_id": u, "requested_at": datetime.fromtimestamp(end - int(rng.integers(60, DAY)), UTC)
             .strftime("%Y-%m-%dT%H:%M:%SZ")} for b, u in zip(chosen["brand_id"], chosen["user_id"])]
    write_atomic(gen.landing / "app" / "erasure_requests" / f"erasure-{stamp}.ndjson", ndjson_bytes(rows))
    return len(rows)


def append_day(root: Path, gen: Generator, world: Population, summary: dict, day: int,
               earlier: list[pl.DataFrame], visit_share: float) -> tuple[pl.DataFrame, dict]:
    start, end = gen.as_of + day * DAY, gen.as_of + (day + 1) * DAY
    joined = new_members(gen, world, day, summary["members"] + 1)
    devices, cookies, takeover = _devices(gen, world, joined, day)
    active = pl.concat([world.members.filter(pl.col("active_end") >= gen.as_of - 1), *earlier], how="vertical_relaxed")
    active = active.with_columns(active_start=pl.lit(start), active_end=pl.lit(end))
    everyone = pl.concat([world.members, *earlier, joined], how="vertical_relaxed")
    active_ids = set(active["user_id"].to_list()) | set(joined["user_id"].to_list())
    # Members take part in the day with the same ids, devices and cookies as before.
    members = everyone.with_columns(
        active_start=pl.when(pl.col("user_id").is_in(list(active_ids))).then(
            pl.max_horizontal(pl.col("created_at"), pl.lit(start))).otherwise(pl.lit(start)),
        active_end=pl.when(pl.col("user_id").is_in(list(active_ids))).then(pl.lit(end)).otherwise(pl.lit(start)))
    per_day = summary["action_log_events_unique"] / max(gen.s.days, 1)
    day_gen = Generator(root, replace(gen.s, events_per_member=per_day / max(len(active_ids), 1)))
    day_gen.rng = np.random.default_rng([gen.s.seed, FIRST_APPENDED_PART + day, 4])
    day_gen.window_start, day_gen.as_of = start, end
    day_gen.seq_offset = summary["event_sequence_next"]
    all_devices = pl.concat([world.devices, devices])
    all_cookies = pl.concat([world.cookies, cookies])
    feedback, shown = _card_feedback(root, gen, members, day, start, end, visit_share)
    events = day_gen.events(world.brands, world.products, members, all_devices, all_cookies, 0, members.height, None,
                            feedback)
    if feedback is not None:  # the day's card feedback is about the published cards, not random ones
        events = events.filter(~(pl.col("action_type").str.starts_with("card_") & pl.col("card_context").is_null()))
    events = day_gen.identifiers(events)
    events, logins = _anonymous_logins(world, active, events, day_gen.rng, start)
    events = day_gen.contexts(events, members)
    # Offline app syncs: some of the day's events belong to one to three days before.
    late = day_gen.rng.random(events.height) < LATE_SHARE
    back = day_gen.rng.integers(1, 4, events.height) * DAY
    events = events.with_columns(t=pl.when(pl.Series(late)).then(pl.col("t") - pl.Series(back)).otherwise(pl.col("t")))
    day_gen.write_action_logs(events, world.brands, FIRST_APPENDED_PART + day)
    _users_extract(day_gen, root / "landing", joined, events, end)
    erasures = _erasures(day_gen, everyone.filter(pl.col("created_at") < start), day, end)
    truth = people.ground_truth(joined, devices, cookies, world.anonymous.head(0))
    taken = {f"anon-{i + 1}": f"member-{u}" for u, i in takeover.items()}
    report = {"day": datetime.fromtimestamp(start, UTC).date().isoformat(), "new_members": joined.height,
              "anonymous_signups": len(takeover), "anonymous_logins": logins, "events": events.height, "late_events": int(late.sum()),
              "erasure_requests": erasures, **{k: v for k, v in day_gen.expected.items()},
              "event_sequence_next": day_gen.seq_offset + events.height}
    _extend_ground_truth(root / "ground_truth", joined, truth, taken)
    if shown is not None:
        report["card_impressions"] = shown.height
        report["card_visit_share"] = visit_share
        _extend_card_truth(root / "ground_truth", card_feedback.true_rates(shown, report["day"]))
    return joined, report


def _card_feedback(root: Path, gen: Generator, members: pl.DataFrame, day: int, start: int,
                   end: int, visit_share: float) -> tuple[pl.DataFrame | None, pl.DataFrame | None]:
    """The day's feedback on the cards the last build published, if it published any (else the day's card
    events stay the random ones of the first generation)."""
    cards = card_feedback.published_cards(DataPaths(root).analytics)
    if cards is None or cards.height == 0:
        return None, None
    rng = np.random.default_rng([gen.s.seed, FIRST_APPENDED_PART + day, 5])
    events, shown = card_feedback.feedback_events(rng, cards, start, end, visit_share)
    index = members.select("user_id").with_row_index("member")
    return events.join(index, on="user_id").drop("user_id").with_columns(pl.col("member").cast(pl.Int64)), shown


def _extend_card_truth(truth_dir: Path, rates: pl.DataFrame) -> None:
    path = truth_dir / "card_feedback.parquet"
    (pl.concat([pl.read_parquet(path), rates]) if path.exists() else rates).write_parquet(path)


def _extend_ground_truth(truth_dir: Path, joined: pl.DataFrame, truth: pl.DataFrame, taken: dict[str, str]) -> None:
    identifiers = pl.read_parquet(truth_dir / "identifiers.parquet").with_columns(
        person_id=pl.col("person_id").replace(taken))
    pl.concat([identifiers, truth.select(identifiers.columns)]).write_parquet(truth_dir / "identifiers.parquet")
    members = pl.read_parquet(truth_dir / "members.parquet")
    pl.concat([members, joined.select(members.columns)], how="vertical_relaxed").write_parquet(truth_dir / "members.parquet")


def append_days(root: Path, days: int = 1, visit_share: float = card_feedback.VISIT_SHARE) -> dict:
    """Append `days` days after the last one written (the original window or an earlier append); `visit_share`
    of the members with published cards open the app on each day (sample_data/card_feedback.py)."""
    path = root / "ground_truth" / "expected.json"
    summary = json.loads(path.read_text())
    if "event_sequence_next" not in summary:
        raise ValueError(f"{path} was written by a generator without append support: generate the data again")
    gen = Generator(root, _scale(summary["scale"]))
    world = gen.population()
    done = summary.get("appended_days", [])
    earlier = []
    for day in range(len(done)):  # members who joined on earlier appended days, redrawn the same way
        earlier.append(new_members(gen, world, day, gen.s.members + 1 + sum(d["new_members"] for d in done[:day])))
    for day in range(len(done), len(done) + days):
        joined, report = append_day(root, gen, world, summary, day, earlier, visit_share)
        earlier.append(joined)
        done.append(report)
        summary["members"] += report["new_members"]
        summary["event_sequence_next"] = report["event_sequence_next"]
        summary["erasure_requests"] = summary.get("erasure_requests", 0) + report["erasure_requests"]
        for key in ("action_log_rows_written", "action_log_events_unique", "action_log_resent_duplicates",
                    "action_log_events_expected_loaded"):
            summary[key] += report[key]
        for kind, count in report["action_log_malformed"].items():
            summary["action_log_malformed"][kind] = summary["action_log_malformed"].get(kind, 0) + count
    summary["appended_days"] = done
    path.write_text(json.dumps(summary, indent=2))
    return summary
