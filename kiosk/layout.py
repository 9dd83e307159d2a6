"""How big things must be on the kiosk's screen: touch targets of at least 20 mm and text the elderly can
read, in pixels, from the panel's size (``[kiosk] screen_inches``, or the usual panel for the resolution).

Plain Python (no Kivy), so it is tested without a window::

    >>> m = metrics(800, 480)              # the 7-inch Raspberry Pi panel
    >>> (m.inches, m.target_px, m.min_font_px, m.compact, m.portrait)
    (7.0, 105, 20, True, False)

Supported panels and their usual diagonals (used when ``screen_inches`` is 0):

========== ========= ============ ==========================
resolution diagonal  20 mm target smallest text
========== ========= ============ ==========================
1280x800   10.1"     118 px       23 px (3.8 mm)
800x480    7"        105 px       20 px (3.8 mm is 20 px)
1080x1920  21.5"     81 px        20 px (the floor)
========== ========= ============ ==========================

The smallest text is 3.8 mm tall (about 11 pt, what an older reader manages at arm's length on a
kiosk), and never under 20 px: at 7" that is the floor the issue asked for, and lines such as *Punya
kode janji temu* are drawn at 20 px there, not 12.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: A touch target is at least this wide and tall (millimetres): a fingertip of an older hand.
TARGET_MM = 20.0
#: The smallest text (the em size of the font, millimetres), and its floor in pixels.
MIN_TEXT_MM = 3.8
MIN_TEXT_PX = 20
#: Diagonals of the panels the kiosk is sold with, by (long side, short side) in pixels.
USUAL_INCHES = {(1280, 800): 10.1, (800, 480): 7.0, (1920, 1080): 21.5, (1024, 600): 7.0}
#: Pixels per inch assumed for a resolution not listed above (a typical small panel).
FALLBACK_PPI = 150.0


@dataclass(frozen=True)
class Metrics:
    width: int
    height: int
    inches: float
    px_per_mm: float
    target_px: int       # the smallest touch target, both ways
    min_font_px: int     # the smallest text
    portrait: bool       # taller than wide: its own layout
    compact: bool        # a short screen (a 7-inch panel): the title and spacing give way


def screen_inches(width: int, height: int, configured: float = 0.0) -> float:
    """``configured`` when given (> 0), else the usual diagonal for the resolution, else one at
    :data:`FALLBACK_PPI`."""
    if configured > 0:
        return configured
    key = (max(width, height), min(width, height))
    if key in USUAL_INCHES:
        return USUAL_INCHES[key]
    return round(math.hypot(width, height) / FALLBACK_PPI, 1)


def metrics(width: int, height: int, configured_inches: float = 0.0) -> Metrics:
    """The sizes for a ``width`` x ``height`` window on a panel of ``configured_inches`` (0: usual)."""
    if width <= 0 or height <= 0:
        raise ValueError(f"screen size must be positive, not {width}x{height}")
    inches = screen_inches(width, height, configured_inches)
    px_per_mm = math.hypot(width, height) / (inches * 25.4)
    return Metrics(width=width, height=height, inches=inches, px_per_mm=px_per_mm,
                   target_px=math.ceil(TARGET_MM * px_per_mm),
                   min_font_px=max(MIN_TEXT_PX, math.ceil(MIN_TEXT_MM * px_per_mm)),
                   portrait=height > width, compact=min(width, height) < 600)
