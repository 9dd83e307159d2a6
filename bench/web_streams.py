"""Live status pages against the kiosk: does what phones watch cost the service anything?

One office (``antre serve``) and one ``antre web``. A kiosk paced like a real one (a ticket
every 300 ms, a counter call every tenth ticket, so open pages really change) measures its
``issue_ticket`` round trip with 0, 1,000 and 5,000 open status streams, all in the same run:
the streams follow real waiting tickets, and as many again are tried for numbers never issued
(the website must refuse those). Streams come from many source addresses (127.1.x.y, at most
10 per address), as phones do. Also counted: ``ticket_status`` commands the service received
while the kiosk was measured (the cost per watcher), and the web process's RSS.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from antre.ops.devtools import stop_process
from bench.harness import Client, Mosquitto, percentile, rss_mb, start_service
from tests.support import ROOT, free_port, port_open, wait_for

PACE_S = 0.3          # a kiosk: one ticket every few hundred milliseconds
PER_ADDRESS = 10      # streams per source address (the site allows 20)
REAL_TICKETS = 200    # waiting tickets the streams follow


class StreamHolder:
    """Thousands of open event streams in one asyncio loop (a thread): raw sockets, events counted."""

    def __init__(self, port: int):
        self.port = port
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="streams", daemon=True)
        self.thread.start()
        self.writers: list[asyncio.StreamWriter] = []
        self.events = 0

    def run(self, coro, timeout: float = 300):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _open(self, path: str, source: str, sem: asyncio.Semaphore) -> int:
        async with sem:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port, local_addr=(source, 0))
            writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n".encode())
            await writer.drain()
            status = int((await reader.readline()).split()[1])
            if status != 200:
                writer.close()
                return status
            self.writers.append(writer)
            self.loop.create_task(self._drain(reader))
            return status

    async def _drain(self, reader: asyncio.StreamReader) -> None:
        while chunk := await reader.read(65536):
            self.events += chunk.count(b"data: ")

    def open(self, targets: list[tuple[str, str]]) -> list[int]:
        async def all_of():
            sem = asyncio.Semaphore(100)
            return await asyncio.gather(*(self._open(p, s, sem) for p, s in targets))
        return self.run(all_of())

    def close(self) -> None:
        async def shut():
            for w in self.writers:
                w.close()
            self.writers.clear()
        self.run(shut())

    def stop(self) -> None:
        self.close()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


class HolderProcess:
    """A :class:`StreamHolder` in a process of its own (its reading must not share the kiosk's GIL),
    driven by JSON lines: ``python -m bench.web_streams --hold PORT``."""

    def __init__(self, port: int):
        self.proc = subprocess.Popen([sys.executable, "-m", "bench.web_streams", "--hold", str(port)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)

    def _ask(self, cmd: str, arg=None):
        self.proc.stdin.write(json.dumps([cmd, arg]) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the stream holder process died")
        return json.loads(line)

    def open(self, targets: list[tuple[str, str]]) -> list[int]:
        return self._ask("open", targets)

    @property
    def events(self) -> int:
        return self._ask("events")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self._ask("stop")
        self.proc.wait(30)


def _hold(port: int) -> None:
    holder = StreamHolder(port)
    for line in sys.stdin:
        cmd, arg = json.loads(line)
        if cmd == "open":
            out = holder.open([tuple(t) for t in arg])
        elif cmd == "events":
            out = holder.events
        else:
            holder.stop()
            out = None
        print(json.dumps(out), flush=True)
        if cmd == "stop":
            return


def _source(i: int) -> str:
    return f"127.1.{i // 250}.{i % 250 + 1}"


def measure(broker: Mosquitto, workdir: Path, quick: bool, log) -> dict:
    levels = (0, 200, 1000) if quick else (0, 1000, 5000)
    tickets_per_level = 20 if quick else 60
    folder = workdir / "streams"
    folder.mkdir()
    svc, watcher = start_service(folder, broker, f"sqlite:///{folder / 'antre.db'}", name="streams")
    port = free_port()
    # The web gets its own file: the benchmark service's [mqtt] client_id is the service's identity.
    web_cfg = folder / "web.toml"
    text = svc.config_path.read_text()
    text = "\n".join(line for line in text.splitlines() if not line.startswith("client_id"))
    web_cfg.write_text(text + f'\n[web]\nhost = "127.0.0.1"\nport = {port}\nclient_id = "bench-web-{svc.office_id}"\n'
                              f"streams_total = 100000\n")
    log_fh = open(folder / "web.log", "ab")
    web_proc = subprocess.Popen([sys.executable, "-m", "antre", "web", "--config", str(web_cfg)],
                                stdout=log_fh, stderr=subprocess.STDOUT, cwd=ROOT)
    kiosk = Client(broker.url, svc.office_id, "kiosk").start()
    counter = Client(broker.url, svc.office_id, "counter").start()
    asked: list[str] = []
    spy = Client(broker.url, svc.office_id, "admin").start()
    spy.link.subscribe(spy.topics.commands, lambda t, p: asked.append(spy.topics.sender(t).command))
    holder = HolderProcess(port)
    out: dict = {"levels": {}}
    try:
        wait_for(lambda: port_open(port), timeout=60, what="antre web to listen")
        day = None
        real = []
        for _ in range(REAL_TICKETS):
            r = kiosk.ok("issue_ticket", service="adminduk")
            real.append(r["number"])
            day = r["business_date"]
        # The counter calls the oldest ones during the run: the pages follow tickets still waiting at the end.
        real = real[REAL_TICKETS // 4:]
        never = [f"A-{900000 + i:06d}" for i in range(max(levels))]
        opened = 0
        for level in levels:
            if level > opened:
                log(f"web streams: opening {level - opened} streams on real tickets and trying as many never issued")
                targets = [(f"/status/{day}/{real[i % len(real)]}/events", _source(i // PER_ADDRESS))
                           for i in range(opened, level)]
                got = holder.open(targets)
                assert got.count(200) == len(targets), f"real-ticket streams refused: {set(got)}"
                bogus = holder.open([(f"/status/{day}/{never[i]}/events", _source(20000 + i // PER_ADDRESS))
                                     for i in range(opened, level)])
                out.setdefault("never_issued_refused", 0)
                out["never_issued_refused"] += sum(1 for s in bogus if s == 404)
                out.setdefault("never_issued_tried", 0)
                out["never_issued_tried"] += len(bogus)
                opened = level
            log(f"web streams: kiosk latency with {level} open streams")
            start, before_events = len(asked), holder.events
            lat = []
            for i in range(tickets_per_level):
                t0 = time.perf_counter()
                kiosk.ok("issue_ticket", service="adminduk")
                lat.append(time.perf_counter() - t0)
                if i % 10 == 9:
                    counter.ok("call_next", counter="loket-1")   # pages of adminduk move up one place
                time.sleep(max(0.0, PACE_S - (time.perf_counter() - t0)))
            seen = asked[start:].count("issue_ticket")
            if seen < tickets_per_level:   # the spy must see the kiosk, or its zero would mean nothing
                raise RuntimeError(f"the command spy saw {seen} issue_ticket commands, not {tickets_per_level}")
            out["levels"][str(level)] = {
                "p50_ms": percentile(lat, 50) * 1000, "p99_ms": percentile(lat, 99) * 1000,
                "max_ms": max(lat) * 1000, "n": len(lat),
                "ticket_status_asked": asked[start:].count("ticket_status"),
                "events_pushed": holder.events - before_events,
                "web_rss_mb": rss_mb(web_proc.pid),
            }
    finally:
        holder.stop()
        for c in (kiosk, counter, spy):
            c.stop()
        stop_process(web_proc)
        log_fh.close()
        svc.proc.stop()
        watcher.stop()
    out["levels_order"] = [str(x) for x in levels]
    return out


if __name__ == "__main__":
    if sys.argv[1:2] == ["--hold"]:
        _hold(int(sys.argv[2]))
