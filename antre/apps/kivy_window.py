"""Window settings shared by the Kivy apps (kiosk and display).

Kivy reads its settings when ``kivy.core.window`` is first imported, so :func:`configure_kivy` must run
before that; this module itself imports Kivy only inside the function.
"""

from __future__ import annotations

import argparse
import os
import re


def window_size(value: str) -> tuple[int, int]:
    """``--size`` values such as ``1280x800``."""
    m = re.fullmatch(r"(\d{3,4})x(\d{3,4})", value)
    if not m:
        raise argparse.ArgumentTypeError(f"size must look like 1280x800 or 1920x1080, not {value!r}")
    return int(m[1]), int(m[2])


def configure_kivy(width: int, height: int, fullscreen: bool, *, exit_on_escape: bool) -> None:
    """Fullscreen (on the Pi) or a fixed window at the top-left (a desktop try-out, the tests)."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    from kivy.config import Config as KivyConfig

    KivyConfig.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    KivyConfig.set("graphics", "width", str(width))
    KivyConfig.set("graphics", "height", str(height))
    KivyConfig.set("graphics", "position", "custom")
    KivyConfig.set("graphics", "left", "0")
    KivyConfig.set("graphics", "top", "0")
    KivyConfig.set("graphics", "resizable", "0")
    KivyConfig.set("graphics", "borderless", "1" if fullscreen else "0")
    KivyConfig.set("graphics", "show_cursor", "0" if fullscreen else "1")
    KivyConfig.set("input", "mouse", "mouse,disable_multitouch")
    KivyConfig.set("kivy", "exit_on_escape", "1" if exit_on_escape else "0")
