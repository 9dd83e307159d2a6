"""Who is signed in to the staff console, and what their role lets them open.

The service keeps accounts and sessions (:mod:`antre.rules.staff`); this module only *reads* them, through
:func:`antre.storage.open_readonly`, to decide per request who the browser is. Everything that changes
something goes to the service as a command carrying the session token, and the service checks the session
again, so a page that let the wrong person in still could not change anything in their name.

For pages (the letters, complaints and reports pages use the same)::

    from antre_web.console import require_role, audit_view

    async def letters(request):
        account = require_role(request, "kasi", "penandatangan")   # raises; the app turns it into a page
        if not await audit_view(request, account, "letter.view", subject=number):
            ...   # the service is unreachable: personal data is not shown unrecorded

:class:`SignInRequired` becomes the sign-in page, :class:`RoleRefused` a 403 page (exception handlers
registered in :func:`antre_web.app.create_app`). Configurations from before accounts (a shared ``staff_password_hash``
or ``staff_pin_hash``) keep working until the first admin account exists; such a shared sign-in is the
pseudo-account ``staf`` with role ``bersama`` (shared), which opens the old staff page only, never a page
guarded by :func:`require_role`.
"""

from __future__ import annotations

import logging
import secrets
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from antre.errors import DatabaseUnavailable
from antre.rules.staff import Account, admin_count, session_account

if TYPE_CHECKING:
    from antre_web.app import WebApp

log = logging.getLogger(__name__)

STAFF_COOKIE = "antre_staff"
#: Who may do what on the console's pages (the service checks the same for what it is sent).
OFFICE_ROLES = ("kasi",)            # weekly settings: ticker, calendar, services on/off, requirements, switches
REPORT_ROLES = ("kasi",)            # statistics and the IKM report
AUDIT_ROLES = ("kasi", "admin")     # the audit log and its export
SHARED = Account(id=0, name="staf", full_name="", role="bersama", counters=())


class SignInRequired(Exception):
    """The page needs a signed-in person."""


class RoleRefused(Exception):
    """Signed in, but the role does not open this page."""

    def __init__(self, account: Account, roles: tuple[str, ...]):
        super().__init__(f"{account.name} ({account.role}) may not open this page (needs {', '.join(roles)})")
        self.account = account
        self.roles = roles


class ConsoleAuth:
    """Per-request identity for one :class:`~antre_web.app.WebApp`: accounts from the service's database (read-only),
    and the older shared password's sessions (kept in the web's memory, only until an admin account exists)."""

    def __init__(self, web: "WebApp"):
        self.web = web
        self.cfg = web.cfg
        self._engine = None
        self._lock = threading.Lock()
        self._admins: tuple[float, int | None] = (0.0, None)
        #: The one-time link that makes the first admin (None once an admin exists or it was used).
        self.setup_token: str | None = None
        #: Sessions signed out here: dead in this web at once, even while the service cannot be told.
        self.revoked: set[str] = set()

    # ------------------------------------------------------------------ the database, read-only

    def _session(self):
        from sqlalchemy.orm import Session

        from antre.storage import open_readonly

        with self._lock:
            if self._engine is None:
                self._engine = open_readonly(self.cfg.database.effective_url)
            return Session(self._engine)

    def close(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

    def read(self, fn, default=None):
        """``fn(session)`` on the service's database, read-only; ``default`` when it cannot be read (the
        database is elsewhere, not made yet, or from before the staff tables)."""
        try:
            with self._session() as s:
                return fn(s)
        except DatabaseUnavailable as exc:
            log.warning("staff console: the service's database cannot be read here: %s", exc)
        except Exception as exc:  # noqa: BLE001 - e.g. no staff tables yet: the service upgrades them at start
            log.warning("staff console: reading accounts failed: %s", exc)
            self.close()
        return default

    def admins(self, fresh: bool = False) -> int | None:
        """Enabled admin accounts (None: unknown, the database cannot be read). Cached for a few seconds."""
        at, n = self._admins
        if fresh or n is None or time.monotonic() - at > 5:
            n = self.read(admin_count)
            self._admins = (time.monotonic(), n)
            if n:
                self.setup_token = None
        return n

    @property
    def accounts_on(self) -> bool:
        """Personal accounts are in force (an admin exists): the shared password no longer opens anything."""
        return bool(self.admins())

    # ------------------------------------------------------------------ who is this browser

    def account(self, request: Request) -> Account | None:
        """The person signed in with this request's cookie (cached on the request), or None."""
        if hasattr(request.state, "staff_account"):
            return request.state.staff_account
        token = request.cookies.get(STAFF_COOKIE)
        found: Account | None = None
        if token and token not in self.revoked:
            found = self.read(lambda s: session_account(s, token))
            if found is None and not self.accounts_on and self.web.staff_enabled \
                    and self.web.sessions.get(token) is not None:
                found = SHARED
        request.state.staff_account = found
        return found

    def announce_setup_link(self) -> None:
        """Prints the one-time setup link on ``antre web``'s console (and in its log) while no admin exists."""
        if self.setup_token is not None:
            return
        link = self.new_setup_link()
        if link is None:
            return
        message = (f"Belum ada akun admin konsol petugas. Buat yang pertama di (no admin account yet; make the "
                   f"first one at): {link}  -- sekali pakai (one time only); atau/or: antre staff add NAMA --role admin")
        log.warning("%s", message)
        print(message, file=sys.stderr, flush=True)

    def may(self, request: Request, *roles: str) -> bool:
        """Signed in with one of ``roles``; or with the older shared password (before accounts: the old staff
        page did everything)."""
        account = self.account(request)
        return account is not None and (account is SHARED or account.role in roles)

    def new_setup_link(self) -> str | None:
        """When no admin account exists: a one-time setup link, printed on the console by ``antre web``."""
        if self.admins(fresh=True) != 0:
            return None
        self.setup_token = secrets.token_urlsafe(24)
        base = self.cfg.web.public_url.rstrip("/") if self.cfg.web.public_url else \
            f"http://{_host_name()}:{self.cfg.web.port}"
        return f"{base}/staf/setup/{self.setup_token}"


def _host_name() -> str:
    import socket

    return socket.gethostname() or "localhost"


def _auth(request: Request) -> ConsoleAuth:
    return request.app.state.web.console


def current_account(request: Request) -> Account | None:
    """The signed-in person (a personal account, or the shared pseudo-account before accounts), or None."""
    return _auth(request).account(request)


def require_role(request: Request, *roles: str) -> Account:
    """The signed-in person, if their role is one of ``roles`` (none given: any personal account).

    Raises :class:`SignInRequired` (no session, or only the older shared password) or :class:`RoleRefused`."""
    account = current_account(request)
    if account is None or account is SHARED:
        raise SignInRequired()
    if roles and account.role not in roles:
        log.warning("%s (%s) refused on %s", account.name, account.role, request.url.path)
        raise RoleRefused(account, roles)
    return account


def session_token(request: Request) -> str | None:
    return request.cookies.get(STAFF_COOKIE)


async def audit_view(request: Request, account: Account, action: str, subject: str = "",
                     detail: str = "") -> bool:
    """Records in the service's audit log that ``account`` was shown something (personal data, an export).
    False when it could not be recorded (the service is unreachable): then do not show it."""
    web = request.app.state.web
    reply = await web.bridge.request("staff_audit", {"session": session_token(request), "action": action,
                                                     "subject": subject[:120], "detail": detail[:2000],
                                                     "address": web.client_ip(request)})
    if not reply.ok:
        log.warning("audit of %s by %s not recorded: %s", action, account.name, reply.code)
    return reply.ok


async def console_command(request: Request, command: str, args: dict[str, Any], request_id: str | None = None):
    """Sends a command to the service in the name of the signed-in person (their session and address added;
    not for the older shared password, which has no session at the service)."""
    web = request.app.state.web
    if current_account(request) is not SHARED:
        args = args | {"session": session_token(request), "address": web.client_ip(request)}
    return await web.bridge.request(command, args, request_id=request_id)
