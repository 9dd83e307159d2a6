"""The district dashboard's page views under concurrency: each request on one connection off the event loop
(now, web/district/app.py ``Dashboard._in_thread``) against the dashboard before that change (about three
synchronous connections per view, opened inside the async handlers), in the same run on the same PostgreSQL.

    .venv/bin/python -m bench.district_web_bench [--clients 8] [--views 15] [--offices 60] [--days 60] [--before REV]

A private PostgreSQL (bench/postgres.py) holds ``--days`` of history for ``--offices`` offices, written by SQL as
bench/district_bench.py does. Each way is served by uvicorn in this process (one worker, as ``antre district-web``
runs it). The way before is ``web/district/`` of git revision ``REV`` (default: the parent of the commit that
brought ``_in_thread``), unpacked to a temporary folder and imported from there: the real code, not a copy.
``--clients`` signed-in clients each load the overview ranked by IKM ``--views`` times, all at once, while one
more client loads the sign-in page (which needs no database) every 50 ms. Reported per way: page views per
second, the median and 90th percentile view, and the sign-in page's median during the load (how long any other
request waits while a view holds the loop); then the ratios now / before.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from antre.ops.devtools import free_port, port_open, wait_for  # noqa: E402
from antre.storage import district_store  # noqa: E402
from bench.district_bench import fill_history  # noqa: E402
from bench.harness import percentile  # noqa: E402
from bench.postgres import Postgres  # noqa: E402

PASSWORD = "bench password long"


def before_revision() -> str:
    """The parent of the commit that moved the dashboard's work off the event loop."""
    out = subprocess.run(["git", "-C", str(ROOT), "log", "--reverse", "--format=%H", "-S_in_thread", "--",
                          "web/district/app.py"], capture_output=True, text=True, check=True).stdout.split()
    if not out:
        raise SystemExit("no commit brought Dashboard._in_thread: give --before REV")
    return out[0] + "^"


def load_dashboard(rev: str | None):
    """The Dashboard class of this tree (``rev`` None) or of web/district/ at git revision ``rev``."""
    if rev is None:
        from antre_web.district.app import Dashboard
        return Dashboard
    folder = Path(tempfile.mkdtemp(prefix="antre-district-before-"))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "web/district"], capture_output=True,
                             check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder)   # our own repository's files
    spec = importlib.util.spec_from_file_location("district_before", folder / "web/district/app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Dashboard


def signed_in(base: str) -> urllib.request.OpenerDirector:
    """A client signed in as the bench's account (with the sign-in form's CSRF token when it has one)."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    page = opener.open(base + "/masuk").read().decode()
    fields = {"name": "bench", "password": PASSWORD}
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    if token:
        fields["csrf"] = token[1]
    opener.open(base + "/masuk", urllib.parse.urlencode(fields).encode()).read()
    return opener


def one_way(dashboard_class, url: str, clients: int, views: int, offices: int) -> dict:
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(dashboard_class(url).app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: port_open(port), 20, "the dashboard")
        openers = [signed_in(base) for _ in range(clients)]
        body = openers[0].open(base + "/?urut=ikm").read()          # warm: templates, plans
        assert body.count(b"data-office=") >= offices, "the overview lists every office"
        times: list[float] = []
        probes: list[float] = []
        lock = threading.Lock()
        go, stop = threading.Event(), threading.Event()

        def client(opener) -> None:
            go.wait()
            for _ in range(views):
                t = time.perf_counter()
                page = opener.open(base + "/?urut=ikm").read()
                took = time.perf_counter() - t
                assert b"data-office=" in page
                with lock:
                    times.append(took)

        def probe() -> None:
            opener = urllib.request.build_opener()
            go.wait()
            while not stop.is_set():
                t = time.perf_counter()
                opener.open(base + "/masuk").read()
                probes.append(time.perf_counter() - t)
                stop.wait(0.05)

        workers = [threading.Thread(target=client, args=(o,)) for o in openers]
        prober = threading.Thread(target=probe)
        for w in [*workers, prober]:
            w.start()
        t0 = time.perf_counter()
        go.set()
        for w in workers:
            w.join()
        wall = time.perf_counter() - t0
        stop.set()
        prober.join()
    finally:
        server.should_exit = True
        thread.join(10)
    return {"views": len(times), "views_per_s": len(times) / wall, "view_p50_ms": statistics.median(times) * 1000,
            "view_p90_ms": percentile(times, 90) * 1000, "signin_page_p50_ms": statistics.median(probes) * 1000,
            "signin_page_p90_ms": percentile(probes, 90) * 1000, "signin_page_loads": len(probes)}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--views", type=int, default=15, help="overview loads per client")
    ap.add_argument("--offices", type=int, default=60)
    ap.add_argument("--days", type=int, default=60, help="days of history per office")
    ap.add_argument("--per-day", type=int, default=20, help="rows per office and day")
    ap.add_argument("--before", help="git revision of the way before (default: found from the history)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    rev = args.before or before_revision()
    before_class = load_dashboard(rev)
    pg = Postgres()
    url = pg.start()
    try:
        conn = district_store.connect(url)
        try:
            district_store.create_schema(conn)
            district_store.create_staff_schema(conn)
            names = [f"desa-{i:03d}" for i in range(args.offices)]
            today = datetime.now(ZoneInfo("Asia/Jakarta")).date()
            rows = fill_history(conn, names, args.days, args.per_day, today)
            # Each office as the hub records it (the overview lists the offices it knows).
            conn.rollback()   # end fill_history's reading transaction, so the one below is not a savepoint
            with conn.transaction():
                conn.execute("INSERT INTO district_offices (office_id, last_heard) SELECT o, now() "
                             "FROM unnest(%s::text[]) AS o ON CONFLICT (office_id) DO NOTHING", (names,))

        finally:
            conn.close()
        from antre_web.district.app import add_staff
        add_staff(url, "bench", "bench", PASSWORD)
        out: dict = {"clients": args.clients, "views_per_client": args.views, "offices": args.offices,
                     "history_rows": rows, "before_revision": rev}
        # Each way twice, alternating, so neither gets the warmer cache or the quieter machine.
        runs: dict[str, list[dict]] = {"before": [], "now": []}
        for _ in range(2):
            runs["before"].append(one_way(before_class, url, args.clients, args.views, args.offices))
            runs["now"].append(one_way(load_dashboard(None), url, args.clients, args.views, args.offices))
        for way, results in runs.items():
            out[way] = {k: statistics.median(r[k] for r in results) for k in results[0]}
        out["views_per_s_now_vs_before"] = out["now"]["views_per_s"] / out["before"]["views_per_s"]
        out["view_p50_before_vs_now"] = out["before"]["view_p50_ms"] / out["now"]["view_p50_ms"]
        out["signin_page_p50_before_vs_now"] = out["before"]["signin_page_p50_ms"] / out["now"]["signin_page_p50_ms"]
    finally:
        pg.stop()
    print(json.dumps(out, indent=2))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
