"""Counter commands during a burst of staff sign-ins: the password checks on the writer thread (before) and on
a thread of their own (now, antre/service/signins.py), in the same run.

    .venv/bin/python -m bench.signin_bench [--signers 8] [--rounds 60] [--burst signin|passwd|both]

A private mosquitto and, for each way, a real service in its own process (``--serve``: a ``QueueServer``
with ``signin_workers`` 0, the way before, or 1) on its own SQLite file. ``--signers`` clients sign in over
and over with the right password (argon2id, 19 MiB, 2 passes, as shipped; right passwords, so no lock or
global wait cuts the checks short) while one counter device issues a ticket and calls it, ``--rounds``
times. Reported per way: the median and 90th percentile round trip of the counter's commands with no
sign-ins and during the burst, sign-ins answered per second, and the ratio of the burst medians
(before / now).

``--burst passwd``: the signers change their passwords over and over instead (``staff_passwd``: the
current password checked and the new one hashed, two argon2 runs each, and every session of the account
ended; each signer signs in again after each change). ``both`` (the default) runs both bursts, each before
and now, in the same run.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.harness import COUNTERS, Client, Mosquitto, percentile, write_config
from tests.support import wait_for

PASSWORD = "kopi manis pagi hari"


def serve(config_path: str, workers: int) -> None:
    """The service process of one way (``--serve``): runs until its stdin closes."""
    from antre import config
    from antre.service.server import QueueServer
    sys.setswitchinterval(0.0005)   # as `antre serve` does
    server = QueueServer(config.load(config_path), signin_workers=workers)
    server.start()
    print("ready", flush=True)
    sys.stdin.read()
    server.stop()


def counter_round_trips(kiosk: Client, counter: Client, rounds: int) -> list[float]:
    """Round trips of a kiosk's issue_ticket and a counter's call_next, one after the other."""
    trips = []
    for _ in range(rounds):
        for device, command, args in ((kiosk, "issue_ticket", {"service": "adminduk"}),
                                      (counter, "call_next", {"counter": COUNTERS[0]})):
            t0 = time.perf_counter()
            device.ok(command, **args)
            trips.append(time.perf_counter() - t0)
    return trips


def one_way(workdir: Path, broker: Mosquitto, workers: int, signers: int, rounds: int, burst: str = "signin") -> dict:
    import subprocess
    cfg, office_id = write_config(workdir / f"{burst}{workers}.toml", mqtt_url=broker.url,
                                  db_url=f"sqlite:///{workdir}/{burst}{workers}.db")
    proc = subprocess.Popen([sys.executable, "-m", "bench.signin_bench", "--serve", str(cfg), "--workers",
                             str(workers)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parent.parent)
    try:
        assert proc.stdout.readline().strip() == "ready"
        admin = Client(broker.url, office_id, "admin").start()
        wait_for(lambda: admin.requester.request("web_info", {}, timeout=5).ok, 30, "the service to answer")
        admin.ok("staff_setup", name="admin", password=PASSWORD)
        token = secrets.token_urlsafe(32)
        admin.ok("staff_login", name="admin", password=PASSWORD, session=token)
        for i in range(signers):
            admin.ok("staff_add", session=token, name=f"kasi{i}", role="kasi", password=PASSWORD)
        counter = Client(broker.url, office_id, "counter").start()
        kiosk = Client(broker.url, office_id, "kiosk").start()
        web = [Client(broker.url, office_id, "web").start() for _ in range(signers)]
        counter_round_trips(kiosk, counter, 5)   # warm
        quiet = counter_round_trips(kiosk, counter, rounds)
        stop = threading.Event()
        signed = [0]

        def sign_in(i: int) -> None:
            while not stop.is_set():
                r = web[i].ok("staff_login", name=f"kasi{i}", password=PASSWORD, session=secrets.token_urlsafe(32))
                assert r["signed_in"], r
                signed[0] += 1

        def change_password(i: int) -> None:
            passwords = [PASSWORD, f"{PASSWORD} baru"]
            while not stop.is_set():
                session = secrets.token_urlsafe(32)
                web[i].ok("staff_login", name=f"kasi{i}", password=passwords[0], session=session)
                r = web[i].ok("staff_passwd", session=session, password=passwords[0], new_password=passwords[1])
                assert r["changed"], r
                passwords.reverse()
                signed[0] += 1

        work = sign_in if burst == "signin" else change_password
        threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(signers)]
        for t in threads:
            t.start()
        wait_for(lambda: signed[0] >= signers, 60, "the sign-in burst to be under way")
        t0, n0 = time.perf_counter(), signed[0]
        burst = counter_round_trips(kiosk, counter, rounds)
        rate = (signed[0] - n0) / (time.perf_counter() - t0)
        stop.set()
        for t in threads:
            t.join(60)
        for c in [admin, counter, kiosk, *web]:
            c.stop()
        ms = lambda xs, p=None: round((statistics.median(xs) if p is None else percentile(xs, p)) * 1000, 1)  # noqa: E731
        return {"burst": burst, "workers": workers, "quiet_median_ms": ms(quiet), "quiet_p90_ms": ms(quiet, 90),
                "burst_median_ms": ms(burst), "burst_p90_ms": ms(burst, 90), "signins_per_s": round(rate, 1)}
    finally:
        proc.stdin.close()
        proc.wait(30)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--signers", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=60)
    ap.add_argument("--serve")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--burst", choices=("signin", "passwd", "both"), default="both")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    if args.serve:
        serve(args.serve, args.workers)
        return {}
    bursts = ("signin", "passwd") if args.burst == "both" else (args.burst,)
    out: dict = {"signers": args.signers, "rounds": args.rounds}
    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(Path(tmp)).start()
        try:
            for burst in bursts:
                before = one_way(Path(tmp), broker, 0, args.signers, args.rounds, burst)
                now = one_way(Path(tmp), broker, 1, args.signers, args.rounds, burst)
                out[burst] = {"before": before, "now": now,
                              "burst_median_ratio_before_over_now": round(before["burst_median_ms"]
                                                                          / now["burst_median_ms"], 1),
                              "burst_p90_ratio_before_over_now": round(before["burst_p90_ms"] / now["burst_p90_ms"], 1)}
        finally:
            broker.stop()
    for burst in bursts:
        what = "sign-ins" if burst == "signin" else "password changes (each after a sign-in)"
        for name, r in (("before (on the writer)", out[burst]["before"]), ("now (on their own thread)", out[burst]["now"])):
            print(f"{burst} {name}: counter round trip median {r['quiet_median_ms']} ms quiet, {r['burst_median_ms']} "
                  f"ms during {args.signers} signers (p90 {r['quiet_p90_ms']} / {r['burst_p90_ms']} ms); "
                  f"{r['signins_per_s']} {what}/s")
        print(f"{burst} burst median before/now: {out[burst]['burst_median_ratio_before_over_now']}x; "
              f"p90: {out[burst]['burst_p90_ratio_before_over_now']}x")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
