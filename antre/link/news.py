"""The devices' side of the village's announcements: the retained ``{base}/news`` document and the retained
pictures ``{base}/news/picture/{id}`` (docs/protocol.md, "Village information on the devices"), read into
plain items. The TV's slides (``antre_display.slides``) and the kiosk's idle screen both use it.

Whatever arrives is checked: an unreadable document means no items; titles and texts are cut to the protocol's
limits; a picture is given with its item only when its bytes hash to what the document names (the first 16 hex
digits of SHA-256), so a picture that arrives before or after its text never shows with the wrong item; a
picture larger than one message may be is dropped; a withdrawn or expired item's picture is forgotten.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("antre.link.news")

MAX_PICTURE_BYTES = 60_000
MAX_TITLE, MAX_TEXT = 120, 600
KINDS = ("pengumuman", "berita")


@dataclass(frozen=True)
class NewsView:
    id: int
    kind: str            # pengumuman or berita
    title: str
    text: str
    picture: bytes | None    # a JPEG whose hash the document names, or None
    digest: str | None       # names the picture (for caching a decoded texture)


def picture_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _text(value: Any, limit: int) -> str:
    if not isinstance(value, str):
        return ""
    text = "".join(c for c in value if c == "\n" or c >= " ").strip()
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


class NewsFeed:
    """``apply_news(payload)`` and ``apply_picture(item, payload)`` from MQTT; ``views()`` for the screen."""

    def __init__(self) -> None:
        self.on = False
        self.seconds = 12.0
        self.items: list[dict[str, Any]] = []
        self._pictures: dict[int, bytes] = {}

    def apply_news(self, payload: bytes) -> bool:
        """The retained document; an empty payload (deleted) or an unreadable one means no items. True when
        what is shown changes."""
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
        raw = data.get("items")
        for item in raw if isinstance(raw, list) else []:
            if isinstance(item, dict) and isinstance(item.get("id"), int) and not isinstance(item.get("id"), bool):
                title = _text(item.get("title"), MAX_TITLE)
                if title:
                    items.append({"id": item["id"], "kind": item.get("kind") if item.get("kind") in KINDS
                                  else "pengumuman", "title": title, "text": _text(item.get("text"), MAX_TEXT),
                                  "picture": item.get("picture") if isinstance(item.get("picture"), str) else None})
        seconds = min(60.0, max(5.0, seconds))
        changed = (on, seconds, items) != (self.on, self.seconds, self.items)
        self.on, self.seconds, self.items = on, seconds, items
        ids = {i["id"] for i in items}
        for gone in set(self._pictures) - ids:
            del self._pictures[gone]          # a withdrawn or expired item's picture is forgotten
        return changed

    def apply_picture(self, item: int, data: bytes) -> None:
        if not data or len(data) > MAX_PICTURE_BYTES:
            self._pictures.pop(item, None)
        else:
            self._pictures[item] = data

    def view(self, item: dict[str, Any]) -> NewsView:
        data = self._pictures.get(item["id"])
        picture = data if data is not None and item["picture"] and picture_digest(data) == item["picture"] else None
        return NewsView(item["id"], item["kind"], item["title"], item["text"], picture,
                        item["picture"] if picture else None)

    def views(self) -> list[NewsView]:
        return [self.view(i) for i in self.items]


__all__ = ["NewsFeed", "NewsView", "picture_digest", "MAX_PICTURE_BYTES"]
