"""The measurements. Each returns plain dicts of numbers; bench/run.py formats them."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

from .harness import (
    Client, Mosquitto, Service, Watcher, percentile, rss_mb, sqlite_commits_per_second, start_service,
    two_hops_plus_commit,
)
from .seed import seed_history

SERVICE_CODES = ("adminduk", "surat", "umum")


def issue_many(broker: Mosquitto, office_id: str, kiosks: int, per_kiosk: int) -> dict:
    """``kiosks`` concurrent kiosk clients, each issuing ``per_kiosk`` tickets one after another."""
    clients = [Client(broker.url, office_id, "kiosk").start() for _ in range(kiosks)]
    errors: list[BaseException] = []
    lat: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(kiosks + 1)

    def work(c: Client, k: int) -> None:
        mine = []
        try:
            start.wait()
            for i in range(per_kiosk):
                t0 = time.perf_counter()
                c.ok("issue_ticket", service=SERVICE_CODES[(i + k) % 3])
                mine.append(time.perf_counter() - t0)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        with lock:
            lat.extend(mine)

    threads = [threading.Thread(target=work, args=(c, k)) for k, c in enumerate(clients)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    for c in clients:
        c.stop()
    if errors:
        raise errors[0]
    return {"tickets": kiosks * per_kiosk, "seconds": elapsed, "per_second": kiosks * per_kiosk / elapsed,
            "p50_ms": percentile(lat, 50) * 1000, "p99_ms": percentile(lat, 99) * 1000}


def call_latency(broker: Mosquitto, service: Service, watcher: Watcher, calls: int,
                 counter: str = "loket-1") -> list[float]:
    """Counter publishes call_next; latency until the watcher has both the new state and the event.

    Needs at least ``calls`` + 20 waiting tickets.
    """
    c = Client(broker.url, service.office_id, "counter").start()
    cmd = c.topics.command("call_next", c.link.component, c.link.client_id)
    out = []
    try:
        for i in range(calls + 20):
            with watcher.cond:
                seq0 = watcher.state["seq"] if watcher.state else -1
            t0 = time.perf_counter()
            c.link.publish(cmd, {"request_id": uuid.uuid4().hex, "counter": counter})
            box: dict = {}

            def done() -> bool:
                st = watcher.state
                if st is None or st["seq"] <= seq0:
                    return False
                serving = next(x for x in st["counters"] if x["id"] == counter)["serving"]
                if serving is None:
                    return False
                at = watcher.called.get(serving["number"])
                if at is None or at < t0:
                    return False
                box["at"] = max(at, watcher.state_at)
                return True

            watcher.wait(done)
            if i >= 20:
                out.append(box["at"] - t0)
    finally:
        c.stop()
    return out


def summary(lat: list[float]) -> dict:
    return {"n": len(lat), "p50_ms": percentile(lat, 50) * 1000, "p99_ms": percentile(lat, 99) * 1000}


# ---------------------------------------------------------------------- the sections

def main_office(broker: Mosquitto, workdir: Path, quick: bool, log) -> dict:
    """Sections 1, 2 and the service part of 4 on one SQLite office."""
    res: dict = {}
    folder = workdir / "office"
    folder.mkdir()
    db = folder / "antre.db"
    url = f"sqlite:///{db}"
    calls = 200 if quick else 1000
    n1 = 300 if quick else 2000
    n4 = 150 if quick else 1000

    log("baseline: durable SQLite commits/s")
    res["sqlite_commits_per_s"] = sqlite_commits_per_second(folder, 500 if quick else 3000)
    log("baseline: two MQTT hops + one durable commit")
    base = two_hops_plus_commit(broker.port, folder, calls)
    res["baseline_latency"] = summary(base)

    log("service start-up (fresh database)")
    svc, watcher = start_service(folder, broker, url)
    res["startup_fresh_s"] = svc.started_in
    wait_idle = time.monotonic() + 1.0
    while time.monotonic() < wait_idle:
        time.sleep(0.05)
    res["rss_idle_mb"] = rss_mb(svc.pid)
    try:
        log(f"issue throughput, 1 kiosk x {n1}")
        res["issue_1"] = issue_many(broker, svc.office_id, 1, n1)
        log(f"issue throughput, 4 kiosks x {n4}")
        res["issue_4"] = issue_many(broker, svc.office_id, 4, n4)
        log(f"call latency, {calls} calls")
        res["call_latency"] = summary(call_latency(broker, svc, watcher, calls))
        target = 2000 if quick else 10_000
        issued = n1 + 4 * n4
        if issued < target:
            log(f"topping up to {target} tickets")
            per = -(-(target - issued) // 4)
            issue_many(broker, svc.office_id, 4, per)
            issued += 4 * per
        res["rss_tickets"] = issued
        res["rss_after_mb"] = rss_mb(svc.pid)
    finally:
        svc.proc.stop()
        watcher.stop()

    log("service start-up (existing database)")
    svc2, watcher2 = start_service(folder, broker, url, name="restart", office_id=svc.office_id)
    res["startup_warm_s"] = svc2.started_in
    svc2.proc.stop()
    watcher2.stop()
    return res


def growth(broker: Mosquitto, workdir: Path, quick: bool, log) -> dict:
    """Section 3: latency with a small and a large history; bytes per ticket.

    Both services run side by side and the requests alternate between them
    (small, large, small, ...), so load from anything else on the machine hits
    both equally and the ratio stays meaningful.
    """
    sizes = (1_000, 100_000) if quick else (1_000, 1_000_000)
    n = 100 if quick else 300
    res: dict = {"sizes": list(sizes)}
    running = []
    try:
        for size in sizes:  # seed both first: nothing else runs while the seeding hogs the CPU
            folder = workdir / f"growth-{size}"
            folder.mkdir()
            t0 = time.perf_counter()
            seed_history(f"sqlite:///{folder / 'antre.db'}", size)
            log(f"seeded {size:,} historical tickets in {time.perf_counter() - t0:.1f}s")
        for size in sizes:
            folder = workdir / f"growth-{size}"
            url = f"sqlite:///{folder / 'antre.db'}"
            svc, watcher = start_service(folder, broker, url)
            running.append((size, folder, svc, watcher, Client(broker.url, svc.office_id, "counter").start()))
        lat: dict = {(size, cmd): [] for size in sizes for cmd in ("issue", "call")}
        for cmd, command, args in (("issue", "issue_ticket", {}), ("call", "call_next", {"counter": "loket-2"})):
            log(f"growth: {n} x {command} on each history size, alternating")
            for i in range(n + 10):
                for size, _, _, _, client in running:
                    a = dict(args) or {"service": SERVICE_CODES[i % 3]}
                    t0 = time.perf_counter()
                    client.ok(command, **a)
                    if i >= 10:
                        lat[(size, cmd)].append(time.perf_counter() - t0)
    except Exception:
        for size, _, svc, _, _ in running:
            log(f"growth: service with {size:,} history, last log lines:\n{svc.proc.output()[-2000:]}")
        raise
    finally:
        for _, _, svc, watcher, client in running:
            client.stop()
            svc.proc.stop()
            watcher.stop()
    for size, folder, *_ in running:
        db = folder / "antre.db"
        size_bytes = db.stat().st_size + sum(p.stat().st_size for p in folder.glob("antre.db-*"))
        res[str(size)] = {"issue": summary(lat[(size, "issue")]), "call": summary(lat[(size, "call")]),
                          "db_bytes": size_bytes, "bytes_per_ticket": size_bytes / (size + n + 10)}
    return res
