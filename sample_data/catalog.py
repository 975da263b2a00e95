"""Static vocabulary for sample data: product taxonomy, ranks, rewards, achievements."""

from __future__ import annotations

PRODUCT_FORMS = {  # form -> (msrp range, relative popularity)
    "Vape Cartridge": ((30.0, 60.0), 0.26),
    "Flower": ((25.0, 65.0), 0.24),
    "Pre-Roll": ((8.0, 18.0), 0.16),
    "Edible": ((12.0, 30.0), 0.14),
    "Concentrate": ((35.0, 80.0), 0.10),
    "Tincture": ((30.0, 70.0), 0.06),
    "Topical": ((20.0, 45.0), 0.04),
}
STRAINS = [
    ("Blue Dream", "Sativa"), ("Sour Diesel", "Sativa"), ("Jack Herer", "Sativa"), ("Green Crack", "Sativa"),
    ("Durban Poison", "Sativa"), ("Northern Lights", "Indica"), ("Granddaddy Purple", "Indica"),
    ("Bubba Kush", "Indica"), ("Purple Punch", "Indica"), ("Ice Cream Cake", "Indica"),
    ("OG Kush", "Hybrid"), ("Girl Scout Cookies", "Hybrid"), ("Gelato", "Hybrid"), ("Wedding Cake", "Hybrid"),
    ("Gorilla Glue", "Hybrid"), ("Zkittlez", "Hybrid"),
]
PRODUCT_LINES = ["Classic", "Reserve", "Lab Series", "Everyday", "Craft"]
TERPENES = ["Myrcene", "Limonene", "Caryophyllene", "Pinene", "Linalool", "Terpinolene"]
TAGS = ["effect-energetic", "effect-relaxed", "effect-focused", "flavor-sweet", "flavor-citrus", "flavor-earthy"]

RANKS = [  # key, name, points required, multiplier
    ("bronze", "Bronze", 0, 1.00),
    ("silver", "Silver", 1000, 1.10),
    ("gold", "Gold", 5000, 1.25),
    ("platinum", "Platinum", 15000, 1.50),
]
REWARDS = [  # name, points cost, category
    ("Sticker Pack", 300, "merch"), ("$5 Off Coupon", 500, "discount"), ("Lighter", 600, "merch"),
    ("$10 Off Coupon", 1000, "discount"), ("Branded Grinder", 1500, "merch"), ("Pre-Roll Sampler", 2000, "product"),
    ("Premium T-Shirt", 5000, "merch"), ("Hoodie", 8000, "merch"), ("Vape Battery", 3000, "product"),
    ("Event Ticket", 12000, "experience"), ("Cartridge of Choice", 4000, "product"), ("Concentrate Sampler", 6000, "product"),
]
BRAND_NAMES = [
    ("Green Leaf Co", "green-leaf", "America/Los_Angeles", "us"),
    ("Sunset Farms", "sunset-farms", "America/Denver", "us"),
    ("Canal Botanicals", "canal-botanicals", "Europe/Amsterdam", "eu"),
    ("Empire Cannabis", "empire-cannabis", "America/New_York", "us"),
    ("Pacific Roots", "pacific-roots", "America/Los_Angeles", "us"),
]
FIRST_NAMES = ["jane", "john", "maria", "david", "sarah", "michael", "emma", "james", "olivia", "daniel", "ava",
               "luis", "sofia", "noah", "mia", "liam", "chloe", "ethan", "zoe", "lucas", "nina", "omar", "yuki", "priya"]
LAST_NAMES = ["doe", "smith", "garcia", "johnson", "lee", "brown", "martinez", "davis", "lopez", "wilson", "nguyen",
              "kim", "patel", "jansen", "de vries", "müller", "rossi", "silva", "cohen", "okafor"]
EMAIL_DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "icloud.com", "hotmail.com", "proton.me"]
US_AREA_CODES = [212, 213, 303, 305, 310, 312, 415, 503, 512, 602, 617, 646, 702, 713, 718, 818, 858, 917, 206, 404]
# Values that real systems emit when an identifier is unknown; identity must never link on them.
JUNK_IDENTIFIERS = {
    "email": ["test@test.com", "null", "noemail@example.com", "undefined", " "],
    "phone": ["0000000000", "1234567890", "null", "+10000000000"],
    "device_id": ["00000000-0000-0000-0000-000000000000", "unknown", "Unknown", "UNKNOWN", "null", "undefined"],
    "cookie_id": ["undefined", "Undefined", "null", "0"],
    "loyalty_id": ["N/A", "n/a", "NULL", "0"],
    "qr_id": ["NULL", "null", "N/A"],
}
CITIES = [("Los Angeles", "California", "USA"), ("San Francisco", "California", "USA"), ("Denver", "Colorado", "USA"),
          ("New York", "New York", "USA"), ("Amsterdam", "North Holland", "NLD"), ("Seattle", "Washington", "USA")]
BROWSERS = ["Safari", "Chrome", "Firefox", "Samsung Internet", "Edge"]

# Achievement configs: data, not code. Criteria shape: metric (count | sum | distinct_count),
# event, field (for sum/distinct), filters (event/product attributes), operator, value,
# timeframe (all_time | rolling_days | calendar | streak), optional tiers/repeatable, and an
# ai_enhancement gate on a Customer.io prediction.
ACHIEVEMENTS = [
    dict(key="first_scan", name="First Scan", type="scan_count", points=100, rarity="common",
         criteria={"metric": "count", "event": "product_scanned", "operator": ">=", "value": 1, "timeframe": {"type": "all_time"}}),
    dict(key="first_cartridge_scan", name="First Cartridge", type="scan_count", points=100, rarity="common",
         criteria={"metric": "count", "event": "product_scanned", "filters": {"product_form": "Vape Cartridge"},
                   "operator": ">=", "value": 1, "timeframe": {"type": "all_time"}},
         ai={"gate": {"prediction": "product_affinity_scores.vapes", "operator": ">=", "value": 0.8}, "path": "Vape Enthusiast Journey"}),
    dict(key="three_cartridge_scans", name="Cartridge Regular", type="scan_count", points=300, rarity="uncommon",
         criteria={"metric": "count", "event": "product_scanned", "filters": {"product_form": "Vape Cartridge"},
                   "operator": ">=", "value": 3, "timeframe": {"type": "all_time"}},
         ai={"gate": {"prediction": "product_affinity_scores.vapes", "operator": ">=", "value": 0.8}, "path": "Vape Enthusiast Journey"}),
    dict(key="try_new_cartridge_brand", name="Cartridge Explorer", type="scan_count", points=500, rarity="rare",
         criteria={"metric": "distinct_count", "event": "product_scanned", "field": "product_line",
                   "filters": {"product_form": "Vape Cartridge"}, "operator": ">=", "value": 2, "timeframe": {"type": "all_time"}},
         ai={"gate": {"prediction": "product_affinity_scores.vapes", "operator": ">=", "value": 0.8}, "path": "Vape Enthusiast Journey"}),
    dict(key="five_small_purchases", name="Consistent Buyer", type="purchase_amount", points=0, rarity="uncommon",
         reward={"exclusive_access": True},
         criteria={"metric": "count", "event": ["purchase", "pos_transaction"], "filters": {"amount": {"<": 25}},
                   "operator": ">=", "value": 5, "timeframe": {"type": "rolling_days", "days": 30}}),
    dict(key="ten_small_purchases", name="Loyal Buyer", type="purchase_amount", points=0, rarity="rare",
         reward={"special_discount": 0.1},
         criteria={"metric": "count", "event": ["purchase", "pos_transaction"], "filters": {"amount": {"<": 25}},
                   "operator": ">=", "value": 10, "timeframe": {"type": "rolling_days", "days": 60}}),
    dict(key="monthly_spender", name="Big Month", type="purchase_amount", points=250, rarity="uncommon", repeatable=True,
         criteria={"metric": "sum", "event": ["purchase", "pos_transaction"], "field": "amount", "operator": ">=",
                   "value": 150, "timeframe": {"type": "calendar", "period": "month"}}),
    dict(key="scan_streak_7", name="Week Streak", type="custom", points=400, rarity="rare",
         criteria={"metric": "streak", "event": "product_scanned", "unit": "day", "operator": ">=", "value": 7,
                   "timeframe": {"type": "streak"}}),
    dict(key="weekly_regular", name="Weekly Regular", type="custom", points=300, rarity="uncommon",
         criteria={"metric": "streak", "event": "product_scanned", "unit": "week", "operator": ">=", "value": 4,
                   "timeframe": {"type": "streak"}}),
    dict(key="referral_champion", name="Referral Champion", type="referral_count", points=500, rarity="rare",
         criteria={"metric": "count", "event": "referral_converted", "operator": ">=", "value": 3, "timeframe": {"type": "all_time"},
                   "tiers": [{"value": 1, "points": 100, "badge": "bronze"}, {"value": 3, "points": 500, "badge": "silver"},
                             {"value": 10, "points": 2000, "badge": "gold"}]}),
    dict(key="wishlist_builder", name="Dream List", type="wishlist_items", points=50, rarity="common",
         criteria={"metric": "count", "event": "wishlist_added", "operator": ">=", "value": 3, "timeframe": {"type": "all_time"}}),
    dict(key="sativa_explorer", name="Sativa Explorer", type="scan_count", points=200, rarity="uncommon",
         criteria={"metric": "distinct_count", "event": "product_scanned", "field": "product_id",
                   "filters": {"strain_type": "Sativa"}, "operator": ">=", "value": 3, "timeframe": {"type": "calendar", "period": "quarter"}}),
    dict(key="collector", name="Collector", type="achievement_unlocked", points=1000, rarity="epic",
         criteria={"metric": "count", "event": "achievement_unlocked", "operator": ">=", "value": 5, "timeframe": {"type": "all_time"}}),
]
