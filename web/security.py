"""Small, pure security helpers: PIN hashes, signed staff sessions, CSRF tokens, rate limits.

Nothing here touches the network; each piece has a test of its own in ``tests/test_web.py``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections import deque

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_pin(pin: str, *, salt: bytes | None = None) -> str:
    """``scrypt$16384$8$1$<salt>$<hash>``: what ``[web] staff_pin_hash`` holds. Never store the PIN itself."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_pin(pin: str, stored: str) -> bool:
    """True when ``pin`` matches a :func:`hash_pin` string (constant time); False for a malformed hash."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(pin.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), dklen=32)
        return hmac.compare_digest(got, _unb64(digest))
    except (ValueError, TypeError):
        return False


def valid_pin_hash(stored: str) -> bool:
    parts = stored.split("$")
    return len(parts) == 6 and parts[0] == "scrypt" and all(parts[1:])


class Signer:
    """Signs short values with HMAC-SHA256: ``sign("staff", ttl)`` -> token; ``check(token)`` -> value or None."""

    def __init__(self, key: bytes):
        self.key = key

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self.key, payload.encode(), hashlib.sha256).digest())

    def sign(self, value: str, ttl_seconds: float, now: float | None = None) -> str:
        payload = f"{value}|{int((now or time.time()) + ttl_seconds)}"
        return f"{payload}|{self._mac(payload)}"

    def check(self, token: str, now: float | None = None) -> str | None:
        try:
            value, expires, mac = token.rsplit("|", 2)
            if not hmac.compare_digest(mac, self._mac(f"{value}|{expires}")):
                return None
            return value if int(expires) >= (now or time.time()) else None
        except ValueError:
            return None


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def csrf_ok(cookie: str | None, field: str | None) -> bool:
    """Double-submit check: the form field must equal the browser's own CSRF cookie."""
    return bool(cookie) and bool(field) and hmac.compare_digest(cookie.encode(), field.encode())


class RateLimiter:
    """At most ``limit`` hits per ``window`` seconds per key (an IP address), in memory.

    >>> r = RateLimiter(2, 60.0)
    >>> r.allow("1.2.3.4", now=0), r.allow("1.2.3.4", now=1), r.allow("1.2.3.4", now=2)
    (True, True, False)
    """

    def __init__(self, limit: int, window: float = 60.0, max_keys: int = 10000):
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                if len(self._hits) >= self.max_keys:
                    self._forget(now)
                hits = self._hits[key] = deque()
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            return True

    def _forget(self, now: float) -> None:
        for k in [k for k, h in self._hits.items() if not h or h[-1] <= now - self.window]:
            del self._hits[k]
        if len(self._hits) >= self.max_keys:  # under a flood, forget the oldest half
            for k in list(self._hits)[: self.max_keys // 2]:
                del self._hits[k]
