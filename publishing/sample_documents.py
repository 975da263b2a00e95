"""Synthetic member card documents, valid against docs/schemas/cards/member_cards.schema.json.

Shaped like the dbt mart `marts.member_card_documents` (balance, rank, wishlist goals, achievement
progress and two to four ranked cards, about 1-3 KB each) for the publishing tests and benchmark.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator

import orjson

GENERATED_AT = "2026-11-20T06:00:00Z"
CARD_TYPES = ["wishlist_goal", "rank_up", "near_complete_achievement", "referral_prompt", "retention_offer",
              "high_value_exclusive", "product_discovery", "reward_offer"]
RANKS = [("bronze", "Bronze", 1.0, 0), ("silver", "Silver", 1.1, 1_000), ("gold", "Gold", 1.25, 5_000),
         ("platinum", "Platinum", 1.5, 20_000)]


def _hex(seed: str, length: int) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def member_document(brand_id: int, user_id: int, *, revision: int = 0,
                    generated_at: str = GENERATED_AT) -> dict:
    """One member's document; the same arguments always give the same document.

    `revision` changes the content (balance, scores), so a new revision is a changed document.
    """
    rng = random.Random(f"{brand_id}:{user_id}:{revision}")
    balance = rng.randint(0, 20_000)
    lifetime = balance + rng.randint(0, 30_000)
    rank_index = max(i for i, rank in enumerate(RANKS) if rank[3] <= lifetime)
    key, name, multiplier, _ = RANKS[rank_index]
    next_rank = RANKS[rank_index + 1] if rank_index + 1 < len(RANKS) else None
    wishlist = [{"reward_id": rng.randint(1, 500), "reward_name": f"Reward {rng.randint(1, 500)}",
                 "points_cost": (cost := rng.randint(100, 25_000)), "points_away": max(cost - balance, 0)}
                for _ in range(rng.randint(0, 3))]
    achievements = []
    for index in range(rng.randint(0, 3)):
        target = rng.choice([3, 5, 10, 20])
        current = rng.randint(0, target)
        achievements.append({"key": f"achievement_{index}", "name": f"Collector level {index + 1}",
                             "current": current, "target": target, "percent": round(100 * current / target, 1),
                             "completed": current >= target, "window": rng.choice(["30d", "90d", "lifetime"])})
    cards = []
    for position, card_type in enumerate(rng.sample(CARD_TYPES, rng.randint(2, 4)), start=1):
        progress = ({"current": rng.randint(0, 900), "target": 1_000, "unit": "points"}
                    if card_type in ("wishlist_goal", "rank_up", "near_complete_achievement") else None)
        cards.append({
            "id": f"card_{_hex(f'{brand_id}:{user_id}:{card_type}', 16)}",
            "type": card_type,
            "position": position,
            "score": round(rng.random() * 100, 4),
            "title": f"{card_type.replace('_', ' ').capitalize()} for you",
            "body": "You are close: two more scans or one referral and this reward is yours. "
                    "Scan a product in store or invite a friend to earn the missing points.",
            "cta": "See how",
            "progress": progress,
            "explanation": {"reason_codes": [card_type, rng.choice(["high_propensity", "segment_loyal",
                                                                    "churn_risk", "category_affinity"])],
                            "details": {"propensity": round(rng.random(), 4), "segment": "Loyal",
                                        "points_balance": balance, "rank": key}},
            "valid_from": "2026-11-20T00:00:00Z",
            "valid_until": "2026-11-27T00:00:00Z",
        })
    return {
        "schema_version": "1.0",
        "brand_id": brand_id,
        "user_id": user_id,
        "profile_id": f"prof_{_hex(f'{brand_id}:{user_id}', 20)}",
        "generated_at": generated_at,
        "points_balance": balance,
        "rank": {"key": key, "name": name, "multiplier": multiplier,
                 "next_rank_key": next_rank[0] if next_rank else None,
                 "next_rank_points": next_rank[3] if next_rank else None,
                 "points_to_next_rank": max(next_rank[3] - lifetime, 0) if next_rank else None},
        "wishlist_goals": wishlist,
        "achievements": achievements,
        "cards": cards,
    }


def member_documents(members: int, *, brands: int = 3, revision: int = 0,
                     generated_at: str = GENERATED_AT) -> Iterator[tuple[int, int, bytes]]:
    """(brand_id, user_id, document bytes) for user ids 1..members spread over `brands` brands."""
    for user_id in range(1, members + 1):
        brand_id = 1 + user_id % brands
        yield brand_id, user_id, orjson.dumps(member_document(brand_id, user_id, revision=revision,
                                                              generated_at=generated_at))
