"""TV slides and a call's announcement: does a slide on the screen delay the voice?

    .venv/bin/python -m bench.slides_bench [--calls 8]

One real ``antre display`` (a window on a private Xvfb screen), a real mosquitto and ``antre serve``, an
announcement with a picture. The calls alternate in the same run and the same display process: slides on
(a slide is on the screen when ``call_next`` is sent) and slides off (the office's setting, ``news_slides``).
Measured per call: wall time from sending ``call_next`` to the audio player being handed the announcement's
WAV file (a script that writes the time and the file's name; espeak-ng's synthesis is inside, the same for
both). Reported: the medians and their ratio (slides on / off); 1.0 means slides cost a call nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from antre import config
from antre.rules.news import picture_folder
from tests.conftest import start_office
from tests.support import Mosquitto, Xvfb, wait_for
from tests.test_display_app import Board, display_config
from tests.test_letters import sign_in_staff
from tests.test_news_devices import photo_bytes, write_picture


def played_times(log: Path) -> list[float]:
    if not log.exists():
        return []
    return [float(line.split()[0]) for line in log.read_text().splitlines() if line.strip()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=8, help="calls with slides on, and as many with slides off")
    ap.add_argument("--json", type=Path, help="also write the result here")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="antre-slides-bench-"))
    broker = Mosquitto(work / "mosquitto").start()
    xvfb = Xvfb().start()
    office = start_office(work, broker)
    board = None
    try:
        c = office.client
        st = sign_in_staff(c.ok)
        cfg_path, _ = display_config(office.config_path, work)
        log = work / "timed.log"
        (work / "player.sh").write_text(f'#!/bin/sh\necho "$(date +%s.%N) $1" >> "{log}"\n')
        today = c.wait_state(lambda s: True)["business_date"]
        folder = picture_folder(config.load(office.config_path))
        c.ok("news_save", kind="pengumuman", title="Posyandu balita dan lansia", body="Rabu pukul 08.00 di balai desa.",
             publish_on=today, picture=write_picture(folder, photo_bytes()), **st["kasi"])
        for _ in range(2 * args.calls + 1):
            c.ok("issue_ticket", service="adminduk")
        board = Board(work, cfg_path, xvfb, "1920x1080").start()
        latency: dict[bool, list[float]] = {True: [], False: []}
        # One call first, not counted: espeak-ng's and the player's first start are slower.
        c.ok("call_next", counter="loket-1")
        wait_for(lambda: len(played_times(log)) == 1, what="the warm-up announcement")
        board.wait(lambda ui: not ui["flashing"], "the hold to end")
        for i in range(1, 2 * args.calls + 1):
            on = i % 4 in (1, 2)   # on, on, off, off, ...: each mode follows either mode equally often
            c.ok("news_slides", on=on, seconds=5, **st["kasi"])
            if on:
                board.wait(lambda ui: ui["slide"] is not None and ui["slide"]["picture"], "a slide")
            else:
                board.wait(lambda ui: not ui["slides"]["on"] and ui["slide"] is None and not ui["flashing"],
                           "no slide")
            sent = time.time()
            c.ok("call_next", counter="loket-1")
            wait_for(lambda: len(played_times(log)) == i + 1, what=f"announcement {i + 1}")
            latency[on].append(played_times(log)[-1] - sent)
            board.wait(lambda ui: not ui["flashing"], "the hold to end")
        on_ms = statistics.median(latency[True]) * 1000
        off_ms = statistics.median(latency[False]) * 1000
        result = {"calls_each": args.calls, "median_ms_slides_on": round(on_ms, 1),
                  "median_ms_slides_off": round(off_ms, 1), "ratio_on_off": round(on_ms / off_ms, 3),
                  "max_ms_slides_on": round(max(latency[True]) * 1000, 1),
                  "max_ms_slides_off": round(max(latency[False]) * 1000, 1)}
        print(json.dumps(result, indent=2))
        if args.json:
            args.json.write_text(json.dumps(result, indent=2))
        return 0
    finally:
        if board is not None:
            board.stop()
        office.client.stop()
        office.service.stop()
        xvfb.stop()
        broker.stop()


if __name__ == "__main__":
    raise SystemExit(main())
