"""Behavioural events (app action logs) with realistic rhythm, mix and identifier noise."""

from __future__ import annotations

import numpy as np
import polars as pl

from sample_data.catalog import BROWSERS, CITIES, JUNK_IDENTIFIERS

DAY = 86_400
# Relative weight of each action type by the member's preferred channel.
MIX = {
    #                         app   web  store whatsapp
    "product_scanned":      (0.30, 0.08, 0.18, 0.10),
    "user_session_started": (0.14, 0.10, 0.04, 0.06),
    "page_view":            (0.04, 0.24, 0.02, 0.04),
    "product_view":         (0.08, 0.16, 0.04, 0.06),
    "cart_add":             (0.03, 0.07, 0.01, 0.02),
    "cart_abandon":         (0.01, 0.03, 0.00, 0.01),
    "purchase":             (0.03, 0.06, 0.02, 0.03),
    "pos_transaction":      (0.03, 0.02, 0.20, 0.04),
    "store_visit":          (0.02, 0.01, 0.14, 0.02),
    "qr_scan":              (0.02, 0.00, 0.06, 0.01),
    "whatsapp_message":     (0.01, 0.01, 0.01, 0.30),
    "wishlist_added":       (0.04, 0.04, 0.02, 0.02),
    "wishlist_removed":     (0.01, 0.01, 0.00, 0.00),
    "reward_redeemed":      (0.02, 0.01, 0.03, 0.02),
    "achievement_unlocked": (0.02, 0.01, 0.02, 0.01),
    "referral_initiated":   (0.02, 0.01, 0.01, 0.03),
    "card_impression":      (0.12, 0.08, 0.10, 0.10),
    "card_clicked":         (0.03, 0.02, 0.03, 0.02),
    "card_dismissed":       (0.02, 0.01, 0.02, 0.01),
}
ACTION_TYPES = list(MIX)
PRODUCT_EVENTS = {"product_scanned", "product_view", "cart_add", "cart_abandon", "purchase", "pos_transaction",
                  "wishlist_added", "wishlist_removed", "qr_scan"}
CHANNEL_OF = {"pos_transaction": "store", "store_visit": "store", "qr_scan": "store", "whatsapp_message": "whatsapp",
              "page_view": "web", "product_scanned": "app", "card_impression": "app", "card_clicked": "app",
              "card_dismissed": "app", "reward_redeemed": "app", "achievement_unlocked": "app",
              "wishlist_added": "app", "wishlist_removed": "app", "referral_initiated": "app"}
CARD_TYPES = ["wishlist_goal", "rank_up", "near_complete_achievement", "referral_prompt", "product_discovery", "reward_offer"]
HOUR_WEIGHTS = np.array([1, 0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.5, 2.2, 2.6, 3.0, 3.4,
                         3.8, 3.6, 3.4, 3.6, 4.2, 5.0, 6.0, 6.4, 6.0, 4.8, 3.2, 1.8])
WEEKDAY_WEIGHTS = np.array([0.8, 0.85, 0.9, 1.0, 1.3, 1.45, 1.1])  # Monday .. Sunday
USER_AGENTS = ["Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
               "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 Chrome/130.0 Mobile Safari/537.36",
               "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 Version/18.1 Safari/605.1.15",
               "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36"]


def _times(rng: np.random.Generator, start: np.ndarray, end: np.ndarray, utc_offset: np.ndarray) -> np.ndarray:
    """Epoch seconds in [start, end) following the weekly and daily rhythm of local time."""
    n = len(start)
    span = np.maximum(end - start, 1)
    t = start + (rng.random(n) * span).astype(np.int64)
    for _ in range(2):  # thinning against the weekday curve, twice is close enough
        weekday = ((t + utc_offset) // DAY + 3) % 7  # 1970-01-01 was a Thursday
        redo = rng.random(n) > WEEKDAY_WEIGHTS[weekday] / WEEKDAY_WEIGHTS.max()
        t[redo] = start[redo] + (rng.random(redo.sum()) * span[redo]).astype(np.int64)
    hour = rng.choice(24, n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    local_midnight = (t + utc_offset) // DAY * DAY - utc_offset
    t = local_midnight + hour * 3600 + rng.integers(0, 3600, n)
    return np.clip(t, start, np.maximum(end - 1, start))


def member_events(rng: np.random.Generator, members: pl.DataFrame, events_per_member: float,
                  brand_offset: dict[int, int]) -> pl.DataFrame:
    """Heavy-tailed counts per member, spread over each member's active span."""
    m = members
    active_days = (m["active_end"] - m["active_start"]).to_numpy() / DAY
    rate = m["rate"].to_numpy()
    scale = events_per_member / max(float(np.mean(rate * active_days)), 1e-9)
    counts = rng.poisson(rate * active_days * scale)
    idx = np.repeat(np.arange(m.height), counts)
    brand = m["brand_id"].to_numpy()[idx]
    offset = np.vectorize(brand_offset.get, otypes=[np.int64])(brand) if len(idx) else np.zeros(0, np.int64)
    t = _times(rng, m["active_start"].to_numpy()[idx], m["active_end"].to_numpy()[idx], offset)
    channel_idx = pl.Series(m["channel"]).replace_strict({"app": 0, "web": 1, "store": 2, "whatsapp": 3}).to_numpy()[idx]
    action = np.empty(len(idx), dtype=object)
    for c in range(4):
        sel = np.flatnonzero(channel_idx == c)
        w = np.array([MIX[a][c] for a in ACTION_TYPES])
        action[sel] = np.asarray(ACTION_TYPES, dtype=object)[rng.choice(len(ACTION_TYPES), len(sel), p=w / w.sum())]
    return pl.DataFrame({"member": idx, "brand_id": brand, "t": t, "action_type": action.astype(str)})


def session_ends(rng: np.random.Generator, events: pl.DataFrame) -> pl.DataFrame:
    starts = events.filter(pl.col("action_type") == "user_session_started")
    duration = np.clip(rng.lognormal(5.5, 1.0, starts.height), 10, 4 * 3600).astype(np.int64)
    return starts.with_columns(t=pl.col("t") + pl.Series(duration), action_type=pl.lit("user_session_ended"),
                               duration=pl.Series(duration))


def email_variant(rng: np.random.Generator, emails: pl.Series) -> pl.Series:
    """What forms and imports do to an address: case changes and stray whitespace."""
    kind = rng.integers(0, 4, len(emails))
    return (pl.DataFrame({"e": emails, "k": kind}).select(
        pl.when(pl.col("k") == 0).then(pl.col("e").str.to_uppercase())
        .when(pl.col("k") == 1).then(pl.format(" {} ", "e"))
        .when(pl.col("k") == 2).then(pl.col("e").str.slice(0, 1).str.to_uppercase() + pl.col("e").str.slice(1))
        .otherwise(pl.col("e")))).to_series()


def phone_variant(rng: np.random.Generator, phones: pl.Series) -> pl.Series:
    """National formatting as typed into forms: (415) 555-0123, 415.555.0123, +1 415 555 0123."""
    kind = rng.integers(0, 4, len(phones))
    df = pl.DataFrame({"p": phones, "k": kind})
    us = pl.col("p").str.starts_with("+1")
    d = pl.col("p").str.slice(2)
    return df.select(
        pl.when(us & (pl.col("k") == 0)).then(pl.format("({}) {}-{}", d.str.slice(0, 3), d.str.slice(3, 3), d.str.slice(6)))
        .when(us & (pl.col("k") == 1)).then(pl.format("{}.{}.{}", d.str.slice(0, 3), d.str.slice(3, 3), d.str.slice(6)))
        .when(us & (pl.col("k") == 2)).then(pl.format("+1 {} {} {}", d.str.slice(0, 3), d.str.slice(3, 3), d.str.slice(6)))
        .when(~us & (pl.col("k") == 0)).then(pl.format("06-{}", pl.col("p").str.slice(4)))
        .otherwise(pl.col("p"))).to_series()


def junk(rng: np.random.Generator, id_type: str, n: int) -> np.ndarray:
    values = JUNK_IDENTIFIERS[id_type]
    return np.asarray(values, dtype=object)[rng.integers(0, len(values), n)]


def card_context(rng: np.random.Generator, n: int) -> pl.Series:
    card_type = np.asarray(CARD_TYPES, dtype=object)[rng.integers(0, len(CARD_TYPES), n)]
    card_no = rng.integers(1, 10**6, n)
    return pl.Series([f'{{"card_id":"card_{c}_{k}","card_type":"{c}","surface":"home"}}' for c, k in zip(card_type, card_no)])


def session_context(rng: np.random.Generator, n: int, duration: np.ndarray | None) -> pl.Series:
    city = rng.integers(0, len(CITIES), n)
    browser = np.asarray(BROWSERS, dtype=object)[rng.integers(0, len(BROWSERS), n)]
    device = np.where(rng.random(n) < 0.8, "mobile", "desktop")
    out = []
    for i in range(n):
        c, r, k = CITIES[city[i]]
        extra = f',"duration_seconds":{int(duration[i])}' if duration is not None else ""
        out.append(f'{{"device_type":"{device[i]}","browser":"{browser[i]}",'
                   f'"location":{{"city":"{c}","region":"{r}","country":"{k}"}}{extra}}}')
    return pl.Series(out, dtype=pl.String)


def user_agents(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.asarray(USER_AGENTS, dtype=object)[rng.integers(0, len(USER_AGENTS), n)]

