"""The one-command demo, headless: the whole system on this machine, end to end."""

import subprocess
import sys
import wave

from PIL import Image

from tests.support import ROOT


def run_demo(out):
    r = subprocess.run([sys.executable, "-m", "antre", "demo", "--headless", "--out", str(out)],
                       capture_output=True, text=True, cwd=ROOT, timeout=400)
    logs = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in out.glob("*.log"))
    assert r.returncode == 0, r.stdout + r.stderr + logs
    # No process of the demo died at its end (the counter's stdin reader once did, on SIGTERM).
    assert "Fatal Python error" not in logs
    return r


def calls_of(stdout: str) -> dict[str, str]:
    """'Calls: A-003 at Loket 1, A-001 at Loket 2, ...' -> {"Loket 1": "A-003", ...}"""
    line = next(line for line in stdout.splitlines() if "finished. Calls: " in line)
    listed = line.split("Calls: ", 1)[1].split(" (", 1)[0]
    return {where: number for number, where in (c.split(" at ") for c in listed.split(", "))}


def test_headless_demo_plays_a_morning_and_writes_its_pictures(tmp_path):
    out = tmp_path / "demo"
    r = run_demo(out)
    for name in ("kiosk-home", "kiosk-ticket", "kiosk-rating", "display", "ticket-preview"):
        path = out / f"{name}.png"
        assert f"{name}: {path}" in r.stdout
        with Image.open(path) as img:
            assert img.width >= 384 and len(img.getcolors(1 << 20) or []) > 8, name   # a real picture
    with wave.open(str(out / "announcement.wav")) as w:
        assert 3.0 < w.getnframes() / w.getframerate() < 20.0
    printed = (out / "printer-output.bin").read_bytes()
    assert b"\x1dV" in printed or b"\x1bi" in printed or printed.count(b"-0") >= 1   # a ticket with a cut
    # The scripted morning really happened: tickets touched on the kiosk, called and rated.
    import sqlite3
    with sqlite3.connect(out / "antre.db") as db:
        channels = dict(db.execute("select channel, count(*) from tickets group by channel").fetchall())
        assert channels.get("kiosk", 0) >= 4
        assert db.execute("select count(*) from ratings where score = 4").fetchone() == (1,)
        assert db.execute("select count(*) from tickets where state = 'called'").fetchone()[0] >= 2


def test_headless_demo_is_repeatable_and_announces_its_own_call(tmp_path):
    """Run twice into the same folder: a fresh database each time, the same calls, and the WAV is the
    TV's announcement of Loket 1's call in that run."""
    out = tmp_path / "demo"
    first = calls_of(run_demo(out).stdout)
    second = run_demo(out).stdout
    assert calls_of(second) == first and set(first) == {"Loket 1", "Loket 2", "Loket 3"}
    import sqlite3
    with sqlite3.connect(out / "antre.db") as db:
        called = dict(db.execute("select number, counter_id from tickets where counter_id is not null").fetchall())
    assert called == {number: f"loket-{where.split()[-1]}" for where, number in first.items()}
    assert f"(the announcement: {first['Loket 1']} at Loket 1)" in second
    expected = tmp_path / "expected.wav"
    subprocess.run([sys.executable, "-m", "antre", "announce", first["Loket 1"], "--counter", "loket-1",
                    "--config", str(out / "antre.toml"), "--out", str(expected)],
                   check=True, capture_output=True, cwd=ROOT, timeout=60)
    assert (out / "announcement.wav").read_bytes() == expected.read_bytes()
