"""Letters: numbering under concurrent staff, against a real mosquitto and ``antre serve``; and a letter's
PDF (WeasyPrint) next to a ticket issued through the service.

    .venv/bin/python -m bench.letters_bench [--letters 120] [--staff 8]

Numbering: ``letter_assign_number`` for ``--letters`` requests, first by one staff client in a row, then by
``--staff`` clients at once (each signed in with its own kasi account). Reported: numbers per second both
ways and their ratio (more staff cannot number faster than the one writer commits, but must not be slower
either), whether every number came out once with no gap, and the median round trip of each. The PDF: the time
to render one signed letter, as a ratio to the median ``issue_ticket`` round trip on the same machine.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

from antre import config
from bench.harness import Client, Mosquitto, start_service

PASSWORD = "kopi manis pagi hari"
FIELDS = {"nama": "Siti Aminah", "nik": "3204055403900001", "tempat_lahir": "Bandung", "tanggal_lahir": "1990-03-14",
          "jenis_kelamin": "Perempuan", "alamat": "RT 02 RW 05 Dusun Cikoneng", "keperluan": "melamar kerja"}


def sign_in(c: Client, admin: str, name: str, role: str) -> str:
    c.ok("staff_add", session=admin, name=name, role=role, password=PASSWORD)
    token = secrets.token_urlsafe(32)
    assert c.ok("staff_login", name=name, password=PASSWORD, session=token)["signed_in"]
    return token


def number_all(clients: list[tuple[Client, str]], ids: list[int]) -> tuple[float, list[float], list[int]]:
    """(seconds, round trips, sequence numbers): ``ids`` split over the clients, all started at once."""
    trips: list[float] = []
    seqs: list[int] = []
    lock = threading.Lock()
    gate = threading.Barrier(len(clients) + 1)

    def work(i: int, client: Client, session: str) -> None:
        gate.wait()
        for rid in ids[i::len(clients)]:
            t0 = time.perf_counter()
            result = client.ok("letter_assign_number", request=rid, session=session)
            dt = time.perf_counter() - t0
            with lock:
                trips.append(dt)
                seqs.append(result["seq"])

    threads = [threading.Thread(target=work, args=(i, c, s)) for i, (c, s) in enumerate(clients)]
    for t in threads:
        t.start()
    gate.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, trips, seqs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=120)
    parser.add_argument("--staff", type=int, default=8)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        broker = Mosquitto(work / "mosquitto").start()
        service, watcher = start_service(work, broker, f"sqlite:///{work}/antre.db")
        try:
            admin_client = Client(broker.url, service.office_id, "admin").start()
            admin = secrets.token_urlsafe(32)
            admin_client.ok("staff_setup", name="admin", password=PASSWORD, session=admin)
            staff = []
            for i in range(args.staff):
                c = Client(broker.url, service.office_id, "admin").start()
                staff.append((c, sign_in(admin_client, admin, f"kasi-{i}", "kasi")))
            for _ in range(2 * args.letters):
                admin_client.ok("letter_request", type="domisili", fields=FIELDS, channel="web")
            ids = [i["id"] for i in admin_client.ok("letter_list", session=staff[0][1])["items"]]
            ids = sorted(ids)[: 2 * args.letters]
            one_s, one_trips, one_seqs = number_all(staff[:1], ids[: args.letters])
            many_s, many_trips, many_seqs = number_all(staff, ids[args.letters:])
            seqs = sorted(one_seqs + many_seqs)
            # Issue-ticket round trips, and one signed letter rendered, for the PDF's ratio.
            ticket_trips = []
            for _ in range(50):
                t0 = time.perf_counter()
                admin_client.ok("issue_ticket", service="adminduk", channel="admin")
                ticket_trips.append(time.perf_counter() - t0)
            signer = sign_in(admin_client, admin, "kades", "penandatangan")
            rid = ids[0]
            admin_client.ok("letter_set_status", request=rid, status="menunggu_ttd", session=staff[0][1])
            admin_client.ok("letter_set_status", request=rid, status="siap_diambil", session=signer)
            letter = admin_client.ok("letter_get", request=rid, session=staff[0][1])
            from antre.documents.letter import render_letter_pdf, verify_url

            cfg = config.load(service.config_path)
            render_letter_pdf(cfg, letter, verify=verify_url(cfg, letter["verify_token"]), today=date.today())
            renders = []
            for _ in range(5):
                t0 = time.perf_counter()
                render_letter_pdf(cfg, letter, verify=verify_url(cfg, letter["verify_token"]), today=date.today())
                renders.append(time.perf_counter() - t0)
            for c, _ in staff:
                c.stop()
            admin_client.stop()
        finally:
            watcher.stop()
            service.proc.stop()
            broker.stop()
    result = {
        "letters_per_run": args.letters, "staff": args.staff,
        "numbers_all_distinct_no_gap": seqs == list(range(1, 2 * args.letters + 1)),
        "one_staff_numbers_per_s": round(args.letters / one_s, 1),
        "many_staff_numbers_per_s": round(args.letters / many_s, 1),
        "many_over_one_ratio": round(one_s / many_s, 2),
        "one_staff_median_ms": round(statistics.median(one_trips) * 1000, 1),
        "many_staff_median_ms": round(statistics.median(many_trips) * 1000, 1),
        "issue_ticket_median_ms": round(statistics.median(ticket_trips) * 1000, 1),
        "letter_pdf_median_ms": round(statistics.median(renders) * 1000, 1),
        "pdf_over_ticket_ratio": round(statistics.median(renders) / statistics.median(ticket_trips), 1),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
