"""The announcements' pictures as Kivy textures, shared by the kiosk's idle screen and the TV's slides.

A picture arrives as JPEG bytes named by its digest (:class:`antre.link.news.NewsView`); decoding it is
the slow part on a Pi, so each digest is decoded once and kept, the oldest dropped past ``size``. Kivy is
imported only when a picture is first decoded, after the app has configured its window.
"""

from __future__ import annotations

import io
import logging
from typing import Any

from antre.link.news import NewsView

log = logging.getLogger(__name__)


class PictureTextures:
    """``texture(item)``: the item's picture as a texture, or None (no picture, or one Kivy cannot read:
    the item is then shown without it, and the failure is not retried while it stays cached)."""

    def __init__(self, size: int = 20):
        self.size = size
        self._cache: dict[str, Any] = {}

    def texture(self, item: NewsView) -> Any:
        if item.picture is None or item.digest is None:
            return None
        if item.digest not in self._cache:
            from kivy.core.image import Image as CoreImage

            try:
                self._cache[item.digest] = CoreImage(io.BytesIO(item.picture), ext="jpg").texture
            except Exception:  # noqa: BLE001 - a picture Kivy cannot read: the item without it
                log.warning("news picture %s could not be shown", item.id)
                self._cache[item.digest] = None
            while len(self._cache) > self.size:
                self._cache.pop(next(iter(self._cache)))
        return self._cache[item.digest]
