"""Announcement slides between calls: which slide the TV shows, and when none (no Kivy here).

The service publishes the announcements on the retained ``{base}/news`` document and one retained JPEG per
item on ``{base}/news/picture/{id}`` (docs/protocol.md, "Village information on the devices").
:class:`SlideShow` keeps them and answers one question, :meth:`SlideShow.current`: the slide to show now,
or None. A call always wins: from the moment a ``ticket_called`` event arrives (:meth:`SlideShow.hold`)
until its hold time is over and the voice has finished, there is no slide, so the call is never covered
and its announcement never waits for a slide. Slides then resume where they were.

A picture is shown only when its bytes hash to what the document names (the first 16 hex digits of
SHA-256), so a picture that arrives before or after its text never shows with the wrong item.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("antre.display.slides")

KIND_TEXT = {"pengumuman": "Pengumuman", "berita": "Berita"}
MAX_PICTURE_BYTES = 60_000
MAX_TITLE, MAX_TEXT = 120, 600


@dataclass(frozen=True)
class Slide:
    id: int
    kind_text: str
    title: str
    text: str
    picture: bytes | None    # a JPEG, or None
    digest: str | None       # names the picture (textures are cached by it)


def _text(value: Any, limit: int) -> str:
    if not isinstance(value, str):
        return ""
    text = "".join(c for c in value if c == "\n" or c >= " ").strip()
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def picture_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


class SlideShow:
    """``apply_news`` / ``apply_picture`` from MQTT, ``hold`` at a call, ``current(now, busy)`` for the screen.
    ``now`` is a monotonic time in seconds; ``busy`` is true while the voice is still announcing."""

    def __init__(self) -> None:
        self.on = False
        self.seconds = 12.0
        self.items: list[dict[str, Any]] = []
        self._pictures: dict[int, bytes] = {}
        self._index = 0
        self._since: float | None = None
        self._hold_until = 0.0

    def apply_news(self, payload: bytes) -> bool:
        """The retained document; an empty payload (deleted) or an unreadable one means no slides."""
        try:
            data = json.loads(payload) if payload else {}
        except (ValueError, UnicodeDecodeError, RecursionError):
            log.warning("unreadable news document ignored")
            data = {}
        if not isinstance(data, dict):
            data = {}
        slides = data.get("slides") if isinstance(data.get("slides"), dict) else {}
        on = slides.get("on") is True
        seconds = slides.get("seconds")
        seconds = float(seconds) if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) else 12.0
        items = []
        for item in data.get("items") or []:
            if isinstance(item, dict) and isinstance(item.get("id"), int) and not isinstance(item.get("id"), bool):
                title = _text(item.get("title"), MAX_TITLE)
                if title:
                    items.append({"id": item["id"], "kind": item.get("kind"), "title": title,
                                  "text": _text(item.get("text"), MAX_TEXT),
                                  "picture": item.get("picture") if isinstance(item.get("picture"), str) else None})
        changed = (on, seconds, items) != (self.on, self.seconds, self.items)
        self.on, self.seconds, self.items = on, min(60.0, max(5.0, seconds)), items
        ids = {i["id"] for i in items}
        for gone in set(self._pictures) - ids:
            del self._pictures[gone]          # a withdrawn or expired item's picture is forgotten
        return changed

    def apply_picture(self, item: int, data: bytes) -> None:
        if not data or len(data) > MAX_PICTURE_BYTES:
            self._pictures.pop(item, None)
        else:
            self._pictures[item] = data

    def hold(self, until: float) -> None:
        """A call arrived: no slide before ``until`` (and while the voice is busy)."""
        self._hold_until = max(self._hold_until, until)
        self._since = None

    def current(self, now: float, busy: bool = False) -> Slide | None:
        if not self.on or not self.items or busy or now < self._hold_until:
            self._since = None
            return None
        if self._since is None:
            self._since = now
        elif now - self._since >= self.seconds:
            self._index += 1
            self._since = now
        item = self.items[self._index % len(self.items)]
        data = self._pictures.get(item["id"])
        picture = data if data is not None and item["picture"] and picture_digest(data) == item["picture"] else None
        return Slide(item["id"], KIND_TEXT.get(item["kind"], "Pengumuman"), item["title"], item["text"], picture,
                     item["picture"] if picture else None)


__all__ = ["SlideShow", "Slide", "picture_digest"]
