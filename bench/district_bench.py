"""District ingest benchmark: ``python bench/district_bench.py [--offices 400] [--rows 50] [--hubs 2]``.

A private PostgreSQL (fsync and synchronous_commit on) and mosquitto on this machine; N simulated offices
(antre/ops/district_sim.py: the wire behaviour of ``antre serve``'s district outbox) publish their rows through
the broker; ``antre hub`` instances (threads of this process, each its own MQTT and PostgreSQL connection) ingest
them. Every figure is printed beside PostgreSQL's own insert rate measured in the same run:

- baseline 1: durable single-row commits per second (one connection, autocommit INSERT);
- baseline 2: rows per second of one bare batched INSERT ... SELECT unnest(...) per 2000 rows, no MQTT;
- ingest: rows per second from the first publish until every row is stored exactly once;
- lag: publish -> row written, per row (p50, p95, max), at a paced "busy morning" rate;
- the dashboard's overview page (HTTP, signed in, ranked by IKM) over a year of history for every office,
  beside a bare count of today's rows per office.

See docs/scaling.md for the figures of a run and what they mean.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from antre.hub.ingest import Hub  # noqa: E402
from antre.ops.devtools import LocalBroker, wait_for  # noqa: E402
from antre.ops.district_sim import SimFleet, SimOffice  # noqa: E402
from antre.storage import district_store  # noqa: E402
from bench.postgres import Postgres  # noqa: E402


def single_row_commits(url: str, n: int) -> float:
    conn = district_store.connect(url)
    conn.autocommit = True
    conn.execute("CREATE TABLE IF NOT EXISTS base_events (office_id text, seq bigint, kind text, at timestamptz, "
                 "business_date date, data jsonb, PRIMARY KEY (office_id, seq))")
    now = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    for i in range(n):
        conn.execute("INSERT INTO base_events VALUES (%s, %s, 'issued', %s, %s, '{}')", ("b1", i, now, now.date()))
    rate = n / (time.perf_counter() - t0)
    conn.close()
    return rate


def batched_inserts(url: str, n: int, batch: int = 2000) -> float:
    conn = district_store.connect(url)
    now = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    for start in range(0, n, batch):
        k = min(batch, n - start)
        with conn.transaction():
            conn.execute("INSERT INTO base_events SELECT * FROM unnest(%s::text[], %s::bigint[], %s::text[], "
                         "%s::timestamptz[], %s::date[], %s::jsonb[])",
                         (["b2"] * k, list(range(start, start + k)), ["issued"] * k, [now] * k,
                          [now.date()] * k, ['{"number": "A-001"}'] * k))
    rate = n / (time.perf_counter() - t0)
    conn.close()
    return rate


def fill_history(conn, names: list[str], days: int, per_day: int, today) -> int:
    """``days`` of history before ``today`` for every office in ``names`` (``per_day`` rows a day: issued,
    called, completed and ratings), written by SQL (generate_series); the number of event rows after."""
    with conn.transaction():
        conn.execute("""
            INSERT INTO district_events (office_id, seq, kind, at, business_date, data)
            SELECT o, 1000000 + d * %(per)s + k,
                   (ARRAY['issued','called','completed','rating'])[k %% 4 + 1],
                   (%(today)s::date - d)::timestamptz + make_interval(hours => 1, mins => k),
                   %(today)s::date - d,
                   CASE WHEN k %% 4 = 3 THEN jsonb_build_object('number', 'A-' || (k / 4), 'service', 'adminduk',
                                                              'score', 4, 'elements', '[4,4,3,4,4,3,4,4,4]'::jsonb)
                        ELSE jsonb_build_object('number', 'A-' || (k / 4), 'service', 'adminduk',
                                                'issued_at', (%(today)s::date - d)::timestamptz + make_interval(hours => 1, mins => k - k %% 4))
                   END
            FROM unnest(%(names)s::text[]) AS o, generate_series(1, %(days)s) AS d, generate_series(0, %(per)s - 1) AS k
            """, {"per": per_day, "today": today, "names": names, "days": days})
    conn.execute("ANALYZE district_events")
    conn.commit()
    rows = conn.execute("SELECT count(*) FROM district_events").fetchone()[0]
    return rows


def dashboard_times(url: str, names: list[str], days: int, per_day: int) -> dict:
    """A year (``days``) of history for every office, written by SQL (generate_series), then the dashboard's
    overview page through its Starlette app (HTTP, signed in), beside the bare SQL of a count of today's rows."""
    import threading

    import uvicorn

    from antre.ops.devtools import free_port, port_open
    from antre_web.district.app import Dashboard, add_staff
    from zoneinfo import ZoneInfo
    conn = district_store.connect(url)
    today = datetime.now(ZoneInfo("Asia/Jakarta")).date()
    t0 = time.perf_counter()
    rows = fill_history(conn, names, days, per_day, today)
    fill_s = time.perf_counter() - t0
    add_staff(url, "bench", "bench", "bench password long")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(Dashboard(url).app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    wait_for(lambda: port_open(port), 20, "the dashboard")
    import urllib.parse
    import urllib.request
    jar = urllib.request.HTTPCookieProcessor()
    opener = urllib.request.build_opener(jar)
    import re
    token = re.search(r'name="csrf" value="([^"]+)"', opener.open(f"http://127.0.0.1:{port}/masuk").read().decode())[1]
    opener.open(f"http://127.0.0.1:{port}/masuk", urllib.parse.urlencode(
        {"name": "bench", "password": "bench password long", "csrf": token}).encode()).read()
    times = []
    for _ in range(5):
        t = time.perf_counter()
        body = opener.open(f"http://127.0.0.1:{port}/?urut=ikm").read()
        times.append(time.perf_counter() - t)
    assert body.count(b"data-office=") >= len(names)
    base = []
    for _ in range(5):
        t = time.perf_counter()
        conn.execute("SELECT office_id, count(*) FROM district_events WHERE business_date = %s GROUP BY 1",
                     (today,)).fetchall()
        base.append(time.perf_counter() - t)
    conn.close()
    server.should_exit = True
    page, bare = statistics.median(times), statistics.median(base)
    return {"history_rows": rows, "history_fill_s": fill_s, "dashboard_page_ms": page * 1000,
            "baseline_today_count_ms": bare * 1000, "dashboard_vs_today_count": page / bare}


def count(url: str, names: list[str]) -> int:
    conn = district_store.connect(url)
    try:
        return conn.execute("SELECT count(*) FROM district_events WHERE office_id = ANY(%s)", (names,)).fetchone()[0]
    finally:
        conn.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--offices", type=int, default=400)
    ap.add_argument("--rows", type=int, default=50, help="rows per office in the burst")
    ap.add_argument("--hubs", type=int, default=2)
    ap.add_argument("--paced-rate", type=float, default=100.0, help="rows/s for the lag run (busy morning)")
    ap.add_argument("--paced-seconds", type=float, default=20.0)
    ap.add_argument("--history-days", type=int, default=365, help="days of history for the dashboard's time (0: none)")
    ap.add_argument("--history-rows", type=int, default=20, help="rows per office and day of that history")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    out: dict = {"offices": args.offices, "rows_per_office": args.rows, "hubs": args.hubs}
    work = Path(tempfile.mkdtemp(prefix="antre-district-bench-"))
    pg = Postgres()
    url = pg.start()
    broker = LocalBroker(work / "broker", extra="max_queued_messages 0\nmax_inflight_messages 0\n").start()
    hubs: list[Hub] = []
    try:
        n_base = args.offices * args.rows
        out["baseline_single_row_commits_per_s"] = single_row_commits(url, min(3000, n_base))
        out["baseline_batched_rows_per_s"] = batched_inserts(url, n_base)
        group = f"g{uuid.uuid4().hex[:6]}"
        for i in range(args.hubs):
            h = Hub(broker.url, url, f"bench-hub-{i}", group=group, resend_after=5.0)
            h.start()
            wait_for(h.connected.is_set, 20, "a hub to connect")
            hubs.append(h)
        fleet = [SimOffice(f"desa-{i:03d}") for i in range(args.offices)]
        names = [o.office for o in fleet]
        sim = SimFleet(broker.url, fleet, client_id="bench-sim").start()
        wait_for(sim.connected.is_set, 20, "the simulator to connect")
        for o in fleet:
            o.make(args.rows)
        total = args.offices * args.rows
        t0 = time.perf_counter()
        for o in fleet:
            sim.publish(o, o.rows, head=False)
        wait_for(lambda: count(url, names) >= total, 600, "every row of the burst", interval=0.05)
        elapsed = time.perf_counter() - t0
        out["ingest_rows_per_s"] = total / elapsed
        out["ingest_vs_single_row_commits"] = out["ingest_rows_per_s"] / out["baseline_single_row_commits_per_s"]
        out["ingest_vs_batched_inserts"] = out["ingest_rows_per_s"] / out["baseline_batched_rows_per_s"]
        assert count(url, names) == total

        # Paced: a busy morning's rate spread over every office; lag = committed (received_at) - published (at).
        n = int(args.paced_rate * args.paced_seconds)
        t_start = time.perf_counter()
        for i in range(n):
            o = fleet[i % len(fleet)]
            row = o.make(1, start=datetime.now(timezone.utc))[0]
            row["at"] = datetime.now(timezone.utc).isoformat()
            sim.publish(o, [row], head=False)
            delay = t_start + (i + 1) / args.paced_rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        wait_for(lambda: count(url, names) >= total + n, 120, "every paced row", interval=0.05)
        conn = district_store.connect(url)
        lags = [float(r[0]) * 1000 for r in conn.execute(
            "SELECT extract(epoch FROM received_at - at) FROM district_events WHERE office_id = ANY(%s) "
            "ORDER BY received_at DESC LIMIT %s", (names, n))]
        conn.close()
        lags.sort()
        out["paced_rows"] = n
        out["lag_ms_p50"] = statistics.median(lags)
        out["lag_ms_p95"] = lags[int(len(lags) * 0.95) - 1]
        out["lag_ms_max"] = lags[-1]
        out["hub_shares"] = [h.ingested for h in hubs]
        sim.stop()
        if args.history_days:
            out.update(dashboard_times(url, names, args.history_days, args.history_rows))
    finally:
        for h in hubs:
            h.stop()
        broker.stop()
        pg.stop()
    for k, v in out.items():
        print(f"{k:38} {v:.2f}" if isinstance(v, float) else f"{k:38} {v}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
