"""The idle screen: the village's announcements on the kiosk while nobody uses it (no Kivy here).

After ``[kiosk] idle_seconds`` without a touch on the start screen, the kiosk shows the current announcements,
one at a time (title, text, picture), big; any touch goes back to the start screen and does nothing else.

When it is never shown (decided here, docs/kiosk.md):

- while a flow is in progress: only the start screen turns into it, never a ticket, a rating, a keypad or the
  staff PIN, and not while a command is on its way (``busy``);
- while the start screen has something to say: the broker or the service is away, or the office is closed
  (the red band and *Tutup • buka lagi ...* matter more to whoever walks up than news);
- on a rating-only kiosk at a counter, and when there is nothing published.

The announcements come from the service's retained ``{base}/news`` and pictures
(:class:`antre.link.news.NewsFeed`); an item withdrawn or expired leaves with the next document. Each stays
the office's slide seconds (``news_slides``, the same as the TV's), at least 8 s: a kiosk is read up close.
"""

from __future__ import annotations

from antre.link.news import NewsFeed, NewsView

from ..logic import OK

MIN_SECONDS = 8.0


def may_show(screen: str, home_screen: str, availability: str, busy: bool, idle_for: float, idle_seconds: float,
             has_items: bool, rating_mode: bool) -> bool:
    """Whether the idle screen may be (or stay) shown now."""
    if rating_mode or not has_items or busy or availability != OK:
        return False
    if screen == "news":
        return True
    return screen == home_screen and idle_for >= idle_seconds


class IdleNews:
    """The announcements and which one is shown: ``start(now)``, then ``current(now)`` (monotonic seconds)."""

    def __init__(self) -> None:
        self.feed = NewsFeed()
        self._started = 0.0

    @property
    def has_items(self) -> bool:
        return bool(self.feed.items)

    @property
    def seconds(self) -> float:
        return max(MIN_SECONDS, self.feed.seconds)

    def start(self, now: float) -> None:
        self._started = now

    def position(self, now: float) -> int:
        n = len(self.feed.items)
        return int(max(0.0, now - self._started) // self.seconds) % n if n else 0

    def current(self, now: float) -> NewsView | None:
        if not self.feed.items:
            return None
        return self.feed.view(self.feed.items[self.position(now)])


__all__ = ["IdleNews", "may_show"]
