"""Deterministic sample landing zone: same seed and scale, same bytes.

Writes, under <data>/landing, every inbound file kind of the landing-zone contract, and
under <data>/ground_truth which identifiers belong to which real person plus the exact
counts a correct loader must reconcile to (expected.json).
"""

from __future__ import annotations

import gzip
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from sample_data import catalog, events as behaviour, people

DAY = 86_400
OFFSETS = {"America/Los_Angeles": -8, "America/Denver": -7, "America/New_York": -5, "Europe/Amsterdam": 1}


@dataclass(frozen=True)
class Scale:
    brands: int = 2
    members: int = 2_000
    days: int = 60
    events_per_member: float = 10.0
    seed: int = 42
    as_of: date = field(default_factory=lambda: datetime.now(UTC).date())
    action_log_format: str = "ndjson"  # ndjson (gzipped) or parquet
    malformed_rate: float = 0.001  # share of action-log lines deliberately broken
    resend_rate: float = 0.005  # share of events the app sends twice (next day's file)


def _iso(seconds: pl.Expr) -> pl.Expr:
    return pl.from_epoch(seconds, time_unit="s").dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def write_atomic(path: Path, data: bytes) -> None:
    """The producer side of the contract: write a temporary name, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def ndjson_bytes(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r, separators=(",", ":"), ensure_ascii=False) + "\n" for r in rows).encode()


class Generator:
    def __init__(self, root: Path, scale: Scale):
        self.root = root
        self.landing = root / "landing"
        self.truth_dir = root / "ground_truth"
        self.s = scale
        self.rng = np.random.default_rng(scale.seed)
        self.as_of = int(datetime.combine(scale.as_of, datetime.min.time(), UTC).timestamp())
        self.window_start = self.as_of - scale.days * DAY
        self.stamp = datetime.fromtimestamp(self.as_of, UTC).strftime("%Y%m%dT%H%M%SZ")
        self.expected: dict = {}

    # --- reference data ----------------------------------------------------------------
    def brands(self) -> pl.DataFrame:
        rows = []
        for i in range(self.s.brands):
            name, slug, tz, region = catalog.BRAND_NAMES[i % len(catalog.BRAND_NAMES)]
            if i >= len(catalog.BRAND_NAMES):
                name, slug = f"{name} {i + 1}", f"{slug}-{i + 1}"
            rows.append({"id": i + 1, "name": name, "slug": slug, "timezone": tz, "customer_io_region": region,
                         "settings": {"referral_points": 150, "scan_points_default": 100, "card_cap": 3,
                                      "pwa_origin": f"https://rewards.{slug}.example"},
                         "is_active": True, "created_at": "2023-01-15T09:00:00Z"})
        return pl.DataFrame(rows)

    def products(self, brands: pl.DataFrame) -> pl.DataFrame:
        rng, rows, pid = self.rng, [], 0
        forms = list(catalog.PRODUCT_FORMS)
        for brand in brands["id"]:
            for form_idx, form in enumerate(forms):
                (lo, hi), popularity = catalog.PRODUCT_FORMS[form]
                for k in range(max(2, int(round(popularity * 40)))):
                    pid += 1
                    strain, strain_type = catalog.STRAINS[rng.integers(len(catalog.STRAINS))]
                    msrp = round(float(rng.uniform(lo, hi)), 2)
                    line = catalog.PRODUCT_LINES[rng.integers(len(catalog.PRODUCT_LINES))]
                    rows.append({
                        "id": pid, "brand_id": int(brand), "sku": f"B{brand}-{form[:4].upper()}-{k + 1:03d}",
                        "name": f"{strain} {form}", "msrp": msrp, "points_award": int(round(msrp * 10, -1)),
                        "product_line": line, "product_form": form, "strain_name": strain, "strain_type": strain_type,
                        "potency_thc_percent": round(float(rng.uniform(15, 90 if form == "Concentrate" else 30)), 2),
                        "potency_cbd_percent": round(float(rng.uniform(0, 5)), 2),
                        "dominant_terpene": catalog.TERPENES[rng.integers(len(catalog.TERPENES))],
                        "tags": [catalog.TAGS[rng.integers(len(catalog.TAGS))]],
                        "is_featured": bool(rng.random() < 0.15), "is_new": bool(rng.random() < 0.1),
                        "is_limited": bool(rng.random() < 0.05), "created_at": "2024-03-01T12:00:00Z",
                        "form_idx": form_idx,
                    })
        return pl.DataFrame(rows)

    def write_reference(self, table: str, rows: list[dict] | pl.DataFrame, stamp: str | None = None) -> None:
        path = self.landing / "app" / "reference" / table / f"{table}-{stamp or self.stamp}.ndjson"
        if isinstance(rows, pl.DataFrame):
            write_atomic(path, rows.write_ndjson().encode())
        else:
            write_atomic(path, ndjson_bytes(rows))

    def reference(self, brands: pl.DataFrame, products: pl.DataFrame, members: pl.DataFrame, events: pl.DataFrame) -> None:
        rng = self.rng
        self.write_reference("brands", brands.to_dicts())
        public_products = products.drop("form_idx")
        self.write_reference("products", public_products.to_dicts())
        # An older, smaller extract that arrives too: the newest extract must win.
        older = datetime.fromtimestamp(self.as_of - DAY, UTC).strftime("%Y%m%dT%H%M%SZ")
        self.write_reference("products", public_products.head(max(1, products.height // 2)).to_dicts(), older)
        ranks, rewards, achievements, fields = [], [], [], []
        for brand in brands["id"]:
            for key, name, required, mult in catalog.RANKS:
                ranks.append({"id": len(ranks) + 1, "brand_id": int(brand), "key": key, "name": name,
                              "points_required": required, "point_multiplier": mult,
                              "benefits": f"{name} member perks", "is_active": True})
            brand_products = products.filter(pl.col("brand_id") == brand)["id"].to_list()
            for name, cost, category in catalog.REWARDS:
                rewards.append({"id": len(rewards) + 1, "brand_id": int(brand), "name": name, "points_cost": cost,
                                "product_id": brand_products[rng.integers(len(brand_products))] if category == "product" else None,
                                "category": category, "inventory_count": int(rng.integers(0, 500)), "is_active": True,
                                "created_at": "2024-03-01T12:00:00Z"})
            for key, label, ftype, options in (
                ("strain_preference", "Preferred strain", "select", ["Sativa", "Indica", "Hybrid"]),
                ("consumption_method", "How do you usually consume?", "radio", ["Vape", "Smoke", "Edible", "Other"]),
                ("birthday_month", "Birthday month", "text", None),
            ):
                fields.append({"id": len(fields) + 1, "brand_id": int(brand), "field_key": key, "field_label": label,
                               "field_type": ftype, "field_options": options, "is_required": False,
                               "field_order": len(fields) % 3, "is_active": True})
        for i, a in enumerate(catalog.ACHIEVEMENTS):
            # Global configs (brand_id NULL), plus a brand-specific variant of the first one per brand.
            achievements.append(self._achievement(len(achievements) + 1, None, a))
        for brand in brands["id"]:
            variant = dict(catalog.ACHIEVEMENTS[1], key="first_cartridge_scan", name="First Cartridge (brand)", points=150)
            achievements.append(self._achievement(len(achievements) + 1, int(brand), variant))
        self.write_reference("ranks", ranks)
        self.write_reference("rewards", rewards)
        self.write_reference("achievement_configs", achievements)
        self.write_reference("custom_fields", fields)

        points = events.group_by("user_id").agg(
            pl.col("points_awarded").filter(pl.col("points_awarded") > 0).sum().alias("earned"),
            (-pl.col("points_awarded").filter(pl.col("points_awarded") < 0)).sum().alias("spent"))
        base = rng.integers(0, 8000, members.height) * (members["created_at"] < self.window_start).to_numpy()
        users = members.join(points, on="user_id", how="left").with_columns(
            lifetime_points=pl.Series(base) + pl.col("earned").fill_null(0))
        users = users.with_columns(points_balance=(pl.col("lifetime_points") * 0.4 - pl.col("spent").fill_null(0)).clip(0).cast(pl.Int64))
        rank = pl.lit(catalog.RANKS[0][0])
        for key, _, required, _ in catalog.RANKS[1:]:
            rank = pl.when(pl.col("lifetime_points") >= required).then(pl.lit(key)).otherwise(rank)
        users = users.with_columns(current_rank_key=rank)
        user_rows = users.select(
            pl.col("user_id").alias("id"), "brand_id", "email", "first_name", "last_name",
            pl.col("phone").alias("phone_number"), _iso(pl.col("created_at")).alias("age_verified_at"),
            "marketing_consent", pl.format("REF{}", pl.col("user_id")).alias("referral_code"),
            pl.when(pl.col("referred_by") > 0).then(pl.col("referred_by")).alias("referred_by_user_id"),
            "points_balance", pl.col("lifetime_points").cast(pl.Int64), "current_rank_key",
            pl.lit(False).alias("is_guest"), _iso(pl.col("created_at")).alias("created_at"),
            _iso(pl.lit(self.as_of - 3600)).alias("updated_at"))
        self.write_reference("users", user_rows)

        wish = events.filter(pl.col("action_type") == "wishlist_added").unique(["user_id", "product_id"], keep="first", maintain_order=True)
        removed = events.filter(pl.col("action_type") == "wishlist_removed").select("user_id", "product_id")
        wish = wish.join(removed, on=["user_id", "product_id"], how="anti").sort("t", "user_id", "product_id")
        self.write_reference("wishlists", wish.select(
            pl.int_range(1, pl.len() + 1).alias("id"), "user_id", "product_id", _iso(pl.col("t")).alias("added_at")))

        referred = members.filter(pl.col("referred_by") > 0)
        self.write_reference("referrals", referred.select(
            pl.int_range(1, pl.len() + 1).alias("id"), pl.col("referred_by").alias("referrer_user_id"),
            pl.col("user_id").alias("referee_user_id"), pl.format("REF{}", "referred_by").alias("referral_code"),
            "email", pl.lit("converted").alias("status"), _iso(pl.col("created_at")).alias("converted_at"),
            pl.lit(150).alias("points_awarded_to_referrer"), _iso(pl.col("created_at") - 3 * DAY).alias("created_at")))

        answered = members.filter(pl.Series(rng.random(members.height) < 0.4))
        field_ids = {(f["brand_id"], f["field_key"]): f["id"] for f in fields}
        strain = np.asarray(["Sativa", "Indica", "Hybrid"], dtype=object)[rng.integers(0, 3, answered.height)]
        self.write_reference("user_custom_field_values", answered.select(
            pl.int_range(1, pl.len() + 1).alias("id"), "user_id",
            pl.col("brand_id").replace_strict({b: field_ids[(b, "strain_preference")] for b, _ in field_ids}).alias("custom_field_id"),
            pl.Series("field_value", strain.tolist(), dtype=pl.String), _iso(pl.col("created_at")).alias("updated_at")))

    def _achievement(self, ident: int, brand: int | None, a: dict) -> dict:
        rewards = {"points": a["points"], "badge": a["key"], **a.get("reward", {})}
        return {"id": ident, "brand_id": brand, "name": a["name"], "description": f"Unlock {a['name']}",
                "achievement_key": a["key"], "achievement_type": a["type"],
                "criteria": {**a["criteria"], "repeatable": bool(a.get("repeatable", False))}, "rewards": rewards,
                "visibility": {"active": True, "show_progress": True, "priority": ident},
                "ai_enhancement": a.get("ai"), "metadata": {"rarity": a["rarity"], "category": a["type"]},
                "is_active": True}

    # --- behaviour ---------------------------------------------------------------------
    def events(self, brands: pl.DataFrame, products: pl.DataFrame, members: pl.DataFrame,
               devices: pl.DataFrame, cookies: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        """All events of members and anonymous visitors, one row each (before noise and files)."""
        rng = self.rng
        brand_offset = {int(b): OFFSETS.get(tz, 0) * 3600 for b, tz in zip(brands["id"], brands["timezone"])}
        base = behaviour.member_events(rng, members, self.s.events_per_member, brand_offset)
        ends = behaviour.session_ends(rng, base)
        base = pl.concat([base.with_columns(duration=pl.lit(None, pl.Int64)), ends])

        # Anonymous browsing before sign-up, later identified by the cookie on the sign-up session.
        joined_in_window = members.with_row_index("member").filter(pl.col("created_at") >= self.window_start)
        browsed = joined_in_window.filter(pl.Series(rng.random(joined_in_window.height) < 0.3))
        n_views = rng.integers(1, 6, browsed.height)
        pre = pl.DataFrame({
            "member": np.repeat(browsed["member"].to_numpy(), n_views),
            "brand_id": np.repeat(browsed["brand_id"].to_numpy(), n_views),
            "t": np.repeat(browsed["created_at"].to_numpy(), n_views) - rng.integers(600, 7 * DAY, n_views.sum()),
            "action_type": rng.choice(["page_view", "product_view"], n_views.sum()),
        }).with_columns(duration=pl.lit(None, pl.Int64), anonymous=pl.lit(True))
        signup = joined_in_window.select("member", "brand_id", pl.col("created_at").alias("t"),
                                         pl.lit("user_session_started").alias("action_type"),
                                         pl.lit(None, pl.Int64).alias("duration"))
        # Referrals: initiated by the referrer before the referee joined, converted when they did.
        m_idx = members.with_row_index("member")
        referred = m_idx.filter((pl.col("referred_by") > 0) & (pl.col("created_at") >= self.window_start))
        by_user = dict(zip(members["user_id"].to_list(), range(members.height)))
        referrer_member = np.array([by_user[u] for u in referred["referred_by"].to_list()], dtype=np.int64)
        referral = pl.concat([
            pl.DataFrame({"member": referrer_member, "brand_id": referred["brand_id"].to_numpy(),
                          "t": referred["created_at"].to_numpy() - rng.integers(3600, 5 * DAY, referred.height),
                          "action_type": ["referral_initiated"] * referred.height, "referee": referred["member"].to_numpy()}),
            pl.DataFrame({"member": referrer_member, "brand_id": referred["brand_id"].to_numpy(),
                          "t": referred["created_at"].to_numpy() + 60, "action_type": ["referral_converted"] * referred.height,
                          "referee": referred["member"].to_numpy()}),
        ]).with_columns(duration=pl.lit(None, pl.Int64))
        all_member = pl.concat([base, signup, pre, referral], how="diagonal_relaxed").with_columns(
            pl.col("anonymous").fill_null(False))

        # Visitors who never sign up: a cookie and a few page views.
        n_anon = max(1, self.s.members // 5)
        anon_brand = brands["id"].to_numpy()[rng.integers(0, brands.height, n_anon)]
        anonymous = pl.DataFrame({"person_id": [f"anon-{i + 1}" for i in range(n_anon)], "brand_id": anon_brand,
                                  "cookie_id": people._strings(people._hex_ids(rng, "ck_", n_anon))})
        visits = rng.geometric(0.4, n_anon)
        anon_events = pl.DataFrame({
            "anon": np.repeat(np.arange(n_anon), visits), "brand_id": np.repeat(anon_brand, visits),
            "t": self.window_start + rng.integers(0, self.s.days * DAY, visits.sum()),
            "action_type": rng.choice(["page_view", "product_view", "cart_add"], visits.sum(), p=[0.6, 0.3, 0.1]),
        })
        return self._enrich(all_member, anon_events, anonymous, products, members, devices, cookies), anonymous

    def _enrich(self, ev_m: pl.DataFrame, ev_a: pl.DataFrame, anonymous: pl.DataFrame, products: pl.DataFrame,
                members: pl.DataFrame, devices: pl.DataFrame, cookies: pl.DataFrame) -> pl.DataFrame:
        rng = self.rng
        ev_m = ev_m.filter((pl.col("t") >= self.window_start) & (pl.col("t") < self.as_of))
        ev_a = ev_a.filter(pl.col("t") < self.as_of)
        m = members.with_row_index("member")
        ev_m = ev_m.join(m.select("member", "user_id", "email", "phone", "loyalty_id", "whatsapp", "qr_id", "card_last4",
                                  "device_count", "cookie_count", "favorite_form", "created_at"), on="member", how="left")
        n = ev_m.height
        slot_dev = (rng.random(n) * ev_m["device_count"].to_numpy()).astype(np.int64)
        slot_ck = (rng.random(n) * ev_m["cookie_count"].to_numpy()).astype(np.int64)
        ev_m = ev_m.with_columns(dev_slot=pl.Series(slot_dev), ck_slot=pl.Series(slot_ck))
        ev_m = ev_m.join(devices.select("user_id", pl.col("slot").alias("dev_slot"), pl.col("value").alias("device_id")),
                         on=["user_id", "dev_slot"], how="left")
        ev_m = ev_m.join(cookies.select("user_id", pl.col("slot").alias("ck_slot"), pl.col("value").alias("cookie_id")),
                         on=["user_id", "ck_slot"], how="left")
        # Shared devices: a member occasionally uses the family tablet (slot 9).
        shared = devices.filter(pl.col("slot") == 9).select("user_id", pl.col("value").alias("shared_device"))
        ev_m = ev_m.join(shared, on="user_id", how="left").with_columns(
            device_id=pl.when(pl.col("shared_device").is_not_null() & pl.Series(rng.random(n) < 0.3))
            .then(pl.col("shared_device")).otherwise(pl.col("device_id"))).drop("shared_device")
        ev_a = ev_a.join(anonymous.with_row_index("anon").select(pl.col("anon").cast(pl.Int64), "cookie_id"), on="anon")
        ev = pl.concat([ev_m.with_columns(pl.when(pl.col("anonymous")).then(None).otherwise(pl.col("user_id")).alias("user_id")),
                        ev_a.with_columns(anonymous=pl.lit(True))], how="diagonal_relaxed")
        ev = ev.sort("t", "brand_id").with_row_index("seq")
        n = ev.height

        # Products: half from the member's favourite form, half from the brand's whole range.
        p = products.sort("brand_id", "form_idx", "id")
        brand_first = p.group_by("brand_id").agg(pl.len().alias("n"), pl.col("id").min().alias("first_id"))
        form_first = p.group_by("brand_id", "form_idx").agg(pl.len().alias("fn"), pl.col("id").min().alias("ffirst"))
        ev = ev.join(brand_first, on="brand_id", how="left").join(
            form_first, left_on=["brand_id", "favorite_form"], right_on=["brand_id", "form_idx"], how="left")
        u = rng.random(n)
        fav = pl.Series(rng.random(n) < 0.5) & ev["ffirst"].is_not_null()
        pid = np.where(fav.to_numpy(), ev["ffirst"].fill_null(0).to_numpy() + (u * ev["fn"].fill_null(1).to_numpy()).astype(np.int64),
                       ev["first_id"].to_numpy() + (u * ev["n"].to_numpy()).astype(np.int64))
        is_product = ev["action_type"].is_in(list(behaviour.PRODUCT_EVENTS))
        ev = ev.with_columns(product_id=pl.when(is_product).then(pl.Series(pid)))
        ev = ev.join(products.select(pl.col("id").alias("product_id"), "msrp", "points_award"), on="product_id", how="left")
        qty = rng.integers(1, 4, n)
        amount = np.round(ev["msrp"].fill_null(0).to_numpy() * qty * rng.uniform(0.85, 1.0, n), 2)
        rewards = np.asarray([r[1] for r in catalog.REWARDS])
        reward_pick = rng.integers(0, len(rewards), n)
        at = pl.col("action_type")
        ev = ev.with_columns(
            amount=pl.when(at.is_in(["purchase", "pos_transaction"])).then(pl.Series(amount)),
            points_awarded=pl.when(at == "product_scanned").then(pl.col("points_award"))
            .when(at == "referral_converted").then(pl.lit(150))
            .when(at == "achievement_unlocked").then(pl.lit(100) * pl.Series(rng.integers(1, 6, n)))
            .when(at == "reward_redeemed").then(-pl.Series(rewards[reward_pick])),
            reward_id=pl.when(at == "reward_redeemed").then(
                (pl.col("brand_id") - 1) * len(rewards) + pl.Series(reward_pick) + 1),
            channel=pl.col("action_type").replace_strict(behaviour.CHANNEL_OF, default=None)
            .fill_null(pl.when(pl.Series(rng.random(n) < 0.6)).then(pl.lit("app")).otherwise(pl.lit("web"))),
        )
        return ev

    def identifiers(self, ev: pl.DataFrame) -> pl.DataFrame:
        """Which identifiers each event carries, with the noise real producers add."""
        rng, n = self.rng, ev.height
        ch, at = pl.col("channel"), pl.col("action_type")
        r = lambda p: pl.Series(rng.random(n) < p)  # noqa: E731
        email_noisy = behaviour.email_variant(rng, ev["email"].fill_null(""))
        phone_noisy = behaviour.phone_variant(rng, ev["phone"].fill_null(""))
        signup = (at == "user_session_started") & (pl.col("t") == pl.col("created_at"))
        ev = ev.with_columns(
            id_email=pl.when(signup | r(0.08)).then(pl.when(r(0.3)).then(pl.Series(email_noisy)).otherwise(pl.col("email"))),
            id_phone=pl.when(ch.is_in(["whatsapp", "store"]) & r(0.3)).then(
                pl.when(r(0.4)).then(pl.Series(phone_noisy)).otherwise(pl.col("phone"))),
            id_loyalty_id=pl.when(ch == "store").then(pl.col("loyalty_id")),
            id_device_id=pl.when(ch == "app").then(pl.col("device_id")),
            id_cookie_id=pl.when((ch == "web") | signup | pl.col("anonymous")).then(pl.col("cookie_id")),
            id_whatsapp=pl.when(at == "whatsapp_message").then(pl.col("whatsapp")),
            id_qr_id=pl.when(at == "qr_scan").then(pl.col("qr_id")),
            id_card_last4=pl.when(at == "pos_transaction").then(pl.col("card_last4")),
        )
        # Junk: forms and SDKs that send placeholders instead of nothing.
        for col, id_type, rate in (("id_email", "email", 0.004), ("id_phone", "phone", 0.004),
                                   ("id_device_id", "device_id", 0.003), ("id_cookie_id", "cookie_id", 0.003)):
            hit = rng.random(n) < rate
            values = pl.Series(behaviour.junk(rng, id_type, n).tolist(), dtype=pl.String)
            ev = ev.with_columns(pl.when(pl.Series(hit)).then(values).otherwise(pl.col(col)).alias(col))
        return ev


    def contexts(self, ev: pl.DataFrame, members: pl.DataFrame) -> pl.DataFrame:
        rng, at = self.rng, pl.col("action_type")
        ev = ev.with_columns(context=pl.lit(None, pl.String))
        sessions = (ev["action_type"].is_in(["user_session_started", "user_session_ended"])).to_numpy()
        cards = ev["action_type"].str.starts_with("card_").to_numpy()
        ctx = np.full(ev.height, None, dtype=object)
        ctx[sessions] = behaviour.session_context(rng, int(sessions.sum()), ev["duration"].fill_null(0).to_numpy()[sessions]).to_list()
        ctx[cards] = behaviour.card_context(rng, int(cards.sum())).to_list()
        ev = ev.with_columns(context=pl.Series(ctx.tolist(), dtype=pl.String))
        # user_id is the member's row number + 1, so the referee's id and email come from it.
        referee = members.select((pl.col("user_id") - 1).alias("referee"), pl.col("email").alias("referee_email"))
        ev = ev.join(referee, on="referee", how="left").with_columns(
            context=pl.when(at.is_in(["referral_initiated", "referral_converted"])).then(
                pl.format('{{"referral_code":"REF{}","referral_email":"{}","referee_user_id":{}}}',
                          pl.col("user_id"), pl.col("referee_email"), pl.col("referee") + 1))
            .otherwise(pl.col("context"))).drop("referee_email")
        n = ev.height
        ev = ev.with_columns(
            event_id=pl.format("ev_{}", (pl.col("seq").cast(pl.UInt64) * 2_654_435_761 + self.s.seed) % (2**40)),
            ip_address=pl.when(pl.col("channel").is_in(["app", "web"])).then(pl.format(
                "{}.{}.{}.{}", pl.Series(rng.integers(1, 223, n)), pl.Series(rng.integers(0, 255, n)),
                pl.Series(rng.integers(0, 255, n)), pl.Series(rng.integers(1, 255, n)))),
            user_agent=pl.when(pl.col("channel").is_in(["app", "web"])).then(pl.Series(behaviour.user_agents(rng, n).tolist(), dtype=pl.String)),
        )
        return ev

    # --- files -------------------------------------------------------------------------
    def ndjson_lines(self, ev: pl.DataFrame, offsets: dict[int, int]) -> pl.Series:
        """Serialise with string expressions: fast, and absent fields are omitted, not null."""
        def field(name: str, expr: pl.Expr, quoted: bool = True) -> pl.Expr:
            return pl.format(f'"{name}":"{{}}"' if quoted else f'"{name}":{{}}', expr)
        ident_cols = [c for c in ev.columns if c.startswith("id_")]
        identifiers = pl.concat_str([field(c[3:], pl.col(c)) for c in ident_cols], separator=",", ignore_nulls=True)
        offset_h = pl.col("brand_id").replace_strict(offsets, default=0)
        local = pl.Series(self.rng.random(ev.height) < 0.3)
        # 30% of producers stamp local time with its offset, the rest UTC with Z.
        occurred = pl.when(local & (offset_h != 0)).then(
            pl.from_epoch(pl.col("t") + offset_h * 3600, time_unit="s").dt.strftime("%Y-%m-%dT%H:%M:%S")
            + pl.when(offset_h < 0).then(pl.format("-{}:00", (-offset_h).cast(pl.String).str.zfill(2)))
            .otherwise(pl.format("+{}:00", offset_h.cast(pl.String).str.zfill(2)))
        ).otherwise(_iso(pl.col("t")))
        parts = [
            field("event_id", pl.col("event_id")), field("brand_id", pl.col("brand_id"), False),
            field("action_type", pl.col("action_type")), field("occurred_at", occurred),
            field("user_id", pl.col("user_id"), False), field("channel", pl.col("channel")),
            field("product_id", pl.col("product_id"), False), field("reward_id", pl.col("reward_id"), False),
            field("points_awarded", pl.col("points_awarded"), False), field("amount", pl.col("amount"), False),
            pl.when(identifiers != "").then(pl.format('"identifiers":{{{}}}', identifiers)),
            field("context", pl.col("context"), False),
            field("ip_address", pl.col("ip_address")), field("user_agent", pl.col("user_agent")),
        ]
        return ev.select(pl.format("{{{}}}", pl.concat_str(parts, separator=",", ignore_nulls=True)).alias("line"))["line"]

    def write_action_logs(self, ev: pl.DataFrame, brands: pl.DataFrame) -> None:
        rng, s = self.rng, self.s
        offsets = {int(b): OFFSETS.get(tz, 0) for b, tz in zip(brands["id"], brands["timezone"])}
        n = ev.height
        # Files are cut per UTC day; 2% arrive a day late (offline app sync).
        late = rng.random(n) < 0.02
        day = (ev["t"].to_numpy() // DAY) + late
        ev = ev.with_columns(file_day=pl.Series(day))
        resend = np.flatnonzero(rng.random(n) < s.resend_rate)
        paired = np.zeros(n, dtype=bool)
        paired[resend] = True
        ev = ev.with_columns(paired=pl.Series(paired))
        dupes = ev[resend].with_columns(file_day=pl.col("file_day") + 1)
        ev = pl.concat([ev, dupes])
        malformed: dict[str, int] = {}
        if s.action_log_format == "parquet":
            frame = self._parquet_frame(ev, offsets)
            self._write_days(frame, "parquet")
        else:
            lines = self.ndjson_lines(ev, offsets)
            frame = pl.DataFrame({"file_day": ev["file_day"], "line": lines, "paired": ev["paired"]})
            frame, malformed = self._break_lines(frame)
            self._write_days(frame, "ndjson")
        unique_events = ev.height - len(resend)
        self.expected.update({
            "action_log_rows_written": ev.height, "action_log_events_unique": unique_events,
            "action_log_resent_duplicates": len(resend), "action_log_malformed": malformed,
            "action_log_events_expected_loaded": unique_events - sum(malformed.values()),
        })
        # An empty file and a half-written temporary file: both are part of real landing zones.
        last = datetime.fromtimestamp(int(day.max()) * DAY, UTC).date().isoformat()
        folder = self.landing / "app" / "action_logs" / f"dt={last}"
        write_atomic(folder / "events-empty.ndjson", b"")
        (folder / "events-9999.ndjson.gz.tmp").write_bytes(b'{"event_id":"partial"')

    def _break_lines(self, frame: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, int]]:
        """Deliberately malformed rows, each kind counted for the ground truth."""
        rng = self.rng
        n = frame.height
        # Only lines without a resent twin, so each broken line is exactly one lost event.
        pick = np.flatnonzero((rng.random(n) < self.s.malformed_rate) & ~frame["paired"].to_numpy())
        kinds = ["malformed_json", "unknown_action_type", "missing_required_field", "unparseable_timestamp", "wrong_type"]
        kind = np.asarray(kinds)[np.arange(len(pick)) % len(kinds)]
        lines = frame["line"].to_numpy().astype(object)
        # A resent duplicate of a broken line would be counted twice; only break unique lines.
        for i, k in zip(pick, kind):
            line = lines[i]
            if k == "malformed_json":
                lines[i] = line[: len(line) // 2]
            elif k == "unknown_action_type":
                lines[i] = line.replace('"action_type":"', '"action_type":"x_', 1)
            elif k == "missing_required_field":
                start = line.index('"occurred_at":"')
                lines[i] = line[:start] + line[line.index('",', start) + 2:]
            elif k == "unparseable_timestamp":
                start = line.index('"occurred_at":"') + len('"occurred_at":"')
                lines[i] = line[:start] + "yesterday evening" + line[line.index('"', start):]
            else:
                lines[i] = line.replace('"brand_id":', '"brand_id":"', 1).replace(',"action_type"', '","action_type"', 1)
        return frame.with_columns(line=pl.Series(lines.tolist(), dtype=pl.String)).drop("paired"), {k: int((kind == k).sum()) for k in kinds}

    def _parquet_frame(self, ev: pl.DataFrame, offsets: dict[int, int]) -> pl.DataFrame:
        ident = [c for c in ev.columns if c.startswith("id_")]
        return ev.select(
            "file_day", "event_id", "brand_id", "action_type",
            pl.from_epoch("t", time_unit="s").dt.replace_time_zone("UTC").alias("occurred_at"),
            "user_id", "channel", "product_id", "reward_id", "points_awarded", "amount",
            pl.struct([pl.col(c).alias(c[3:]) for c in ident]).alias("identifiers"),
            "context", "ip_address", "user_agent")

    def _write_days(self, frame: pl.DataFrame, fmt: str) -> None:
        folder = self.landing / "app" / "action_logs"

        def write(group: pl.DataFrame) -> None:
            day = datetime.fromtimestamp(int(group["file_day"][0]) * DAY, UTC).date().isoformat()
            if fmt == "parquet":
                path = folder / f"dt={day}" / "events-0000.parquet"
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(path.name + ".tmp")
                group.drop("file_day").write_parquet(tmp, compression="zstd")
                os.replace(tmp, path)
            else:
                text = "\n".join(group["line"].to_list()) + "\n"
                write_atomic(folder / f"dt={day}" / "events-0000.ndjson.gz", gzip.compress(text.encode(), compresslevel=1, mtime=0))

        groups = frame.partition_by("file_day", maintain_order=True)
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            list(pool.map(write, groups))

    # --- Customer.io and privacy inputs ------------------------------------------------
    def webhooks(self, members: pl.DataFrame) -> None:
        """Prediction and reporting webhooks as the receiver lands them (one JSON line per request)."""
        rng = self.rng
        users = members.select("user_id", "email").to_dicts()
        by_day: dict[str, list[dict]] = {}
        predictions = reporting = retries = 0
        metrics = ["delivered", "opened", "clicked", "converted", "unsubscribed", "bounced"]
        for u in users:
            if rng.random() < 0.5:
                for _ in range(int(rng.integers(1, 4))):
                    shape = int(rng.integers(0, 3))
                    if shape == 0:
                        p = {"churn_probability": round(float(rng.beta(2, 5)), 4), "engagement_score": round(float(rng.beta(3, 3)), 4),
                             "recommended_segment": "high_risk", "predicted_ltv": round(float(rng.lognormal(5, 0.8)), 2),
                             "next_best_action": "send_retention_offer"}
                    elif shape == 1:
                        p = {"product_affinity_scores": {k: round(float(rng.random()), 2) for k in ("concentrates", "vapes", "flower", "edibles")},
                             "recommended_segment": "concentrate_lover", "next_best_action": "feature_concentrate_products"}
                    else:
                        p = {"purchase_probability": round(float(rng.random()), 4), "predicted_purchase_value": round(float(rng.lognormal(4, 0.5)), 2),
                             "recommended_segment": "high_intent_buyer", "next_best_action": "send_personalized_offer"}
                    self._webhook(by_day, "prediction", {"user_id": u["user_id"], "predictions": p}, rng)
                    predictions += 1
            if rng.random() < 0.3:
                for _ in range(int(rng.integers(1, 5))):
                    at = self.as_of - int(rng.integers(60, 14 * DAY))
                    body = {"event_id": f"01J{int(rng.integers(0, 2**62)):023X}"[:26], "object_type": "email",
                            "metric": metrics[int(rng.integers(len(metrics)))], "timestamp": at,
                            "data": {"identifiers": {"id": str(u["user_id"]), "email": u["email"]},
                                     "delivery_id": f"dlv_{int(rng.integers(0, 10**9))}", "campaign_id": int(rng.integers(1, 40))}}
                    copies = 2 if rng.random() < 0.03 else 1  # Customer.io retried the delivery
                    retries += copies - 1
                    for _ in range(copies):
                        self._webhook(by_day, "reporting", body, rng, at)
                    reporting += 1
        for day, rows in sorted(by_day.items()):
            write_atomic(self.landing / "customerio" / "webhooks" / f"dt={day}" / "webhooks-0000.ndjson", ndjson_bytes(rows))
        self.expected.update({"webhook_predictions": predictions, "webhook_reporting_unique": reporting,
                              "webhook_reporting_retries": retries})

    def _webhook(self, by_day: dict, kind: str, body: dict, rng: np.random.Generator, at: int | None = None) -> None:
        received = (at or self.as_of - int(rng.integers(60, 14 * DAY))) + int(rng.integers(1, 30))
        received = min(received, self.as_of - 1)
        day = datetime.fromtimestamp(received, UTC).date().isoformat()
        by_day.setdefault(day, []).append({
            "received_at": datetime.fromtimestamp(received, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "kind": kind,
            "body": json.dumps(body, separators=(",", ":"))})

    def export(self, members: pl.DataFrame) -> None:
        """A Customer.io people export (CSV, as the App API delivers it)."""
        rng = self.rng
        exported = members.filter(pl.Series(rng.random(members.height) < 0.6))
        n = exported.height
        segments = np.asarray(['["engaged"]', '["at_risk"]', '["vip","engaged"]', "[]"], dtype=object)[rng.integers(0, 4, n)]
        frame = exported.select(
            pl.col("user_id").cast(pl.String).alias("id"), "email",
            pl.format("cio_{}", pl.col("user_id")).alias("cio_id"),
            pl.Series("segments", segments.tolist(), dtype=pl.String),
            pl.Series("churn_probability", np.round(rng.beta(2, 5, n), 4)),
            pl.Series("predicted_ltv", np.round(rng.lognormal(5, 0.8, n), 2)),
            pl.Series("email_opens_30d", rng.poisson(3, n)),
            pl.Series("unsubscribed", rng.random(n) < 0.05))
        path = self.landing / "customerio" / "exports" / f"people-{self.stamp}.csv"
        write_atomic(path, frame.write_csv().encode())
        self.expected["export_rows"] = n

    def erasure_requests(self, members: pl.DataFrame) -> None:
        rng = self.rng
        chosen = members.filter(pl.Series(rng.random(members.height) < 0.001))
        if chosen.height == 0:
            chosen = members.head(1)
        rows = [{"brand_id": b, "user_id": u, "requested_at": datetime.fromtimestamp(self.as_of - int(rng.integers(60, 7 * DAY)), UTC)
                 .strftime("%Y-%m-%dT%H:%M:%SZ")} for b, u in zip(chosen["brand_id"], chosen["user_id"])]
        write_atomic(self.landing / "app" / "erasure_requests" / f"erasure-{self.stamp}.ndjson", ndjson_bytes(rows))
        self.expected["erasure_requests"] = len(rows)

    # --- everything --------------------------------------------------------------------
    def run(self) -> dict:
        started = time.perf_counter()
        rng = self.rng
        brands = self.brands()
        products = self.products(brands)
        members = people.make_members(rng, self.s.members, brands, self.window_start, self.as_of)
        devices = people.share_devices(rng, people.expand_devices(rng, members, "device_count", "dev_"))
        cookies = people.expand_devices(rng, members, "cookie_count", "ck_")
        events, anonymous = self.events(brands, products, members, devices, cookies)
        events = self.contexts(self.identifiers(events), members)
        self.write_action_logs(events, brands)
        self.reference(brands, products, members, events)
        self.webhooks(members)
        self.export(members)
        self.erasure_requests(members)
        self.truth_dir.mkdir(parents=True, exist_ok=True)
        truth = people.ground_truth(members, devices.filter(pl.col("slot") != 9), cookies, anonymous)
        # The family tablet belongs to its owner; the other member merely uses it.
        truth.write_parquet(self.truth_dir / "identifiers.parquet")
        members.select("user_id", "brand_id", "email", "phone", "shared_phone", "referred_by", "created_at") \
            .write_parquet(self.truth_dir / "members.parquet")
        summary = {"scale": {k: str(v) for k, v in asdict(self.s).items()}, "members": members.height,
                   "anonymous_visitors": anonymous.height, **self.expected, "seconds": round(time.perf_counter() - started, 2)}
        (self.truth_dir / "expected.json").write_text(json.dumps(summary, indent=2))
        return summary


def generate(root: Path, scale: Scale) -> dict:
    return Generator(root, scale).run()
