"""Antre benchmarks: ``python bench/run.py [--quick] [--json OUT]``.

Runs a private mosquitto and real ``antre serve`` processes on this machine and
prints every figure beside a baseline measured in the same run (absolute times
on a shared machine drift; ratios much less). See docs/benchmarks.md.

--quick  smaller counts (under a minute), for CI smoke use.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import apps, measures, web_streams  # noqa: E402
from bench.harness import Mosquitto, env_info, rss_mb, start_service  # noqa: E402
from bench.postgres import Postgres  # noqa: E402

T0 = time.perf_counter()


def log(msg: str) -> None:
    print(f"[{time.perf_counter() - T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


def disk_info(path: Path) -> str:
    """The block device under ``path`` and whether it is rotational, from /proc and /sys."""
    try:
        dev = path.stat().st_dev
        major, minor = dev >> 8, dev & 0xFF
        sysdir = Path(f"/sys/dev/block/{major}:{minor}")
        name = sysdir.resolve().name
        rot_file = sysdir / "queue" / "rotational"
        if not rot_file.exists():
            rot_file = sysdir.resolve().parent / "queue" / "rotational"
        rot = rot_file.read_text().strip() if rot_file.exists() else "?"
        return f"/dev/{name} ({'rotational' if rot == '1' else 'non-rotational' if rot == '0' else 'unknown type'})"
    except OSError:
        return "unknown"


def postgres_section(broker: Mosquitto, workdir: Path, quick: bool) -> dict:
    pg = Postgres()
    try:
        url = pg.start()
    except RuntimeError as exc:
        log(f"PostgreSQL part skipped: {exc}")
        return {"skipped": str(exc)}
    try:
        log("PostgreSQL: baseline commits/s")
        res: dict = {"commits_per_s": pg.commits_per_second(300 if quick else 2000)}
        folder = workdir / "pg"
        folder.mkdir()
        svc, watcher = start_service(folder, broker, url)
        try:
            res["startup_s"] = svc.started_in
            for kiosks, per in ((1, 150 if quick else 1000), (4, 75 if quick else 500), (8, 40 if quick else 250)):
                log(f"PostgreSQL: issue throughput, {kiosks} kiosk(s) x {per}")
                res[f"issue_{kiosks}"] = measures.issue_many(broker, svc.office_id, kiosks, per)
            log("PostgreSQL: call latency")
            res["call_latency"] = measures.summary(
                measures.call_latency(broker, svc, watcher, 100 if quick else 500))
            res["rss_mb"] = rss_mb(svc.pid)
        finally:
            svc.proc.stop()
            watcher.stop()
        return res
    finally:
        pg.stop()


# ---------------------------------------------------------------------- table

def rows(r: dict) -> list[tuple[str, str, str, str, str, str]]:
    """(figure, value, baseline, ratio, goal, verdict)."""
    out = []

    def add(name, value, base, ratio, goal, ok):
        out.append((name, value, base, ratio, goal, "" if ok is None else ("ok" if ok else "MISSED")))

    o = r["office"]
    b = o["baseline_latency"]
    c = o["call_latency"]
    add("call latency p50 (call_next -> state+event)", f"{c['p50_ms']:.2f} ms", f"{b['p50_ms']:.2f} ms",
        f"{c['p50_ms'] / b['p50_ms']:.2f}x", "<= 3x", c["p50_ms"] <= 3 * b["p50_ms"])
    add("call latency p99", f"{c['p99_ms']:.2f} ms", f"{b['p99_ms']:.2f} ms",
        f"{c['p99_ms'] / b['p99_ms']:.2f}x", "<= 10 ms", c["p99_ms"] <= 10)
    base = o["sqlite_commits_per_s"]
    for k in (1, 4):
        t = o[f"issue_{k}"]
        add(f"issue throughput, {k} kiosk{'s' if k > 1 else ''}", f"{t['per_second']:.0f} /s",
            f"{base:.0f} commits/s", f"{t['per_second'] / base:.2f}x", ">= 0.5x", t["per_second"] >= 0.5 * base)
    g = r["growth"]
    small, big = (str(s) for s in g["sizes"])
    if small in g and big in g:   # not with --skip growth
        for cmd in ("call", "issue"):
            a, z = g[small][cmd]["p50_ms"], g[big][cmd]["p50_ms"]
            add(f"{'call_next' if cmd == 'call' else 'issue_ticket'} p50, {int(big):,} vs {int(small):,} history",
                f"{z:.2f} ms", f"{a:.2f} ms", f"{z / a:.2f}x", "<= 1.2x", z / a <= 1.2)
        add(f"database bytes per ticket ({int(big):,} history)", f"{g[big]['bytes_per_ticket']:.0f} B", "", "",
            "", None)
    add("RSS antre serve, idle", f"{o['rss_idle_mb']:.1f} MB", "", "", "<= 60 MB", o["rss_idle_mb"] <= 60)
    add(f"RSS antre serve, after {o['rss_tickets']:,} tickets", f"{o['rss_after_mb']:.1f} MB", "", "",
        "<= 60 MB", o["rss_after_mb"] <= 60)
    add("service start-up to retained state (new DB)", f"{o['startup_fresh_s']:.2f} s", "", "", "<= 1 s",
        o["startup_fresh_s"] <= 1)
    add("service start-up to retained state (existing DB)", f"{o['startup_warm_s']:.2f} s", "", "", "<= 1 s",
        o["startup_warm_s"] <= 1)
    for name, a in r["apps"].items():
        if "pending" in a:
            add(f"RSS antre {name}", "pending", "", "", a["goal"], None)
            continue
        add(f"RSS antre {name} ({a['when']})", f"{a['rss_mb']:.1f} MB", "", "", a["goal"], a["ok"])
        if a.get("startup_s") is not None:
            add(f"antre {name} start-up ({a['startup_what']})", f"{a['startup_s']:.2f} s", "", "", "", None)
    st = r.get("streams")
    if st:
        levels = st["levels"]
        zero = levels[st["levels_order"][0]]
        for key in st["levels_order"][1:]:
            lv = levels[key]
            add(f"kiosk issue p50, paced, {int(key):,} status streams open", f"{lv['p50_ms']:.2f} ms",
                f"{zero['p50_ms']:.2f} ms (0 streams)", f"{lv['p50_ms'] / zero['p50_ms']:.2f}x", "<= 1.2x",
                lv["p50_ms"] <= 1.2 * zero["p50_ms"])
            add(f"  p99 / max, {int(key):,} streams", f"{lv['p99_ms']:.2f} / {lv['max_ms']:.2f} ms",
                f"{zero['p99_ms']:.2f} / {zero['max_ms']:.2f} ms", f"{lv['p99_ms'] / zero['p99_ms']:.2f}x", "", None)
            add(f"  ticket_status sent to the service, {int(key):,} streams", str(lv["ticket_status_asked"]), "",
                "", "0", lv["ticket_status_asked"] == 0)
        top = levels[st["levels_order"][-1]]
        add(f"RSS antre web, {int(st['levels_order'][-1]):,} status streams", f"{top['web_rss_mb']:.1f} MB",
            f"{zero['web_rss_mb']:.1f} MB (0 streams)", f"{top['web_rss_mb'] / zero['web_rss_mb']:.2f}x", "", None)
        add("status streams for never-issued numbers refused", f"{st['never_issued_refused']:,} of "
            f"{st['never_issued_tried']:,}", "", "", "all", st["never_issued_refused"] == st["never_issued_tried"])
    p = r["postgres"]
    if "skipped" in p:
        add("PostgreSQL central service", "skipped", "", "", "", None)
    else:
        for k in (1, 4, 8):
            t = p[f"issue_{k}"]
            add(f"PostgreSQL: issue throughput, {k} client{'s' if k > 1 else ''}", f"{t['per_second']:.0f} /s",
                f"{p['commits_per_s']:.0f} commits/s", f"{t['per_second'] / p['commits_per_s']:.2f}x", "", None)
        pc = p["call_latency"]
        add("PostgreSQL: call latency p50 / p99", f"{pc['p50_ms']:.2f} / {pc['p99_ms']:.2f} ms",
            f"{b['p50_ms']:.2f} ms", f"{pc['p50_ms'] / b['p50_ms']:.2f}x", "", None)
    return out


def table(rs: list[tuple[str, ...]]) -> str:
    head = ("figure", "value", "baseline (same run)", "ratio", "goal", "")
    widths = [max(len(x[i]) for x in [head, *rs]) for i in range(6)]
    line = lambda x: "| " + " | ".join(v.ljust(w) for v, w in zip(x, widths)) + " |"  # noqa: E731
    return "\n".join([line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rs)])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small counts; finishes in under a minute")
    ap.add_argument("--json", metavar="OUT", help="write all figures as JSON to this file")
    ap.add_argument("--skip", action="append", default=[], choices=["growth", "apps", "postgres", "streams"],
                    help="leave out a section (repeatable)")
    args = ap.parse_args(argv)
    result: dict = {"mode": "quick" if args.quick else "full", "machine": env_info(),
                    "started": time.strftime("%Y-%m-%d %H:%M:%S %z")}
    with tempfile.TemporaryDirectory(prefix="antre-bench-") as tmp:
        workdir = Path(tmp)
        result["machine"]["disk"] = disk_info(workdir)
        broker = Mosquitto(workdir / "mosquitto").start()
        try:
            result["office"] = measures.main_office(broker, workdir, args.quick, log)
            if "growth" in args.skip:
                result["growth"] = None
            else:
                result["growth"] = measures.growth(broker, workdir, args.quick, log)
            result["apps"] = {} if "apps" in args.skip else apps.measure(broker, workdir, log)
            result["streams"] = None if "streams" in args.skip else web_streams.measure(broker, workdir, args.quick, log)
            result["postgres"] = {"skipped": "--skip postgres"} if "postgres" in args.skip else \
                postgres_section(broker, workdir, args.quick)
        except Exception:
            traceback.print_exc()
            if args.json:
                Path(args.json).write_text(json.dumps(result, indent=2))
            return 1
        finally:
            broker.stop()
    result["seconds"] = time.perf_counter() - T0
    if result["growth"] is None:
        result["growth"] = {"sizes": [0, 0]}
    try:
        text = table(rows(result))
    except KeyError as exc:
        text = f"(table incomplete: {exc})"
    m = result["machine"]
    print(f"Antre benchmark ({result['mode']}), {m['nproc']} x {m['cpu']}, disk {m['disk']}, "
          f"{result['seconds']:.0f} s\n")
    print(text)
    result["table"] = text
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
