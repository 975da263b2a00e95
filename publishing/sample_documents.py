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
                             "current": current, "target": target, "unit": "actions",
                             "percent": round(100 * current / target, 1),
                             "completed": current >= target, "window": rng.choice(["30d", "90d", "lifetime"])})
    cards = [_card(rng, brand_id, user_id, card_type, position, balance)
             for position, card_type in enumerate(rng.sample(CARD_TYPES, rng.randint(2, 4)), start=1)]
    return {
        "schema_version": "2.1",
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
        "experiments": [{"key": "personalized_vs_generic", "arm": rng.choice(["personalized", "generic"])}],
    }


def _action_and_details(rng: random.Random, card_type: str, balance: int) -> tuple[str, dict, dict]:
    """The card type's action kind, target and details, shaped as the dbt mart builds them."""
    reward = {"reward_id": rng.randint(1, 500), "product_id": rng.choice([None, rng.randint(1, 500)])}
    cost = rng.randint(100, 25_000)
    multiplier = rng.choice([1.0, 1.1, 1.25, 1.5])
    match card_type:
        case "wishlist_goal":
            gap = max(cost - balance, 0)
            return ("redeem_reward" if gap == 0 else "earn_points"), reward, {
                "points_cost": cost, "gap_points": gap, "scans_needed": -(-gap // 125), "referrals_needed": -(-gap // 188),
                "rank_multiplier": multiplier, "closing_achievements": []}
        case "rank_up":
            return "view_rank", {"rank_key": "gold"}, {"gap_points": 1_200, "next_rank": "gold", "next_rank_points": 5_000,
                                                       "scans_needed": 12}
        case "near_complete_achievement":
            return "view_achievement", {"achievement_key": "collector"}, {"percent": 80.0, "reward_points": 200}
        case "referral_prompt":
            return "invite_friend", {}, {"referral_points": 150, "rank_multiplier": multiplier,
                                         "points_per_referral": round(150 * multiplier)}
        case "retention_offer":
            return "claim_offer", {"offer_key": "double_points_week"}, {"churn_probability": round(rng.random(), 4),
                                                                         "risk_level": "HIGH"}
        case "high_value_exclusive":
            return "view_exclusives", {}, {"segment": "Loyal"}
        case "product_discovery":
            return "view_product", {"product_id": rng.randint(1, 500)}, {"product_form": "vape", "share": 0.75, "msrp": 39.99}
        case "reward_offer":
            return "redeem_reward", reward, {"base_price": cost, "customer_multiplier": 0.85, "inventory_multiplier": 0.8,
                                             "dynamic_price": round(cost * 0.68)}
    raise ValueError(card_type)


def _card(rng: random.Random, brand_id: int, user_id: int, card_type: str, position: int, balance: int) -> dict:
    kind, target, details = _action_and_details(rng, card_type, balance)
    progress = None
    if card_type in ("wishlist_goal", "rank_up", "near_complete_achievement", "reward_offer"):
        current = rng.randint(0, 1_200)
        progress = {"current": current, "target": 1_000, "unit": "points", "display_current": min(current, 1_000),
                    "percent": min(current, 1_000) // 10}
    return {
        "id": f"card_{_hex(f'{brand_id}:{user_id}:{card_type}', 16)}",
        "type": card_type,
        "position": position,
        "score": round(rng.random(), 6),
        "title": f"{card_type.replace('_', ' ').capitalize()} for you",
        "body": "You are close: two more scans or one referral and this reward is yours. "
                "Scan a product in store or invite a friend to earn the missing points.",
        "image_url": None,
        "action": {"kind": kind, "label": "See how", "url": f"https://app.example.com/b/{brand_id}/{kind}", "target": target},
        "dismissible": True,
        "progress": progress,
        "explanation": {"reasons": [{"code": card_type, "text": "Why you see this card."},
                                    {"code": rng.choice(["segment_loyal", "churn_risk_high", "category_affinity"]),
                                     "text": "And one more reason."}],
                        "details": details},
        "valid_from": "2026-11-20T00:00:00Z",
        "valid_until": "2026-11-27T00:00:00Z",
    }


def member_documents(members: int, *, brands: int = 3, revision: int = 0,
                     generated_at: str = GENERATED_AT) -> Iterator[tuple[int, int, bytes]]:
    """(brand_id, user_id, document bytes) for user ids 1..members spread over `brands` brands."""
    for user_id in range(1, members + 1):
        brand_id = 1 + user_id % brands
        yield brand_id, user_id, orjson.dumps(member_document(brand_id, user_id, revision=revision,
                                                              generated_at=generated_at))
