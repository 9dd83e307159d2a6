"""Publishes the district outbox (``antre/rules/district.py``) on the office's broker; runs on the writer thread.

- each committed row, once, on ``{base}/district/event`` (QoS 1, not retained), in order, after its commit;
- the newest number, retained on ``{base}/district/head`` ``{"seq", "time"}``, after new rows and every
  :data:`HEAD_SECONDS` (the hub's "last heard", and how it learns of rows it never got: a crash between a
  commit and its publication, a bridge queue that overflowed);
- rows again when the hub asks on ``{base}/district/resend`` ``{"from", "to"}`` (at most
  :data:`~antre.link.protocol.DISTRICT_RESEND_MAX` a request).

The office broker's bridge carries these topics to the district's broker (docs/district.md). Nothing here
waits for the district: when the link is down, the bridge queues and the hub asks for what it missed.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from typing import Any, Callable

from antre.link.mqtt import MqttLink
from antre.link.protocol import Topics, encode, read_resend
from antre.rules import district

log = logging.getLogger("antre.district")

HEAD_SECONDS = 60.0
BATCH = 500   # rows read per query while catching up


class DistrictPublisher:
    """``publish_new()`` after each commit, ``resend(payload)`` on a request, ``heartbeat()`` each loop."""

    def __init__(self, sessions, link: MqttLink, topics: Topics,
                 committed: Callable[[], int | None] = lambda: None):
        """``committed()`` gives the newest number the outbox committed in this process, or None when
        unknown (``DistrictOutbox.committed``): when it is not past what was published, nothing is read."""
        self.sessions = sessions
        self.link = link
        self.topics = topics
        self._committed = committed
        # Rows up to the head at start are not published again: the hub asks for any it lacks (the head
        # tells it how many there are).
        with self.sessions() as s:
            self.published = district.head(s)
        self._head_sent_at = 0.0
        self._head_sent: int | None = None

    def publish_new(self) -> int:
        """Publishes rows committed since the last call; returns how many."""
        known = self._committed()
        if known is not None and known <= self.published:
            return 0   # nothing committed since: no query (this runs after every batch and tick)
        count = 0
        while True:
            batch = self._publish(self.published + 1, self.published + BATCH)
            if batch:
                self.published = batch[-1]
            count += len(batch)
            if len(batch) < BATCH:
                break
        if count:
            self.heartbeat(force=True)
        return count

    def heartbeat(self, force: bool = False) -> None:
        """The retained head: after new rows, on (re)connect (``force``), and every :data:`HEAD_SECONDS`."""
        if not force and time.monotonic() - self._head_sent_at < HEAD_SECONDS:
            return
        self.link.publish(self.topics.district_head,
                          encode({"seq": self.published, "time": datetime.now(timezone.utc).isoformat()}),
                          retain=True)
        self._head_sent_at = time.monotonic()
        self._head_sent = self.published

    def resend(self, payload: bytes) -> int:
        """Publishes the rows a resend request names (those that exist); returns how many."""
        wanted = read_resend(payload)
        if wanted is None:
            return 0
        first, last = wanted
        batch = self._publish(first, min(last, self.published))
        log.info("district: resent %d row(s) of %d-%d", len(batch), first, last)
        return len(batch)


    def _publish(self, first: int, last: int) -> list[int]:
        """Publishes rows ``first`` .. ``last`` that exist, in order; returns their numbers."""
        with self.sessions() as s:
            batch = district.rows(s, first, last)
            for row in batch:
                self.link.publish(self.topics.district_event, encode(district.wire(self.topics.office_id, row)))
            return [row.seq for row in batch]


def resend_request(first: int, last: int, by: str = "") -> dict[str, Any]:
    """The payload of a resend request (``antre district resend``, the hub)."""
    data: dict[str, Any] = {"from": first, "to": last}
    if by:
        data["by"] = by
    return data
