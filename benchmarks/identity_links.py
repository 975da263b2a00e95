"""python -m benchmarks.identity_links --out links.duckdb --links 1000000 [--seed 7]

Writes a synthetic identity warehouse for the identity benchmark: N links, where one link is
one record carrying exactly two identifiers (so N records, N identifier pairs, N graph edges).

Shape: persons in three brands, each with a user_id, an email, a phone, 1-3 devices and 1-3
cookies. Every person registers (user_id+email, user_id+phone); most other records pair the
user_id with another identifier of the same person; some are anonymous cookie+device records;
~1% of persons log in on another person's device of the same brand (two user_ids meet, so the
limit rule fires); and a few cookie->cookie chains of 1,000 links start from a person's cookie,
so long-diameter components are present. About 5% of user records also carry a card_last4,
a weak identifier that never links.

Tables written (DuckDB file, replaced if present):
- intermediate.int_identity__links, int_identity__observations, int_identity__identifiers:
  what `identity.resolve.resolve` reads;
- main.card_observations: the weak-identifier rows behind the observations view;
- main.baseline_edges(left_id, right_id) and main.baseline_nodes(node_id): the same graph with
  dense integer ids (numbered like `load_graph` numbers identifiers) for networkx and splink.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

LINKS_PER_PERSON = 10
CHAIN_LENGTH = 1_000
LINKS_PER_CHAIN = 250_000  # one chain per this many links, at least one
BRANDS = np.array([101, 102, 103])
BRAND_SHARE = np.array([0.5, 0.3, 0.2])
DAY = 86_400

# Identifier kinds in the generator: (owner, k) identifies the value within a kind.
USER, EMAIL, PHONE, DEVICE, COOKIE, CHAIN_COOKIE = range(6)

RULES = """(values ('user_id', 1, 1, true), ('email', 2, 5, true), ('phone', 3, 5, true), ('whatsapp', 4, 5, true),
    ('loyalty_id', 5, 5, true), ('device_id', 6, 5, true), ('qr_id', 7, 5, true), ('cookie_id', 8, 5, true),
    ('card_last4', 9, 5, false)) as rules(id_type, priority, max_per_profile, links_profiles)"""


def persons(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Brands are contiguous blocks of person numbers, so neighbours usually share a brand."""
    brand = BRANDS[np.searchsorted(np.cumsum(BRAND_SHARE), (np.arange(n) + 0.5) / n)]
    return {"brand": brand, "devices": rng.integers(1, 4, n), "cookies": rng.integers(1, 4, n),
            "signup": rng.integers(0, 300 * DAY, n)}


def _records(person, ts, a_kind, a_owner, a_k, b_kind, b_owner, b_k) -> dict[str, np.ndarray]:
    """Columns of one kind of record; a scalar stands for the same value on every record."""
    columns = {"person": person, "ts": ts, "a_kind": a_kind, "a_owner": a_owner, "a_k": a_k,
               "b_kind": b_kind, "b_owner": b_owner, "b_k": b_k}
    return {name: np.broadcast_to(np.asarray(v, dtype=np.int64), (len(person),)) for name, v in columns.items()}


def registrations(p: dict) -> list[dict]:
    who = np.arange(len(p["brand"]))
    return [_records(who, p["signup"], USER, who, 0, EMAIL, who, 0),
            _records(who, p["signup"] + 1, USER, who, 0, PHONE, who, 0)]


def shared_devices(rng: np.random.Generator, p: dict) -> dict:
    """~1% of persons log in on the first device of the next person of the same brand."""
    n = len(p["brand"])
    a = rng.choice(n - 1, size=max(1, n // 100), replace=False) if n > 1 else np.zeros(0, dtype=np.int64)
    a = a[p["brand"][a] == p["brand"][a + 1]]
    ts = p["signup"][a] + rng.integers(DAY, 60 * DAY, len(a))
    return _records(a, ts, USER, a, 0, DEVICE, a + 1, 0)


def chains(rng: np.random.Generator, p: dict, n_chains: int) -> dict:
    """Cookie->cookie chains: link k joins chain cookie k-1 to chain cookie k; link 0 starts at a person's cookie."""
    start = rng.choice(len(p["brand"]), size=n_chains, replace=False)
    chain = np.repeat(np.arange(n_chains), CHAIN_LENGTH)
    k = np.tile(np.arange(CHAIN_LENGTH), n_chains)
    owner = start[chain]
    a_kind = np.where(k == 0, COOKIE, CHAIN_COOKIE)
    a_owner = np.where(k == 0, owner, chain)
    ts = p["signup"][owner] + DAY + k * 60
    return _records(owner, ts, a_kind, a_owner, np.maximum(k - 1, 0), CHAIN_COOKIE, chain, k)


def activity(rng: np.random.Generator, p: dict, n: int) -> dict:
    """80%: user_id with another identifier of the same person; 20%: anonymous cookie+device."""
    who = rng.integers(0, len(p["brand"]), n)
    devices, cookies = p["devices"][who], p["cookies"][who]
    ts = p["signup"][who] + rng.integers(0, 60 * DAY, n)
    # Known user: pick uniformly among email, phone, the devices and the cookies.
    pick = (rng.random(n) * (2 + devices + cookies)).astype(np.int64)
    other_kind = np.select([pick == 0, pick == 1, pick < 2 + devices], [EMAIL, PHONE, DEVICE], COOKIE)
    other_k = np.select([pick < 2, pick < 2 + devices], [0, pick - 2], pick - 2 - devices)
    anonymous = rng.random(n) < 0.2
    cookie_k = (rng.random(n) * cookies).astype(np.int64)
    device_k = (rng.random(n) * devices).astype(np.int64)
    return _records(who, ts, np.where(anonymous, COOKIE, USER), who, np.where(anonymous, cookie_k, 0),
                    np.where(anonymous, DEVICE, other_kind), who, np.where(anonymous, device_k, other_k))


def generate(n_links: int, seed: int) -> pa.Table:
    """One row per record: its brand, time and two identifiers as (kind, owner, k)."""
    rng = np.random.default_rng(seed)
    p = persons(rng, max(2, n_links // LINKS_PER_PERSON))
    n_chains = max(1, n_links // LINKS_PER_CHAIN)
    parts = [*registrations(p), shared_devices(rng, p), chains(rng, p, n_chains)]
    fixed = sum(len(part["person"]) for part in parts)
    if fixed > n_links:
        raise ValueError(f"{n_links} links is too few for this shape (needs more than {fixed})")
    parts.append(activity(rng, p, n_links - fixed))
    columns = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    person = columns.pop("person")
    card = (columns["a_kind"] == USER) & (rng.random(n_links) < 0.05)
    return pa.table({"rec": np.arange(n_links), "brand_id": p["brand"][person], **columns, "card": card})


def _value_sql(kind: str, owner: str, k: str) -> str:
    return f"""case {kind}
        when {USER} then cast(1000000 + {owner} as varchar)
        when {EMAIL} then 'member' || {owner} || '@example.com'
        when {PHONE} then '+4477' || lpad(cast({owner} as varchar), 8, '0')
        when {DEVICE} then md5('device:' || {owner} || ':' || {k})
        when {COOKIE} then 'ck_' || left(md5('cookie:' || {owner} || ':' || {k}), 24)
        when {CHAIN_COOKIE} then 'ck_' || left(md5('chain:' || {owner} || ':' || {k}), 24)
    end"""


def write(con: duckdb.DuckDBPyConnection, records: pa.Table) -> None:
    con.register("_records_arrow", records)
    con.execute("create temp table _rec as select * from _records_arrow")
    con.unregister("_records_arrow")
    con.execute("""create temp table _ends as
        select rec, brand_id, ts, a_kind as kind, a_owner as owner, a_k as k from _rec
        union all select rec, brand_id, ts, b_kind, b_owner, b_k from _rec""")
    # Identifier values are built once per distinct identifier, then numbered the way load_graph numbers them.
    con.execute(f"""create temp table _node as
        select *, row_number() over (order by brand_id, id_type, value) - 1 as node_id
        from (select brand_id, kind, owner, k,
                  case when kind = {USER} then 'user_id' when kind = {EMAIL} then 'email' when kind = {PHONE} then 'phone'
                       when kind = {DEVICE} then 'device_id' else 'cookie_id' end as id_type,
                  {_value_sql('kind', 'owner', 'k')} as value
              from (select distinct brand_id, kind, owner, k from _ends))""")
    con.execute("create schema if not exists intermediate")
    con.execute(f"""create or replace table intermediate.int_identity__links as
        select 'action_log' as source, e.brand_id, 'ev' || e.rec as record_id,
            timestamptz '2026-01-01 00:00:00+00' + to_seconds(e.ts) as observed_at,
            n.id_type, n.value, rules.priority, rules.max_per_profile
        from _ends as e join _node as n using (brand_id, kind, owner, k)
        join {RULES} using (id_type)""")
    # Weak identifiers: a card_last4 on some user records; seen, never linking.
    con.execute("""create or replace table main.card_observations as
        select 'action_log' as source, brand_id, 'ev' || rec as record_id,
            timestamptz '2026-01-01 00:00:00+00' + to_seconds(ts) as observed_at, 'card_last4' as id_type,
            lpad(cast(a_owner * 7919 % 10000 as varchar), 4, '0') as value
        from _rec where card""")
    # A view holds the same rows a table would, without writing every observation twice.
    con.execute("""create or replace view intermediate.int_identity__observations as
        select source, brand_id, record_id, observed_at, id_type, value as raw_value, value,
            cast(null as varchar) as invalid_reason
        from intermediate.int_identity__links
        union all by name
        select *, value as raw_value, cast(null as varchar) as invalid_reason from main.card_observations""")
    # Per-identifier figures from the integer columns: cheaper than grouping the strings.
    con.execute(f"""create or replace table intermediate.int_identity__identifiers as
        with seen as (
            select n.brand_id, n.id_type, n.value,
                timestamptz '2026-01-01 00:00:00+00' + to_seconds(e.first_ts) as first_seen_at,
                timestamptz '2026-01-01 00:00:00+00' + to_seconds(e.last_ts) as last_seen_at,
                e.observations, e.records
            -- A record never carries the same identifier twice, so records = observations.
            from (select brand_id, kind, owner, k, min(ts) as first_ts, max(ts) as last_ts,
                      count(*) as observations, count(*) as records
                  from _ends group by all) as e
            join _node as n using (brand_id, kind, owner, k)
            union all
            select brand_id, id_type, value, min(observed_at), max(observed_at), count(*), count(distinct record_id)
            from main.card_observations group by all
        )
        select s.*, ['action_log'] as sources, cast(null as varchar) as blocked_reason,
            rules.priority, rules.max_per_profile, rules.links_profiles
        from seen as s join {RULES} using (id_type)""")
    con.execute("""create or replace table main.baseline_edges as
        select a.node_id as left_id, b.node_id as right_id
        from _rec as r
        join _node as a on a.brand_id = r.brand_id and a.kind = r.a_kind and a.owner = r.a_owner and a.k = r.a_k
        join _node as b on b.brand_id = r.brand_id and b.kind = r.b_kind and b.owner = r.b_owner and b.k = r.b_k""")
    con.execute("create or replace table main.baseline_nodes as select node_id from _node order by node_id")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--links", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    started = time.perf_counter()
    records = generate(args.links, args.seed)
    args.out.unlink(missing_ok=True)
    with duckdb.connect(str(args.out)) as con:
        write(con, records)
        rows, nodes, edges = con.execute("""select (select count(*) from intermediate.int_identity__links),
            (select count(*) from main.baseline_nodes), (select count(*) from main.baseline_edges)""").fetchone()
    print(json.dumps({"links": args.links, "link_rows": rows, "identifiers": nodes, "edges": edges,
                      "chains": max(1, args.links // LINKS_PER_CHAIN), "chain_length": CHAIN_LENGTH,
                      "file_mb": round(args.out.stat().st_size / 2**20, 1),
                      "seconds": round(time.perf_counter() - started, 2)}))


if __name__ == "__main__":
    main()
