"""Members, anonymous visitors and their identifiers (the identity ground truth)."""

from __future__ import annotations

import numpy as np
import polars as pl

from sample_data.catalog import EMAIL_DOMAINS, FIRST_NAMES, LAST_NAMES, US_AREA_CODES

DAY = 86_400


def _pick(rng: np.random.Generator, values: list[str], n: int) -> np.ndarray:
    return np.asarray(values, dtype=object)[rng.integers(0, len(values), n)]


def _strings(values: np.ndarray) -> pl.Series:
    return pl.Series(values.tolist(), dtype=pl.String)


def _hex_ids(rng: np.random.Generator, prefix: str, n: int) -> np.ndarray:
    return np.array([f"{prefix}{x:016x}" for x in rng.integers(0, 2**63, n, dtype=np.int64)], dtype=object)


def random_ids(rng: np.random.Generator, prefix: str, n: int) -> pl.Series:
    """n random device/cookie-style ids such as dev_5ab8be6875f00b09."""
    return _strings(_hex_ids(rng, prefix, n))


def make_members(rng: np.random.Generator, n: int, brands: pl.DataFrame, window_start: int, as_of: int) -> pl.DataFrame:
    """One row per member (a real person with an account), with behaviour parameters."""
    brand_ids = brands["id"].to_numpy()
    weights = 1.0 / np.arange(1, len(brand_ids) + 1)  # the first brand is the largest
    brand = brand_ids[rng.choice(len(brand_ids), n, p=weights / weights.sum())]
    # 60% joined before the window (up to two years before), 40% during it.
    before = rng.random(n) < 0.6
    created = np.where(
        before,
        window_start - rng.integers(1, 730 * DAY, n),
        window_start + rng.integers(0, max(as_of - window_start - 3600, 1), n),
    )
    order = np.lexsort((created, brand))  # by brand, then join time: ids grow with join time
    brand, created = brand[order], created[order]
    user_id = np.arange(1, n + 1)
    first = _pick(rng, FIRST_NAMES, n)
    last = _pick(rng, LAST_NAMES, n)
    email = np.array([f"{f}.{l.replace(' ', '')}{u}@{d}" for f, l, u, d in
                      zip(first, last, user_id, _pick(rng, EMAIL_DOMAINS, n))], dtype=object)
    eu = np.isin(brand, brands.filter(pl.col("customer_io_region") == "eu")["id"].to_numpy())
    local = rng.integers(2_000_000, 9_999_999, n)
    area = np.asarray(US_AREA_CODES)[rng.integers(0, len(US_AREA_CODES), n)]
    phone = np.where(eu, [f"+316{x:08d}" for x in rng.integers(10_000_000, 99_999_999, n)],
                     [f"+1{a}{x:07d}" for a, x in zip(area, local)]).astype(object)
    has_phone = rng.random(n) < 0.85
    # Household landlines: some members share another member's phone (same brand).
    household = has_phone & (rng.random(n) < 0.015)
    partner = np.clip(np.arange(n) - rng.integers(1, 50, n), 0, None)
    same_brand = brand[partner] == brand
    phone_final = phone.copy()
    shared_phone = household & same_brand & has_phone[partner] & (partner != np.arange(n))
    phone_final[shared_phone] = phone[partner[shared_phone]]
    phone_final[~has_phone] = None

    churner = rng.random(n) < 0.25
    start = np.maximum(created, window_start)
    churn_at = start + (rng.exponential(25, n) * DAY).astype(np.int64)
    end = np.where(churner, np.minimum(churn_at, as_of), as_of)
    # Referral chains: 15% were referred by an earlier member of the same brand.
    referred = rng.random(n) < 0.15
    brand_first = np.searchsorted(brand, brand, side="left")
    rank_in_brand = np.arange(n) - brand_first
    referrer_idx = brand_first + np.floor(rng.random(n) * rank_in_brand).astype(np.int64)
    referred &= rank_in_brand > 0
    referred_by = np.where(referred, user_id[referrer_idx], 0)

    devices = 1 + rng.geometric(0.55, n).clip(1, 4) - 1
    cookies = rng.geometric(0.5, n).clip(1, 3)
    channel = rng.choice(["app", "web", "store", "whatsapp"], n, p=[0.5, 0.2, 0.2, 0.1])
    return pl.DataFrame({
        "user_id": user_id, "brand_id": brand, "created_at": created, "first_name": _strings(first),
        "last_name": _strings(last), "email": _strings(email), "phone": _strings(phone_final), "shared_phone": shared_phone,
        "loyalty_id": [f"LY{x:010d}" for x in rng.permutation(n) + 1_000_000_000],
        "whatsapp": _strings(np.where(has_phone & (rng.random(n) < 0.3), phone_final, None)),
        "qr_id": _strings(np.where(rng.random(n) < 0.1, [f"QR{x:08d}" for x in rng.permutation(n)], None)),
        "card_last4": _strings(np.where(rng.random(n) < 0.4, [f"{x:04d}" for x in rng.integers(0, 10_000, n)], None)),
        "device_count": devices, "cookie_count": cookies, "channel": channel,
        "active_start": start, "active_end": np.maximum(end, start + 1),
        "rate": rng.lognormal(0.0, 1.0, n), "favorite_form": rng.integers(0, 7, n),
        "referred_by": referred_by, "marketing_consent": rng.random(n) < 0.7,
    }, strict=False)


def expand_devices(rng: np.random.Generator, members: pl.DataFrame, column: str, prefix: str) -> pl.DataFrame:
    """(user_id, brand_id, slot, value) for each member's devices or cookies."""
    counts = members[column].to_numpy()
    owner = np.repeat(np.arange(members.height), counts)
    slot = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)
    return pl.DataFrame({
        "user_id": members["user_id"].to_numpy()[owner], "brand_id": members["brand_id"].to_numpy()[owner],
        "slot": slot, "value": random_ids(rng, prefix, len(owner)),
    })


def share_devices(rng: np.random.Generator, devices: pl.DataFrame, rate: float = 0.01) -> pl.DataFrame:
    """A family tablet: some members also use another member's first device (same brand)."""
    firsts = devices.filter(pl.col("slot") == 0)
    n = firsts.height
    pick = np.flatnonzero(rng.random(n) < rate)
    partner = np.clip(pick + rng.integers(1, 30, len(pick)), 0, n - 1)
    a, b = firsts[pick], firsts[partner]
    ok = (a["brand_id"] == b["brand_id"]) & (a["user_id"] != b["user_id"])
    shared = pl.DataFrame({"user_id": a["user_id"].filter(ok), "brand_id": a["brand_id"].filter(ok),
                           "slot": pl.Series(np.full(int(ok.sum()), 9)), "value": b["value"].filter(ok)})
    return pl.concat([devices, shared])


def ground_truth(members: pl.DataFrame, devices: pl.DataFrame, cookies: pl.DataFrame, anonymous: pl.DataFrame) -> pl.DataFrame:
    """Every (person, identifier type, canonical value), flagging values shared by several persons."""
    m = members.with_columns(person_id=pl.format("member-{}", "user_id"))
    parts = [m.select("person_id", "brand_id", pl.lit("user_id").alias("id_type"), pl.col("user_id").cast(pl.String).alias("value"))]
    for col in ("email", "phone", "loyalty_id", "whatsapp", "qr_id", "card_last4"):
        parts.append(m.filter(pl.col(col).is_not_null()).select("person_id", "brand_id", pl.lit(col).alias("id_type"), pl.col(col).alias("value")))
    for frame, id_type in ((devices, "device_id"), (cookies, "cookie_id")):
        parts.append(frame.select(pl.format("member-{}", "user_id").alias("person_id"), "brand_id",
                                  pl.lit(id_type).alias("id_type"), "value"))
    parts.append(anonymous.select("person_id", "brand_id", pl.lit("cookie_id").alias("id_type"), pl.col("cookie_id").alias("value")))
    truth = pl.concat(parts).unique()
    shared = truth.group_by("brand_id", "id_type", "value").agg(pl.col("person_id").n_unique().alias("persons"))
    return (truth.join(shared, on=["brand_id", "id_type", "value"]).with_columns(is_shared=pl.col("persons") > 1)
            .drop("persons").sort("person_id", "id_type", "value"))
