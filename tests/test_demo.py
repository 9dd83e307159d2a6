"""The one-command demo, headless: the whole system on this machine, end to end."""

import subprocess
import sys
import wave

from PIL import Image

from tests.support import ROOT


def test_headless_demo_plays_a_morning_and_writes_its_pictures(tmp_path):
    out = tmp_path / "demo"
    r = subprocess.run([sys.executable, "-m", "antre", "demo", "--headless", "--out", str(out)],
                       capture_output=True, text=True, cwd=ROOT, timeout=400)
    logs = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in out.glob("*.log"))
    assert r.returncode == 0, r.stdout + r.stderr + logs
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
