"""The village's announcements on the devices: the retained ``{base}/news`` document and one retained JPEG per
item, ``{base}/news/picture/{id}`` (docs/protocol.md, "Village information on the devices").

Runs on the service's writer thread. After a news command, at every tick (a new business day makes items
appear or expire; on a doubted clock the open day is held: :meth:`QueueService.business_date`) and on every
(re)connect, it works out what the devices should show and publishes only what changed. A picture whose item
left (withdrawn, expired, picture removed) is cleared with an empty retained message, so the broker forgets
it; retained pictures of items this service does not publish (left from before a restart) are cleared as soon
as the broker hands them to the service.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from antre.link.protocol import PROTOCOL_VERSION

if TYPE_CHECKING:
    from antre.link.mqtt import MqttLink
    from antre.link.protocol import Topics
    from antre.rules.queue import QueueService

log = logging.getLogger("antre.service.news")


class NewsPublisher:
    def __init__(self, queue: "QueueService", link: "MqttLink", topics: "Topics"):
        self.queue = queue
        self.link = link
        self.topics = topics
        self._document: dict[str, Any] | None = None
        self._pictures: dict[int, str] = {}     # item id -> the hash published for it
        self._stray: set[int] = set()            # retained picture topics seen on the broker

    def saw_picture(self, topic: str, payload: bytes) -> None:
        """A retained picture the broker holds (on the writer thread: handed over through its queue)."""
        item = self.topics.news_item_of(topic)
        if item is not None and payload:
            self._stray.add(item)

    def publish(self, force: bool = False) -> None:
        rules = self.queue.plugins.get("news")
        if rules is None:
            return
        with self.queue.sessions() as s:
            document, pictures = rules.devices(s, self.queue.clock.now())
        wanted = {i["id"]: i["picture"] for i in document["items"] if i["picture"]}
        # Pictures first, so a device that reads the new list finds its pictures there (or on the way).
        for item, digest in wanted.items():
            if force or self._pictures.get(item) != digest:
                self.link.publish(self.topics.news_picture(item), pictures[item], retain=True)
        for item in (set(self._pictures) | self._stray) - set(wanted):
            self.link.publish(self.topics.news_picture(item), b"", retain=True)   # empty retained: deleted
            log.info("news picture %s removed from the devices", item)
        self._stray.clear()
        self._pictures = wanted
        if force or document != self._document:
            self.link.publish(self.topics.news, {"protocol": PROTOCOL_VERSION} | document, retain=True)
            self._document = document


__all__ = ["NewsPublisher"]
