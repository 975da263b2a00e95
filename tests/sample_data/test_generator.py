"""The generator is deterministic, honours its scale flags, and writes what the issue lists."""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import replace
from pathlib import Path

import polars as pl

from sample_data.generator import generate
from tests.conftest import SMALL


def digest(root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted((root / "landing").rglob("*")):
        if path.is_file():
            h.update(path.relative_to(root).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def action_lines(root: Path) -> list[dict]:
    rows = []
    for path in sorted((root / "landing/app/action_logs").rglob("*.ndjson.gz")):
        for line in gzip.decompress(path.read_bytes()).decode().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return rows


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path, small_sample):
    generate(tmp_path / "a", SMALL)
    generate(tmp_path / "b", replace(SMALL, seed=SMALL.seed + 1))
    assert digest(tmp_path / "a") == digest(small_sample)
    assert digest(tmp_path / "b") != digest(small_sample)


def test_scale_flags(tmp_path):
    summary = generate(tmp_path, replace(SMALL, brands=3, members=120, days=5))
    users = pl.concat([pl.read_ndjson(p) for p in (tmp_path / "landing/app/reference/users").glob("*.ndjson")])
    assert users.height == summary["members"] == 120
    assert users["brand_id"].n_unique() == 3
    days = {p.name for p in (tmp_path / "landing/app/action_logs").iterdir()}
    # Five days, the late-arrival folder of the last one, and a resent copy of a late event a day after that.
    assert len(days) <= 7


def test_every_landing_kind_and_the_ground_truth_are_written(small_sample):
    landing = small_sample / "landing"
    for folder in ("app/action_logs", "app/erasure_requests", "customerio/webhooks", "customerio/exports",
                   *(f"app/reference/{t}" for t in ("brands", "users", "products", "ranks", "rewards", "achievement_configs",
                                                    "wishlists", "referrals", "custom_fields", "user_custom_field_values"))):
        assert any(p.is_file() for p in (landing / folder).rglob("*")), folder
    assert list(landing.rglob("*.tmp")), "a half-written temporary file is part of a realistic landing zone"
    for name in ("identifiers.parquet", "members.parquet", "expected.json"):
        assert (small_sample / "ground_truth" / name).exists()


def test_behaviour_is_realistic(small_sample):
    rows = action_lines(small_sample)
    events = pl.DataFrame([{k: r.get(k) for k in ("user_id", "action_type", "occurred_at")} for r in rows])
    per_member = events.filter(pl.col("user_id").is_not_null()).group_by("user_id").len()["len"]
    assert per_member.max() > 5 * per_member.median()  # heavy tail
    assert events["action_type"].n_unique() >= 18
    anonymous = [r for r in rows if r.get("user_id") is None]
    assert anonymous and all(r.get("identifiers", {}).get("cookie_id") for r in anonymous)
    # Anonymous browsing later identified: a cookie seen without a user id, then with one.
    anon_cookies = {r["identifiers"]["cookie_id"] for r in anonymous}
    identified = {r["identifiers"]["cookie_id"] for r in rows if r.get("user_id") and r.get("identifiers", {}).get("cookie_id")}
    assert anon_cookies & identified
    emails = [r["identifiers"]["email"] for r in rows if r.get("identifiers", {}).get("email")]
    assert any(e != e.strip().lower() for e in emails), "case and whitespace variants"
    assert any(e in ("test@test.com", "null", "undefined", "noemail@example.com") for e in emails), "junk identifiers"
    assert any(r["action_type"] == "referral_converted" for r in rows)


def test_ground_truth_has_shared_devices_and_household_phones(small_sample):
    truth = pl.read_parquet(small_sample / "ground_truth/identifiers.parquet")
    members = pl.read_parquet(small_sample / "ground_truth/members.parquet")
    assert members["shared_phone"].sum() >= 1
    shared_phones = truth.filter((pl.col("id_type") == "phone") & pl.col("is_shared"))
    assert shared_phones.height >= 2
    assert truth.filter(pl.col("id_type") == "user_id").height == members.height
    assert members.filter(pl.col("referred_by") > 0).height > 0
    rows = action_lines(small_sample)
    device_users: dict[str, set] = {}
    for r in rows:
        device = r.get("identifiers", {}).get("device_id")
        if device and r.get("user_id") and device.startswith("dev_"):
            device_users.setdefault(device, set()).add(r["user_id"])
    assert any(len(users) > 1 for users in device_users.values()), "a family device used by two members"


def test_a_day_bigger_than_a_file_is_cut_into_files_that_keep_every_line(tmp_path, monkeypatch):
    from sample_data import generator

    scale = replace(SMALL, members=120, days=4)
    generate(tmp_path / "whole", scale)
    monkeypatch.setattr(generator, "MAX_FILE_ROWS", 40)
    generate(tmp_path / "cut", scale)

    def lines(root: Path) -> dict[str, list[list[str]]]:
        days: dict[str, list[list[str]]] = {}
        for path in sorted((root / "landing/app/action_logs").rglob("*.ndjson.gz")):
            days.setdefault(path.parent.name, []).append(gzip.decompress(path.read_bytes()).decode().splitlines())
        return days

    whole, cut = lines(tmp_path / "whole"), lines(tmp_path / "cut")
    assert sum(map(len, cut.values())) > sum(map(len, whole.values()))
    assert max(len(f) for files in cut.values() for f in files) == 40
    assert {day: sorted(line for f in files for line in f) for day, files in cut.items()} == \
        {day: sorted(line for f in files for line in f) for day, files in whole.items()}
