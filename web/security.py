"""Small, pure security helpers: password hashes, staff sessions, the login throttle, CSRF tokens, rate limits.

Nothing here touches the network; each piece has a test of its own in ``tests/test_web.py``.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque

# The hash format is the core's: `antre config secrets` makes these hashes too.
from antre.secret_check import hash_pin, verify_pin  # noqa: F401 (the website's names for them)



def valid_pin_hash(stored: str) -> bool:
    parts = stored.split("$")
    return len(parts) == 6 and parts[0] == "scrypt" and all(parts[1:])


PASSWORD_MIN_LENGTH = 12   # characters of a staff password (a passphrase: "kopi manis pagi hari")


class SessionStore:
    """Staff sessions kept on the server: the browser holds only a random token.

    A token is valid until it expires or is revoked (signing out revokes it everywhere: the same
    cookie sent from another address is dead too). In memory: a restart of ``antre web`` signs
    everyone out. Each session names its ``subject`` ("staff" today; a person's account later), so
    one person's sessions can be revoked together.

    >>> store = SessionStore()
    >>> token = store.create("staff", 60, now=0)
    >>> store.get(token, now=30)["subject"], store.get(token, now=61)
    ('staff', None)
    >>> store.revoke(token); store.get(token, now=1) is None
    True
    """

    def __init__(self, max_sessions: int = 1000):
        self.max_sessions = max_sessions
        self._sessions: dict[str, dict] = {}
        self._lock = threading.Lock()

    def create(self, subject: str, ttl_seconds: float, now: float | None = None, **data) -> str:
        now = time.time() if now is None else now
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._expire(now)
            while len(self._sessions) >= self.max_sessions:   # the oldest goes first
                del self._sessions[next(iter(self._sessions))]
            self._sessions[token] = {"subject": subject, "created": now, "expires": now + ttl_seconds} | data
        return token

    def get(self, token: str | None, now: float | None = None) -> dict | None:
        if not token or len(token) > 100:
            return None
        now = time.time() if now is None else now
        with self._lock:
            session = self._sessions.get(token)
            if session is None or session["expires"] <= now:
                self._sessions.pop(token, None)
                return None
            return dict(session)

    def revoke(self, token: str | None) -> None:
        with self._lock:
            self._sessions.pop(token or "", None)

    def revoke_subject(self, subject: str) -> int:
        with self._lock:
            gone = [t for t, s in self._sessions.items() if s["subject"] == subject]
            for t in gone:
                del self._sessions[t]
        return len(gone)

    def __len__(self) -> int:
        return len(self._sessions)

    def _expire(self, now: float) -> None:
        for t in [t for t, s in self._sessions.items() if s["expires"] <= now]:
            del self._sessions[t]


class LoginThrottle:
    """Wrong passwords slow down every address, not only the one that sent them.

    Per address: ``per_address`` failures in ``window`` seconds lock that address for the rest of
    the window. In all: after ``free`` failures within ``global_window`` seconds (from any addresses
    at all), each further attempt must wait ``base`` seconds after the last failure, doubling with
    every failure, at most ``cap``. Attempts refused while waiting are not checked and not counted.
    Rotating source addresses therefore buy nothing: with the defaults, at most about 150 guesses a
    day get checked, however many addresses send them.

    >>> t = LoginThrottle(per_address=5, free=2, base=15, cap=600)
    >>> [t.wait(f"10.0.0.{i}", now=0) for i in range(3)]
    [0.0, 0.0, 0.0]
    >>> t.failed("10.0.0.1", now=0); t.failed("10.0.0.2", now=1); t.wait("10.0.0.3", now=2)
    14.0
    >>> t.wait("10.0.0.3", now=16.5), t.failed("10.0.0.3", now=17), t.wait("10.0.0.4", now=18)
    (0.0, None, 29.0)
    """

    def __init__(self, per_address: int = 5, window: float = 600.0, free: int = 10,
                 global_window: float = 86400.0, base: float = 15.0, cap: float = 600.0):
        self.per_address = per_address
        self.window = window
        self.free, self.global_window, self.base, self.cap = free, global_window, base, cap
        self._failures: deque[float] = deque()
        self._address_failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait(self, address: str, now: float | None = None) -> float:
        """Seconds this address must wait before a password is checked (0: check it now)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            mine = self._address_failures.get(address)
            while mine and mine[0] <= now - self.window:
                mine.popleft()
            if mine is not None and len(mine) >= self.per_address:
                return float(mine[0] + self.window - now)
            while self._failures and self._failures[0] <= now - self.global_window:
                self._failures.popleft()
            over = len(self._failures) - self.free
            if over < 0:
                return 0.0
            delay = min(self.cap, self.base * 2 ** over)
            return float(max(0.0, self._failures[-1] + delay - now))

    def failed(self, address: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._failures.append(now)
            if len(self._address_failures) >= 10000:   # under a flood of addresses, forget the oldest half
                for k in list(self._address_failures)[:5000]:
                    del self._address_failures[k]
            self._address_failures.setdefault(address, deque()).append(now)


CSRF_COOKIE = "antre_csrf"   # the double-submit cookie every form checks against


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def csrf_ok(cookie: str | None, field: str | None) -> bool:
    """Double-submit check: the form field must equal the browser's own CSRF cookie."""
    return bool(cookie) and bool(field) and hmac.compare_digest(cookie.encode(), field.encode())


def csrf_token(request) -> str:
    """The token a page's forms carry (``<input name="csrf">``): the browser's own CSRF cookie, or a new one
    that :func:`set_csrf_cookie` gives the browser with the page (Starlette's ``request.state``)."""
    token = request.cookies.get(CSRF_COOKIE)
    if not token or len(token) > 64:
        token = getattr(request.state, "new_csrf", None) or new_csrf_token()
        request.state.new_csrf = token
    return token


def set_csrf_cookie(request, response) -> None:
    """Sets the cookie of a token :func:`csrf_token` made for this page, if it made one."""
    new = getattr(request.state, "new_csrf", None)
    if new:
        response.set_cookie(CSRF_COOKIE, new, httponly=True, samesite="strict", path="/",
                            secure=request.url.scheme == "https")


def form_csrf_ok(request, form) -> bool:
    """A submitted form's ``csrf`` field matches the browser's CSRF cookie."""
    return csrf_ok(request.cookies.get(CSRF_COOKIE), form.get("csrf"))


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
        if len(self._hits) >= self.max_keys:
            # Under a flood, forget half: the fewest hits first (the oldest among equals). The oldest half went
            # whatever it held, so a flood of new addresses gave an address held at its limit a fresh one.
            for k in sorted(self._hits, key=lambda k: len(self._hits[k]))[: max(1, self.max_keys // 2)]:
                del self._hits[k]


class GuessLimit:
    """Wrong codes per client address (and from everyone together), in memory: "Semua urusan saya" asks
    :meth:`blocked` before it sends an SMS code to the service and reports a wrong one with :meth:`miss` (the
    service burns a code after 5 wrong tries too; lookups by code are counted by the service itself). ``total``
    None: no cap on all addresses together (which anyone with a few addresses could fill to lock everyone out).

    >>> g = GuessLimit(per_address=2, window=600.0, total=100)
    >>> g.miss("1.2.3.4", now=0); g.miss("1.2.3.4", now=1); g.blocked("1.2.3.4", now=2), g.blocked("5.6.7.8", now=2)
    (True, False)
    >>> g.blocked("1.2.3.4", now=601)
    False
    """

    def __init__(self, per_address: int = 10, window: float = 600.0, total: int | None = 300):
        self.per_address = per_address
        self.window = window
        self.total = total
        self._misses = RateLimiter(10 ** 9, window)     # only its bookkeeping: one deque per address
        self._all: deque[float] = deque()
        self._lock = threading.Lock()

    def _trim(self, now: float) -> None:
        while self._all and self._all[0] <= now - self.window:
            self._all.popleft()

    def blocked(self, address: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._trim(now)
            if self.total is not None and len(self._all) >= self.total:
                return True
            hits = self._misses._hits.get(address)
            if not hits:
                return False
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            return len(hits) >= self.per_address

    def miss(self, address: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._misses.allow(address, now)
        with self._lock:
            self._all.append(now)

    @property
    def minutes(self) -> int:
        return max(1, round(self.window / 60))
