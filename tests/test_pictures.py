"""The announcements' pictures as Kivy textures (antre/apps/pictures.py), shared by the kiosk and the TV.

In a real Kivy window under Xvfb: a JPEG becomes a texture of its size and is decoded once per digest; bytes
that are not a picture give no texture (the item is shown without it) and are not decoded again; past the
cache's size the oldest picture is dropped, not the newest.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

from PIL import Image

SCRIPT = r"""
import json, sys
from antre.apps.kivy_window import configure_kivy
configure_kivy(200, 120, False, exit_on_escape=False)
from kivy.core.window import Window  # noqa: F401 - the GL context the textures need
from antre.apps.pictures import PictureTextures
from antre.link.news import NewsView, picture_digest

jpegs = [bytes.fromhex(h) for h in json.loads(sys.stdin.read())]
def item(i, data):
    return NewsView(id=i, kind="pengumuman", title="t", text="", picture=data,
                    digest=picture_digest(data) if data is not None else None)

cache = PictureTextures(size=2)
out = {}
first = cache.texture(item(1, jpegs[0]))
out["size"] = list(first.size) if first is not None else None
out["decoded_once"] = cache.texture(item(1, jpegs[0])) is first
out["garbage"] = cache.texture(item(2, b"<script>alert(1)</script> not a jpeg")) is None
cache.texture(item(2, b"<script>alert(1)</script> not a jpeg"))
out["none"] = cache.texture(item(3, None)) is None
third = cache.texture(item(4, jpegs[1]))   # a third picture: the first one is dropped
out["third_size"] = list(third.size) if third is not None else None
out["newest_kept"] = cache.texture(item(4, jpegs[1])) is third
out["oldest_dropped"] = cache.texture(item(1, jpegs[0])) is not first
print("RESULT " + json.dumps(out))
"""


def jpeg(width: int, height: int, colour: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buf, "JPEG")
    return buf.getvalue()


def test_pictures_decode_once_unreadable_ones_are_skipped_and_the_oldest_go(xvfb, tmp_path):
    env = dict(os.environ, **xvfb.env(), KIVY_HOME=str(tmp_path / "kivy"))
    proc = subprocess.run([sys.executable, "-c", SCRIPT], input=json.dumps(
        [jpeg(64, 48, "red").hex(), jpeg(32, 32, "blue").hex()]), env=env, capture_output=True, text=True,
        timeout=120)
    line = next((l for l in proc.stdout.splitlines() if l.startswith("RESULT ")), None)
    assert line is not None, proc.stdout + proc.stderr
    out = json.loads(line[len("RESULT "):])
    assert out == {"size": [64, 48], "decoded_once": True, "garbage": True, "none": True, "third_size": [32, 32],
                   "newest_kept": True, "oldest_dropped": True}
    # The unreadable one was tried once, not at every look, and the others never failed.
    assert proc.stderr.count("could not be shown") == 1, proc.stderr
    assert "news picture 2 could not be shown" in proc.stderr
