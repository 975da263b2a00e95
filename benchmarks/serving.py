"""python -m benchmarks.serving [--members 100000] [--seconds 20] [--connections 64]

Card serving against a plain static file server, and the webhook receiver's throughput.

Needs Debian's nginx and wrk; when they are missing the benchmark installs them with
``apt-get install -y nginx wrk`` (root, Debian/Ubuntu). Steps, all on this machine:

1. publish N synthetic member documents (publishing/sample_documents.py) into a temporary
   card store, and write the same documents as a static tree ``<brand>/<user>.json`` with
   precompressed ``.json.gz`` next to each (the store's own gzip bytes);
2. our server (uvicorn, ``serving.app:app_factory``) under wrk: 64 connections, a Lua script
   rotating over every member with a valid token for each and ``Accept-Encoding: gzip``;
   measured with 2 workers (one per core: production default) and 1 worker (on this 2-core
   box wrk itself needs a core), and with store reads in a threadpool instead of inline;
3. nginx on loopback serving the static tree with ``gzip_static on``, same wrk settings;
4. the webhook receiver under wrk POSTing validly signed reporting webhooks; afterwards the
   landing zone must hold exactly as many lines as the server acknowledged (its access log
   counts the 200s; wrk's own count is lower by at most the requests in flight when it stopped).

Requests/s and p50/p99 latency (wrk --latency) print as a table and are saved under
benchmarks/results/ (serving-<timestamp>.json).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import secrets
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
import psutil

from benchmarks.measure import machine, scratch_root, write_result
from ingestion.paths import PROJECT_ROOT
from publishing.card_store import CardStoreWriter, StoredDocument
from publishing.sample_documents import member_document
from serving.tokens import parse_keys, sign
from serving.webhooks import signature

# Fresh random keys per run: the server refuses guessable ones.
TOKEN_KEYS = f"bench:{secrets.token_hex(32)}"
WEBHOOK_KEY = secrets.token_hex(32)
BRANDS = 4
SIGNED_WEBHOOKS = 20_000  # distinct signed requests wrk rotates over (Lua cannot compute HMAC)


def ensure_tools() -> None:
    if shutil.which("nginx") and shutil.which("wrk"):
        return
    print("installing nginx and wrk (apt-get) ...", flush=True)
    subprocess.run(["apt-get", "install", "-y", "nginx", "wrk"], check=True, stdout=subprocess.DEVNULL,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def members(count: int) -> list[tuple[int, int]]:
    return [(1 + i % BRANDS, 1 + i // BRANDS) for i in range(count)]


def publish(root: Path, count: int) -> dict:
    started = time.perf_counter()
    documents = ((b, u, orjson.dumps(member_document(b, u))) for b, u in members(count))
    with CardStoreWriter(root / "cards") as writer:
        result = writer.publish(documents)
    return {"members": result.members, "seconds": round(time.perf_counter() - started, 1),
            "store_mb": round(sum(p.stat().st_size for p in (root / "cards").iterdir()) / 2**20, 1)}


def write_static_tree(root: Path, cards_root: Path, count: int) -> Path:
    """The same documents as files, with the store's gzip bytes as the precompressed twin."""
    import sqlite3

    tree = root / "static"
    con = sqlite3.connect(cards_root / "cards.sqlite")
    rows = con.execute("SELECT e.brand_id, e.user_id, d.body_gzip, d.size, d.digest FROM entries e "
                       "JOIN documents d ON d.digest = e.digest WHERE e.to_version IS NULL")
    written = 0
    for brand_id, user_id, body_gzip, size, digest in rows:
        folder = tree / str(brand_id)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{user_id}.json").write_bytes(StoredDocument(1, digest, body_gzip, size).body())
        (folder / f"{user_id}.json.gz").write_bytes(body_gzip)
        written += 1
    con.close()
    assert written == count, (written, count)
    for path in [root, tree, *tree.iterdir()]:
        path.chmod(0o755)  # nginx workers run as an unprivileged user
    return tree


# LuaJIT allows 65,536 constants per function, so the request table is read from a data file
# (one "path<TAB>authorization" or "body<TAB>signature" line each) instead of inlined in the script.
ROTATE_OVER_LINES = """
local items = {}
for line in io.lines("%(data)s") do
  local a, b = line:match("^([^\t]*)\t(.*)$")
  items[#items + 1] = {a, b}
end
local n = #items
local i = 0
init = function(args) i = math.random(n) end
"""

CARDS_REQUEST = """
request = function()
  i = i %% n + 1
  local headers = {["Accept-Encoding"] = "gzip"}
  if items[i][2] ~= "" then headers["Authorization"] = items[i][2] end
  return wrk.format("GET", items[i][1], headers)
end
"""

WEBHOOK_REQUEST = """
local ts = "%(timestamp)s"
request = function()
  i = i %% n + 1
  return wrk.format("POST", "/webhooks/customer-io", {["Content-Type"] = "application/json",
    ["X-CIO-Timestamp"] = ts, ["X-CIO-Signature"] = items[i][2]}, items[i][1])
end
"""


def lua_cards_script(path: Path, count: int, with_tokens: bool) -> Path:
    keys = parse_keys(TOKEN_KEYS)
    expires = int(time.time()) + 3600
    data = path.with_suffix(".tsv")
    with open(data, "w") as out:
        for brand_id, user_id in members(count):
            if with_tokens:
                out.write(f"/v1/brands/{brand_id}/members/{user_id}/cards\t"
                          f"Bearer {sign(keys, brand_id, user_id, expires)}\n")
            else:
                out.write(f"/{brand_id}/{user_id}.json\t\n")
    path.write_text(ROTATE_OVER_LINES % {"data": data} + CARDS_REQUEST % {})
    return path


def lua_webhook_script(path: Path) -> Path:
    now = str(int(time.time()))
    data = path.with_suffix(".tsv")
    with open(data, "w") as out:
        for n in range(SIGNED_WEBHOOKS):
            body = json.dumps({"event_id": f"bench-{now}-{n}", "metric": "delivered", "timestamp": int(now),
                               "object_type": "email", "data": {"identifiers": {"id": str(n)}, "delivery_id": f"d{n}"}})
            out.write(f"{body}\t{signature(WEBHOOK_KEY.encode(), now, body.encode())}\n")
    path.write_text(ROTATE_OVER_LINES % {"data": data} + WEBHOOK_REQUEST % {"timestamp": now})
    return path


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a server process and its workers."""
    root = psutil.Process(pid)
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def run_wrk(url: str, script: Path, seconds: int, connections: int, server: subprocess.Popen) -> dict:
    """wrk figures, plus the server's CPU time per request: unlike requests/s, that figure
    hardly depends on wrk competing for the same two cores or on other load on the machine."""
    cpu_before = cpu_seconds(server.pid)
    result = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency",
                             "-s", str(script), url], check=True, capture_output=True, text=True)
    out = result.stdout
    if ".lua:" in result.stdout + result.stderr:
        raise RuntimeError(f"wrk script error: {result.stdout}{result.stderr}")  # wrk would go on with GET /

    def latency(percent: str) -> float:
        value, unit = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE).groups()
        return round(float(value) * UNITS[unit], 3)

    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    if non_2xx:  # every request is valid: a refusal means the harness is broken, not a figure
        raise RuntimeError(f"{non_2xx.group(1)} non-2xx responses from {url}:\n{out}")
    cpu = cpu_seconds(server.pid) - cpu_before
    return {"server_cpu_us_per_request": round(cpu / requests * 1e6), "requests_per_second": round(float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))),
            "p50_ms": latency("50"), "p99_ms": latency("99"), "requests": requests,
            "socket_errors": errors.group(1).strip() if errors else None}


def wait_ready(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_server(data: Path, workers: int, log: Path, store_reads: str = "inline") -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "SYNERGY_DATA_DIR": str(data), "SYNERGY_CARD_TOKEN_KEYS": TOKEN_KEYS,
           "CUSTOMERIO_WEBHOOK_SIGNING_KEY": WEBHOOK_KEY, "SYNERGY_CARD_STORE_READS": store_reads}
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "serving.app:app_factory", "--factory",
                                 "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
                                 "--no-access-log", "--log-level", "warning"],
                                cwd=PROJECT_ROOT, env=env, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    wait_ready(f"{url}/readyz", proc, log)
    return proc, url


def bench_server(data: Path, scratch: Path, script: Path, seconds: int, connections: int, workers: int,
                 store_reads: str) -> dict:
    proc, url = start_server(data, workers, scratch / f"uvicorn-{workers}-{store_reads}.log", store_reads)
    try:
        return {"server": "uvicorn", "workers": workers, "store_reads": store_reads,
                **run_wrk(url, script, seconds, connections, proc)}
    finally:
        stop(proc)


NGINX_CONF = """
worker_processes {workers};
pid {root}/nginx.pid;
error_log {root}/nginx-error.log warn;
daemon off;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  types {{ application/json json; }}
  client_body_temp_path {root}/tmp;
  proxy_temp_path {root}/tmp;
  fastcgi_temp_path {root}/tmp;
  uwsgi_temp_path {root}/tmp;
  scgi_temp_path {root}/tmp;
  server {{
    listen 127.0.0.1:{port};
    root {tree};
    gzip_static on;
    add_header Cache-Control "private, max-age=60";
  }}
}}
"""


def bench_nginx(scratch: Path, tree: Path, script: Path, seconds: int, connections: int, workers: int) -> dict:
    port = free_port()
    (scratch / "tmp").mkdir(exist_ok=True)
    conf = scratch / "nginx.conf"
    conf.write_text(NGINX_CONF.format(workers=workers, root=scratch, port=port, tree=tree))
    log = scratch / "nginx-error.log"
    log.touch()
    proc = subprocess.Popen(["nginx", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        brand_id, user_id = members(1)[0]
        first = f"http://127.0.0.1:{port}/{brand_id}/{user_id}.json"
        wait_ready(first, proc, log)
        probe = httpx.get(first, headers={"Accept-Encoding": "gzip"})
        assert probe.headers.get("content-encoding") == "gzip", "gzip_static is not serving the .gz files"
        return {"server": "nginx", "workers": workers, **run_wrk(f"http://127.0.0.1:{port}", script, seconds,
                                                                 connections, proc)}
    finally:
        stop(proc)


def bench_webhooks(scratch: Path, seconds: int, connections: int, workers: int) -> dict:
    data = scratch / "webhook-data"
    with CardStoreWriter(data / "cards") as writer:  # readiness needs a published version
        writer.publish([(1, 1, orjson.dumps(member_document(1, 1)))])
    script = lua_webhook_script(scratch / "webhooks.lua")
    log = scratch / "uvicorn-webhooks.log"
    proc, url = start_server(data, workers, log)
    try:
        figures = run_wrk(url, script, seconds, connections, proc)
    finally:
        stop(proc)  # a clean stop completes the open segments
    folder = data / "landing" / "customerio" / "webhooks"
    lines = sum(path.read_bytes().count(b"\n") for path in folder.rglob("*.ndjson"))
    leftovers = [p.name for p in folder.rglob("*.tmp")]
    acknowledged = sum(1 for line in log.read_text().splitlines() if line.startswith("{")
                       and (entry := json.loads(line)).get("event") == "request"
                       and entry.get("path") == "/webhooks/customer-io" and entry.get("status") == 200)
    wrk_acknowledged = figures["requests"]
    check = (lines == acknowledged and not leftovers and 0 <= acknowledged - wrk_acknowledged <= connections)
    return {"server": "uvicorn webhooks", "workers": workers, **figures, "acknowledged_by_server": acknowledged,
            "acknowledged_seen_by_wrk": wrk_acknowledged, "landed_lines": lines,
            "segments": len(list(folder.rglob("*.ndjson"))), "tmp_left": leftovers, "lines_match": check}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=20, help="wrk duration of each run")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--scratch", type=Path, default=None)
    args = parser.parse_args()
    ensure_tools()
    scratch = scratch_root("synergy-bench-serving-", args.scratch)
    report = {"machine": machine(), "members": args.members, "seconds": args.seconds,
              "connections": args.connections, "runs": []}
    print(f"machine: {report['machine']}", flush=True)
    try:
        data = scratch / "data"
        report["publish"] = publish(data, args.members)
        print(f"published {report['publish']}", flush=True)
        tree = write_static_tree(scratch, data / "cards", args.members)
        cards_script = lua_cards_script(scratch / "cards.lua", args.members, with_tokens=True)
        static_script = lua_cards_script(scratch / "static.lua", args.members, with_tokens=False)
        runs = [
            lambda: bench_server(data, scratch, cards_script, args.seconds, args.connections, 2, "inline"),
            lambda: bench_server(data, scratch, cards_script, args.seconds, args.connections, 1, "inline"),
            lambda: bench_server(data, scratch, cards_script, args.seconds, args.connections, 2, "threadpool"),
            lambda: bench_nginx(scratch, tree, static_script, args.seconds, args.connections, 2),
            lambda: bench_webhooks(scratch, args.seconds, args.connections, 2),
        ]
        for run in runs:
            row = run()
            report["runs"].append(row)
            print(f"{row['server']:18s} workers {row['workers']}  {row.get('store_reads', ''):10s} "
                  f"{row['requests_per_second']:>8,} req/s  p50 {row['p50_ms']:>7.2f} ms  p99 {row['p99_ms']:>7.2f} ms  "
                  f"server CPU {row['server_cpu_us_per_request']:>5} us/request"
                  + (f"  lines match: {row['lines_match']} ({row['landed_lines']:,} lines)"
                     if "lines_match" in row else ""), flush=True)
        print(f"saved {write_result('serving', report)}", flush=True)
        print(json.dumps(report["runs"]), flush=True)
    finally:
        print("removing the scratch directory (200,000 static files take a while) ...", flush=True)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
