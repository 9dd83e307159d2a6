"""Is the queue service online? One answer for every device, from the retained presence messages.

Each service login keeps a retained ``{base}/status/service/{client_id}`` (``online`` true, or false as
its last will). A client id of its own (``mqtt.client_id``) is a presence of its own, and a service that
moved leaves an old, cleared or offline one behind, so the answer is: online when any service says so,
offline when all that speak say they are not, unknown (None) when none has said anything.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

#: The ``component`` (topic role) of the queue service's presence.
SERVICE = "service"


def service_online(presences: Iterable[dict[str, Any]]) -> bool | None:
    """The answer from presence messages (as :func:`antre.link.protocol.read_presence` returns them) of
    any components: True, False, or None when no service has said anything."""
    services = [p for p in presences if p.get("component") == SERVICE]
    if not services:
        return None
    return any(bool(p.get("online")) for p in services)


class ServicePresence:
    """Keeps the service's presence messages; safe to feed from paho's thread and read from another.

    >>> p = ServicePresence()
    >>> p.update(("service", "antre-service", {"component": "service", "online": True}))
    True
    >>> p.online
    True
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, dict[str, Any]] = {}

    def update(self, presence: tuple[str, str, dict[str, Any] | None] | None) -> bool:
        """Takes what :func:`~antre.link.protocol.read_presence` returned. True when it was a presence of
        the service (or cleared one that was known), so the answer may have changed; False otherwise."""
        if presence is None or presence[0] != SERVICE:
            return False
        _, client_id, data = presence
        with self._lock:
            if data is None:
                return self._seen.pop(client_id, None) is not None
            else:
                self._seen[client_id] = data
        return True

    @property
    def online(self) -> bool | None:
        with self._lock:
            return service_online(self._seen.values())


__all__ = ["SERVICE", "ServicePresence", "service_online"]
