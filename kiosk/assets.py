"""The kiosk's icons and touch sound, drawn here with Pillow and the ``wave`` module.

Nothing is downloaded: every picture is a few lines of drawing code, so the
files in ``kiosk/assets/`` can be regenerated at any time::

    python -m antre_kiosk.assets          # rewrites kiosk/assets/*.png and click.wav

The app calls :func:`ensure_assets` at start-up, which only draws what is missing
(a read-only install keeps the shipped files).
"""

from __future__ import annotations

import math
import struct
import sys
import wave
from pathlib import Path

ASSETS = Path(__file__).resolve().parent / "assets"
SIZE = 128  # icons are drawn at 4x and scaled down for smooth edges
_S = SIZE * 4

# Rating faces: score -> (fill colour, mouth curvature). 4 = Sangat Puas ... 1 = Tidak Puas.
FACES = {
    4: ((46, 160, 67), 1.0),
    3: ((140, 190, 60), 0.45),
    2: ((240, 160, 30), -0.45),
    1: ((215, 58, 49), -1.0),
}

WHITE = (255, 255, 255, 255)
DARK = (20, 24, 33, 255)


def _canvas():
    from PIL import Image, ImageDraw
    img = Image.new("RGBA", (_S, _S), (0, 0, 0, 0))
    return img, ImageDraw.Draw(img)


def _save(img, path: Path, size: int = SIZE) -> None:
    from PIL import Image
    img.resize((size, size), Image.LANCZOS).save(path, optimize=True)


def _w(f: float) -> int:
    return int(f * _S)


def draw_face(score: int):
    """A round face: green and smiling for 4, red and frowning for 1."""
    colour, curve = FACES[score]
    img, d = _canvas()
    d.ellipse([_w(.03), _w(.03), _w(.97), _w(.97)], fill=colour + (255,), outline=DARK, width=_w(.035))
    for cx in (.35, .65):
        d.ellipse([_w(cx - .06), _w(.32), _w(cx + .06), _w(.46)], fill=DARK)
    # Mouth: a parabola from (0.28, y0) to (0.72, y0), bending by `curve`.
    pts = []
    for i in range(41):
        t = i / 40
        x = .28 + .44 * t
        y = .66 + curve * .13 * (1 - (2 * t - 1) ** 2) - curve * .03
        pts.append((_w(x), _w(y)))
    d.line(pts, fill=DARK, width=_w(.05), joint="curve")
    for p in (pts[0], pts[-1]):
        r = _w(.025)
        d.ellipse([p[0] - r, p[1] - r, p[0] + r, p[1] + r], fill=DARK)
    return img


def draw_ticket(colour=WHITE):
    """A ticket stub with a notch on each side."""
    img, d = _canvas()
    d.rounded_rectangle([_w(.06), _w(.2), _w(.94), _w(.8)], radius=_w(.08), fill=colour)
    for cx in (.06, .94):
        d.ellipse([_w(cx - .09), _w(.41), _w(cx + .09), _w(.59)], fill=(0, 0, 0, 0))
    for y in (.36, .5, .64):
        d.line([_w(.3), _w(y), _w(.7), _w(y)], fill=(0, 0, 0, 0), width=_w(.05))
    return img


def draw_info(colour=WHITE):
    """A letter i in a ring."""
    img, d = _canvas()
    d.ellipse([_w(.05), _w(.05), _w(.95), _w(.95)], outline=colour, width=_w(.09))
    d.ellipse([_w(.43), _w(.2), _w(.57), _w(.34)], fill=colour)
    d.rounded_rectangle([_w(.43), _w(.41), _w(.57), _w(.8)], radius=_w(.03), fill=colour)
    return img


def draw_star(colour=WHITE):
    img, d = _canvas()
    pts = []
    for i in range(10):
        r = .46 if i % 2 == 0 else .19
        a = -math.pi / 2 + i * math.pi / 5
        pts.append((_w(.5 + r * math.cos(a)), _w(.53 + r * math.sin(a))))
    d.polygon(pts, fill=colour)
    return img


def draw_globe(colour=WHITE):
    """A globe (language)."""
    img, d = _canvas()
    w = _w(.06)
    d.ellipse([_w(.06), _w(.06), _w(.94), _w(.94)], outline=colour, width=w)
    d.ellipse([_w(.3), _w(.06), _w(.7), _w(.94)], outline=colour, width=w)
    d.line([_w(.5), _w(.06), _w(.5), _w(.94)], fill=colour, width=w)
    d.line([_w(.06), _w(.5), _w(.94), _w(.5)], fill=colour, width=w)
    d.line([_w(.15), _w(.28), _w(.85), _w(.28)], fill=colour, width=w)
    d.line([_w(.15), _w(.72), _w(.85), _w(.72)], fill=colour, width=w)
    return img


def draw_person(colour=WHITE):
    """A person with a walking stick (priority)."""
    img, d = _canvas()
    d.ellipse([_w(.36), _w(.04), _w(.58), _w(.26)], fill=colour)
    d.rounded_rectangle([_w(.33), _w(.3), _w(.6), _w(.64)], radius=_w(.08), fill=colour)
    d.line([_w(.4), _w(.6), _w(.34), _w(.96)], fill=colour, width=_w(.1))
    d.line([_w(.53), _w(.6), _w(.58), _w(.96)], fill=colour, width=_w(.1))
    d.line([_w(.58), _w(.38), _w(.74), _w(.52)], fill=colour, width=_w(.07))
    d.line([_w(.76), _w(.5), _w(.76), _w(.96)], fill=colour, width=_w(.05))
    return img


def draw_home(colour=WHITE):
    img, d = _canvas()
    d.polygon([(_w(.5), _w(.08)), (_w(.94), _w(.48)), (_w(.06), _w(.48))], fill=colour)
    d.rectangle([_w(.18), _w(.46), _w(.82), _w(.9)], fill=colour)
    d.rectangle([_w(.42), _w(.6), _w(.58), _w(.9)], fill=(0, 0, 0, 0))
    return img


def draw_back(colour=WHITE):
    img, d = _canvas()
    d.polygon([(_w(.08), _w(.5)), (_w(.46), _w(.14)), (_w(.46), _w(.86))], fill=colour)
    d.rectangle([_w(.42), _w(.38), _w(.92), _w(.62)], fill=colour)
    return img


def draw_check(colour=WHITE):
    img, d = _canvas()
    d.line([(_w(.12), _w(.52)), (_w(.4), _w(.8)), (_w(.9), _w(.2))], fill=colour, width=_w(.14), joint="curve")
    return img


def draw_warning(colour=(255, 214, 0, 255)):
    """A warning triangle with an exclamation mark."""
    img, d = _canvas()
    d.polygon([(_w(.5), _w(.05)), (_w(.97), _w(.92)), (_w(.03), _w(.92))], fill=colour)
    d.rounded_rectangle([_w(.45), _w(.3), _w(.55), _w(.67)], radius=_w(.03), fill=DARK)
    d.ellipse([_w(.44), _w(.73), _w(.56), _w(.85)], fill=DARK)
    return img


def draw_printer(colour=WHITE):
    img, d = _canvas()
    d.rectangle([_w(.26), _w(.06), _w(.74), _w(.36)], outline=colour, width=_w(.06))
    d.rounded_rectangle([_w(.06), _w(.32), _w(.94), _w(.72)], radius=_w(.06), fill=colour)
    d.rectangle([_w(.26), _w(.58), _w(.74), _w(.95)], fill=colour, outline=(0, 0, 0, 0))
    d.rectangle([_w(.3), _w(.62), _w(.7), _w(.91)], fill=(0, 0, 0, 0))
    d.line([_w(.36), _w(.72), _w(.64), _w(.72)], fill=colour, width=_w(.04))
    d.line([_w(.36), _w(.82), _w(.64), _w(.82)], fill=colour, width=_w(.04))
    return img


def draw_keypad(colour=WHITE):
    img, d = _canvas()
    for row in range(3):
        for col in range(3):
            x, y = .08 + col * .3, .08 + row * .3
            d.rounded_rectangle([_w(x), _w(y), _w(x + .24), _w(y + .24)], radius=_w(.04), fill=colour)
    return img


def draw_speaker(colour=WHITE):
    """A loudspeaker with sound waves (Dengarkan: listen)."""
    img, d = _canvas()
    d.rectangle([_w(.06), _w(.36), _w(.26), _w(.64)], fill=colour)
    d.polygon([(_w(.24), _w(.36)), (_w(.5), _w(.12)), (_w(.5), _w(.88)), (_w(.24), _w(.64))], fill=colour)
    for r in (.2, .34):
        d.arc([_w(.5 - r), _w(.5 - r - .06), _w(.5 + r + .12), _w(.5 + r + .06)], -50, 50, fill=colour,
              width=_w(.07))
    return img


ICONS = {
    "ticket": draw_ticket, "speaker": draw_speaker, "info": draw_info, "star": draw_star, "globe": draw_globe, "priority": draw_person,
    "home": draw_home, "back": draw_back, "check": draw_check, "warning": draw_warning, "printer": draw_printer,
    "keypad": draw_keypad,
}


def write_click(path: Path, rate: int = 22050) -> None:
    """A 40 ms click: a 1.6 kHz tone with a fast exponential decay, 16-bit mono."""
    n = int(rate * 0.04)
    frames = b"".join(
        struct.pack("<h", int(12000 * math.exp(-i / (rate * 0.006)) * math.sin(2 * math.pi * 1600 * i / rate)))
        for i in range(n))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)


def ensure_assets(directory: Path = ASSETS, *, force: bool = False) -> Path:
    """Draws every icon and the click sound into ``directory`` unless already there."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, fn in ICONS.items():
        p = directory / f"{name}.png"
        if force or not p.exists():
            _save(fn(), p)
    for score in FACES:
        p = directory / f"face{score}.png"
        if force or not p.exists():
            _save(draw_face(score), p, 2 * SIZE)  # shown large on the rating screen
    click = directory / "click.wav"
    if force or not click.exists():
        write_click(click)
    return directory


if __name__ == "__main__":
    out = ensure_assets(Path(sys.argv[1]) if len(sys.argv) > 1 else ASSETS, force=True)
    print(f"wrote icons and click.wav to {out}")
