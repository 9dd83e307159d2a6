"""Announcement slides between calls: which slide the TV shows, and when none (no Kivy here).

The announcements come from the service's retained ``{base}/news`` and ``{base}/news/picture/{id}``, read by
:class:`antre.link.news.NewsFeed` (checked, pictures matched to their item by hash). :class:`SlideShow` adds
one question, :meth:`SlideShow.current`: the slide to show now, or None. A call always wins: from the moment
a ``ticket_called`` event arrives (:meth:`SlideShow.hold`) until its hold time is over and the voice has
finished, there is no slide, so the call is never covered and its announcement never waits for a slide.
Slides then resume where they were.
"""

from __future__ import annotations

from antre.link.news import NewsFeed, NewsView

KIND_TEXT = {"pengumuman": "Pengumuman", "berita": "Berita"}


class SlideShow(NewsFeed):
    """``apply_news`` / ``apply_picture`` from MQTT, ``hold`` at a call, ``current(now, busy)`` for the screen.
    ``now`` is a monotonic time in seconds; ``busy`` is true while the voice is still announcing."""

    def __init__(self) -> None:
        super().__init__()
        self._index = 0
        self._since: float | None = None
        self._hold_until = 0.0

    def hold(self, until: float) -> None:
        """A call arrived: no slide before ``until`` (and while the voice is busy)."""
        self._hold_until = max(self._hold_until, until)
        self._since = None

    def current(self, now: float, busy: bool = False) -> NewsView | None:
        if not self.on or not self.items or busy or now < self._hold_until:
            self._since = None
            return None
        if self._since is None:
            self._since = now
        elif now - self._since >= self.seconds:
            self._index += 1
            self._since = now
        return self.view(self.items[self._index % len(self.items)])


Slide = NewsView

__all__ = ["SlideShow", "Slide", "KIND_TEXT"]
