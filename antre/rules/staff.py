"""Staff accounts, sessions and the audit log: the rules of the staff console.

A plug-in of :class:`~antre.rules.queue.QueueService` (registered by the service, like the
appointments): its commands come from ``antre web`` over MQTT, and each change is written in
one transaction together with its audit row, so an acknowledged change is on disk with its trace.
``antre staff`` (the operator's tool on the server) calls the same functions on the same database.

What other plug-ins use (letters, complaints, ...):

- :func:`authenticate` ``(s, now, session, roles)``: the signed-in :class:`Account` behind a
  session token, checked against the roles that may do this; raises ``not_signed_in`` or
  ``forbidden`` (a :class:`~antre.errors.Forbidden`), so the command changes nothing.
- :func:`audit` ``(s, actor, action, subject, device, detail, now=...)``: appends one row to the
  audit log, in the caller's transaction. Call it for every change and for every view of personal
  data; ``detail`` is a short text or a dict (stored as JSON) and must never hold a password.
- :func:`session_account` ``(s, token, now)``: the same lookup without raising, for readers
  (``antre web`` reads it through :func:`antre.storage.open_readonly`).

Roles (:data:`ROLES`): ``petugas`` (counter staff), ``kasi`` (Kasi Pelayanan: services, reports,
letters, complaints), ``penandatangan`` (signs letters), ``admin`` (accounts, devices). A role
gives exactly what is listed for it; ``admin`` is not a superset (an admin manages accounts, and
does not read residents' personal data unless given the role that needs it).

Passwords: argon2id (argon2-cffi) with the OWASP minimum parameters (19 MiB, 2 passes, 1 lane):
about 17 ms per check on a PC, ~0.1 s on a Raspberry Pi 4. The service checks a sign-in's password
off its writer thread (:meth:`StaffRules.password_to_check` says what to check, before any hashing:
nothing while a lock or the global wait holds; the check's verdict comes back as ``checked`` and is
applied, with the failure count and the audit row, on the writer thread), so a burst of sign-ins
does not hold up the counters and kiosks. The other commands that check or hash a password (``staff_passwd``,
``staff_setup``, ``staff_add``, ``staff_update`` with a new password) are prepared the same way
(:meth:`StaffRules.password_work`): everything that can refuse them is checked before any hashing and again
when they are applied. Sign-ins are limited per account (``[staff]
lockout_failures`` wrong passwords in a row lock it for ``lockout_minutes``) and globally (after
``GLOBAL_FREE`` wrong passwords a day from anywhere, each further attempt waits 15 s doubling to 10
minutes, and is not even checked while waiting): rotating source addresses gain nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import delete, func, insert, select, update

from antre.errors import BadRequest, CommandError, Conflict, Forbidden, NotFound
from antre.rules.outcome import Outcome
from antre.storage.models import STAFF_ROLES, AuditEntry, StaffAccount, StaffSession

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from antre.config import Config
    from antre.rules.queue import QueueService

log = logging.getLogger(__name__)

ROLES = STAFF_ROLES
PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 256
NAME = re.compile(r"[a-z][a-z0-9._-]{1,31}")
TOKEN = re.compile(r"[A-Za-z0-9_-]{32,128}")
ACTION = re.compile(r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_.]*")
# Global backoff: wrong passwords a day from anywhere before each attempt must wait.
GLOBAL_FREE = 10
GLOBAL_WINDOW = 86400.0
GLOBAL_BASE = 15.0
GLOBAL_CAP = 600.0
#: Roles that change the office's weekly settings (the console's switches, the ticker, the calendar).
OFFICE_ROLES = ("kasi",)
#: Actions the console records with ``staff_audit`` that need a particular role (others: ``*.view``,
#: ``*.export``, ``*.print`` by anyone signed in).
RECORDED_ACTIONS = {"office.ticker": OFFICE_ROLES, "audit.export": ("kasi", "admin")}
#: The counter commands a signed-in person may give through the console, for their own counters only.
COUNTER_COMMANDS = ("call_next", "recall", "skip", "complete", "transfer", "pause", "resume", "bring_back",
                    "call_number")

AUDIT = AuditEntry.__table__
ACCOUNTS = StaffAccount.__table__
SESSIONS = StaffSession.__table__

_hasher = None


def _ph():
    global _hasher
    if _hasher is None:
        from argon2 import PasswordHasher

        _hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
    return _hasher


def hash_password(password: str) -> str:
    """An argon2id hash (``$argon2id$v=19$m=19456,t=2,p=1$...``) of a checked password."""
    check_password(password)
    return _ph().hash(password)


def verify_password(stored: str, password: str) -> bool:
    from argon2.exceptions import InvalidHash, VerificationError, VerifyMismatchError

    # InvalidHash: the name in every argon2-cffi (Debian 12's python3-argon2 is 21.1, before InvalidHashError).
    try:
        return _ph().verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHash):
        return False


def check_password(password: str) -> None:
    if not isinstance(password, str) or not PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH:
        raise BadRequest("weak_password", f"a password needs {PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} "
                                          "characters (e.g. four random words)")


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise BadRequest("invalid_argument", "'name' must be 2-32 characters: lower-case letters, digits, '.', "
                                             "'_' or '-', starting with a letter")
    return name


def token_hash(token: str) -> str:
    """What is stored of a session token: its SHA-256 (a copy of the database holds no usable session)."""
    return hashlib.sha256(token.encode()).hexdigest()


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Account:
    """A signed-in person, as rules and pages see them."""

    id: int
    name: str
    full_name: str
    role: str
    counters: tuple[str, ...]
    disabled: bool = False

    @classmethod
    def of(cls, row) -> "Account":
        return cls(row.id, row.name, row.full_name, row.role,
                   tuple(c for c in (row.counters or "").split(",") if c), bool(row.disabled))

    def has(self, *roles: str) -> bool:
        return self.role in roles

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "full_name": self.full_name, "role": self.role, "counters": list(self.counters)}


# ---------------------------------------------------------------------- the audit log

def web_device(address: str | None) -> str:
    """An audit row's ``device`` for a command from the website: ``web 192.168.1.20``, or ``web``."""
    return f"web {address}" if address else "web"


def audit(s: "Session", actor: str, action: str, subject: str = "", device: str = "",
          detail: str | dict | None = None, now: datetime | None = None) -> None:
    """Appends one audit row in the caller's transaction (so it is committed with the change, or not at all).

    ``actor``: an account name, ``cli:USER`` (``antre staff``), ``setup`` or ``system``; ``action``:
    ``area.verb`` such as ``staff.login``, ``counter.call_next``, ``letter.view``; ``subject``: what it
    was done to (an account, a counter, a letter number); ``device``: where from (``web 192.168.1.20``).
    """
    if isinstance(detail, dict):
        detail = json.dumps(detail, ensure_ascii=False, sort_keys=True)
    s.execute(insert(AUDIT).values(at=now or utcnow(), actor=str(actor)[:64], action=str(action)[:48],
                                   subject=str(subject or "")[:120], device=str(device or "")[:120],
                                   detail=(detail or "")[:4000]))


def audit_by(s: "Session", now: datetime, who: Account, action: str, subject: str, address: str | None,
             detail: str | dict | None = None) -> None:
    """:func:`audit` of a signed-in person's command from the website (the console): ``who`` is the actor, the
    device is named from the browser's ``address``."""
    audit(s, who.name, action, subject, web_device(address), detail, now=now)


def purge_audit(s: "Session", now: datetime, keep_days: int) -> int:
    """Deletes audit rows older than ``keep_days`` (retention, at each new business day) and old sessions."""
    gone = s.execute(delete(AUDIT).where(AUDIT.c.at < now - timedelta(days=keep_days))).rowcount
    s.execute(delete(SESSIONS).where(SESSIONS.c.expires_at < now - timedelta(days=1)))
    return gone or 0


def audit_rows(s: "Session", start: datetime | None = None, end: datetime | None = None, actor: str | None = None,
               action_prefix: str | None = None, limit: int = 500, offset: int = 0) -> list[AuditEntry]:
    """Audit rows, newest first (readers: the console's audit page and its CSV export)."""
    q = select(AuditEntry)
    if start is not None:
        q = q.where(AuditEntry.at >= start)
    if end is not None:
        q = q.where(AuditEntry.at < end)
    if actor:
        q = q.where(AuditEntry.actor == actor)
    if action_prefix:
        q = q.where(AuditEntry.action.startswith(action_prefix, autoescape=True))
    return list(s.scalars(q.order_by(AuditEntry.id.desc()).limit(limit).offset(offset)))


# ---------------------------------------------------------------------- accounts and sessions

def admin_count(s: "Session") -> int:
    """Enabled admin accounts (none: the first admin may be made with the one-time setup link)."""
    return s.scalar(select(func.count()).select_from(ACCOUNTS)
                    .where(ACCOUNTS.c.role == "admin", ACCOUNTS.c.disabled == 0)) or 0


def account_count(s: "Session") -> int:
    return s.scalar(select(func.count()).select_from(ACCOUNTS)) or 0


def find_account(s: "Session", name: str) -> StaffAccount | None:
    return s.scalars(select(StaffAccount).where(StaffAccount.name == name)
                     .execution_options(populate_existing=True)).first()


def list_accounts(s: "Session") -> list[Account]:
    return [Account.of(a) for a in s.scalars(select(StaffAccount).order_by(StaffAccount.name))]


def session_account(s: "Session", token: str | None, now: datetime | None = None) -> Account | None:
    """The account signed in with this token, or None: unknown, revoked, expired, older than the account's
    last password change, or the account is disabled."""
    if not isinstance(token, str) or not TOKEN.fullmatch(token):
        return None
    now = now or utcnow()
    row = s.execute(select(StaffAccount, StaffSession).join(StaffSession, StaffSession.account_id == StaffAccount.id)
                    .where(StaffSession.token_hash == token_hash(token))).first()
    if row is None:
        return None
    account, session = row
    if (session.revoked_at is not None or session.expires_at <= now or account.disabled
            or session.created_at < account.password_changed_at):
        return None
    return Account.of(account)


def authenticate(s: "Session", now: datetime, session: str | None, roles: tuple[str, ...] | None = None) -> Account:
    """The account behind ``session``, allowed one of ``roles`` (None: any signed-in person).

    Raises :class:`Forbidden` (``not_signed_in``, ``forbidden``): the command changes nothing."""
    account = session_account(s, session, now)
    if account is None:
        raise Forbidden("not_signed_in", "this console session has ended (signed out, expired, password changed "
                                         "or account disabled): sign in again")
    if roles is not None and account.role not in roles:
        raise Forbidden("forbidden", f"a {account.role} may not do this (needs {' or '.join(roles)})")
    return account


def _counters_text(cfg: "Config", counters: list[str] | tuple[str, ...] | None) -> str:
    known = {c.id for c in cfg.counters}
    counters = list(counters or ())
    unknown = [c for c in counters if c not in known]
    if unknown:
        raise NotFound("unknown_counter", f"unknown counter(s) {', '.join(unknown)} (counters: {', '.join(known)})")
    return ",".join(dict.fromkeys(counters))


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise BadRequest("invalid_argument", f"'role' must be one of {', '.join(ROLES)}")
    return role


def add_account(s: "Session", cfg: "Config", now: datetime, actor: str, device: str, name: str, role: str,
                password: str, full_name: str = "", counters: list[str] | None = None,
                hashed: str | None = None) -> Account:
    """Creates an account (audited as ``staff.add``). Raises ``name_taken``, ``weak_password``, ...

    ``hashed``: the password's hash made already (off the service's writer thread), else it is made here."""
    check_name(name)
    _check_role(role)
    counters_text = _counters_text(cfg, counters)
    if find_account(s, name) is not None:
        raise Conflict("name_taken", f"an account '{name}' exists already")
    check_password(password)
    hashed = hashed or hash_password(password)
    s.execute(insert(ACCOUNTS).values(name=name, full_name=(full_name or "")[:80], role=role, counters=counters_text,
                                      password_hash=hashed, disabled=0, failed_logins=0, locked_until=None,
                                      password_changed_at=now, created_at=now))
    audit(s, actor, "staff.add", name, device, {"role": role, "counters": counters_text}, now=now)
    log.info("staff account %s (%s) added by %s", name, role, actor)
    return Account.of(find_account(s, name))


def revoke_sessions(s: "Session", account_id: int, now: datetime) -> int:
    return s.execute(update(SESSIONS).where(SESSIONS.c.account_id == account_id, SESSIONS.c.revoked_at.is_(None))
                     .values(revoked_at=now)).rowcount or 0


def update_account(s: "Session", cfg: "Config", now: datetime, actor: str, device: str, name: str,
                   role: str | None = None, counters: list[str] | None = None, disabled: bool | None = None,
                   password: str | None = None, full_name: str | None = None, end_sessions: bool = False,
                   hashed: str | None = None) -> Account:
    """Changes an account (audited as ``staff.update``); a new password, a new role or disabling ends its
    sessions, and ``end_sessions`` ends them alone (a phone left signed in, a lost laptop). The last enabled
    admin cannot be disabled or lose the role. ``hashed``: the new password's hash made already (off the
    service's writer thread), else it is made here."""
    row = find_account(s, check_name(name))
    if row is None:
        raise NotFound("unknown_account", f"no account '{name}'")
    values: dict[str, Any] = {}
    changes: dict[str, Any] = {}
    if role is not None and _check_role(role) != row.role:
        values["role"] = changes["role"] = role
    if counters is not None:
        text = _counters_text(cfg, counters)
        if text != row.counters:
            values["counters"] = changes["counters"] = text
    if disabled is not None and int(disabled) != row.disabled:
        values["disabled"] = int(disabled)
        changes["disabled"] = bool(disabled)
    if full_name is not None and full_name[:80] != row.full_name:
        values["full_name"] = changes["full_name"] = full_name[:80]
    if password is not None:
        check_password(password)
        values["password_hash"] = hashed or hash_password(password)
        values["password_changed_at"] = now
        values["failed_logins"], values["locked_until"] = 0, None
        changes["password"] = "changed"
    if row.role == "admin" and not row.disabled and (values.get("role", "admin") != "admin" or values.get("disabled")):
        if admin_count(s) <= 1:
            raise Conflict("last_admin", "this is the last enabled admin account: make another admin first")
    if not values and not end_sessions:
        return Account.of(row)
    if values:
        s.execute(update(ACCOUNTS).where(ACCOUNTS.c.id == row.id).values(**values))
    ended = 0
    if end_sessions or {"role", "disabled", "password_hash", "counters"} & set(values):
        ended = revoke_sessions(s, row.id, now)
        if end_sessions:
            changes["end_sessions"] = True
    audit(s, actor, "staff.update", name, device, changes | ({"sessions_ended": ended} if ended else {}), now=now)
    log.info("staff account %s changed by %s: %s", name, actor, ", ".join(changes))
    return Account.of(find_account(s, name))


class LoginLimits:
    """Sign-in limits kept by the service: per account (in the database, so a restart forgets nothing) and
    one global backoff (in memory) that every wrong password feeds, whatever its source address.

    >>> g = LoginLimits(free=2, base=15, cap=600)
    >>> g.global_wait(now=0); g.failed(now=0); g.failed(now=1); g.global_wait(now=2)
    0.0
    14.0
    """

    def __init__(self, free: int = GLOBAL_FREE, window: float = GLOBAL_WINDOW, base: float = GLOBAL_BASE,
                 cap: float = GLOBAL_CAP):
        self.free, self.window, self.base, self.cap = free, window, base, cap
        self._failures: deque[float] = deque()
        # Names without an account are locked like real ones, so a lock tells nobody that a name exists.
        self.unknown: dict[str, tuple[int, float]] = {}

    def global_wait(self, now: float) -> float:
        """Seconds before the next password may be checked (0: now). ``now``: the service's clock, in seconds."""
        while self._failures and self._failures[0] <= now - self.window:
            self._failures.popleft()
        over = len(self._failures) - self.free
        if over < 0:
            return 0.0
        delay = min(self.cap, self.base * 2 ** over)
        return float(min(delay, max(0.0, self._failures[-1] + delay - now)))   # a clock set back waits no longer

    def failed(self, now: float) -> None:
        self._failures.append(now)


class StaffRules:
    """The staff commands of one :class:`QueueService` (``staff_*``), and the counter commands' session check."""

    def __init__(self, q: "QueueService"):
        self.q = q
        self.cfg = q.cfg
        self.staff = q.cfg.staff
        self.limits = LoginLimits()
        self._dummy_hash: str | None = None

    def handlers(self) -> dict[str, Callable[..., Outcome]]:
        out: dict[str, Callable[..., Outcome]] = {
            "staff_login": self.login,
            "staff_logout": self.logout,
            "staff_passwd": self.passwd,
            "staff_add": self.add,
            "staff_update": self.update,
            "staff_setup": self.setup,
            "staff_audit": self.record,
        }
        for command in COUNTER_COMMANDS:
            base = self.q.handlers.get(command)
            if base is not None:
                out[command] = self._counter_wrapper(command, base)
        if "set_web" in self.q.handlers:
            out["set_web"] = self._office_wrapper("set_web", self.q.handlers["set_web"])
        return out

    device = staticmethod(web_device)

    # ------------------------------------------------------------------ sign in and out

    def password_to_check(self, s: "Session", now: datetime, name: str) -> str | None:
        """The hash a sign-in's password is to be checked against, read before the check (which the service
        runs off its writer thread, then gives :meth:`login` as ``checked``): the account's, or a decoy of the
        same cost for a name without an account. None when the attempt is answered without a check: the global
        wait or a lock (of an account or of a name without one alike) holds."""
        if self.limits.global_wait(now.timestamp()) > 0:
            return None
        row = find_account(s, name)
        if row is None:
            return None if self.limits.unknown.get(name, (0, 0.0))[1] > now.timestamp() else self._decoy()
        if row.locked_until is not None and row.locked_until > now:
            return None
        return row.password_hash

    def password_work(self, s: "Session", now: datetime, command: str, args: dict[str, Any]
                      ) -> "tuple[str | None, str | None] | None":
        """What a command's passwords need before it is applied, read on the writer thread before any hashing
        (the service does the work off that thread, then gives the handler ``checked`` and ``hashed``):
        ``(hash that args["password"] is checked against or None, new password to hash or None)``. None: the
        command is applied at once, with no work -- it has no password to check or hash, or it is refused
        before any hashing (a lock or the global wait for a sign-in; an ended session, a wrong role, a taken
        name, a weak password, a finished setup for the others; the handler refuses it again the same way)."""
        if command == "staff_login":
            stored = self.password_to_check(s, now, args["name"])
            return None if stored is None else (stored, None)
        try:
            if command == "staff_passwd":
                account = authenticate(s, now, args["session"])
                check_password(args["new_password"])
                return find_account(s, account.name).password_hash, args["new_password"]
            if command == "staff_setup":
                if admin_count(s) > 0:
                    return None
                self._new_name(s, args["name"], "admin", None)
            elif command == "staff_add":
                authenticate(s, now, args["session"], ("admin",))
                self._new_name(s, args["name"], args["role"], args.get("counters"))
            elif command == "staff_update" and args.get("password") is not None:
                authenticate(s, now, args["session"], ("admin",))
                if find_account(s, check_name(args["name"])) is None:
                    return None
            else:
                return None
            check_password(args["password"])
            return None, args["password"]
        except CommandError:
            return None

    def _new_name(self, s: "Session", name: str, role: str, counters: list[str] | None) -> None:
        check_name(name)
        _check_role(role)
        _counters_text(self.cfg, counters)
        if find_account(s, name) is not None:
            raise Conflict("name_taken", f"an account '{name}' exists already")

    @staticmethod
    def _hashed(checked: "list | tuple | None", hashed: str | None) -> str | None:
        """The new password's hash made off the writer thread (None: none made, it is made here). Raises
        ``busy`` when too many password checks were waiting and this one was not made."""
        if checked is not None and checked[1] is None:
            raise Conflict("busy", "too many password checks are waiting: try again in a few seconds")
        return hashed

    def _decoy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = _ph().hash("not a password of anyone here")
        return self._dummy_hash

    @staticmethod
    def _verdict(stored: str, password: str, checked: "list | tuple | None") -> bool | None:
        """The check's verdict: the one made off the writer thread when it checked this very hash (not one
        changed since), else checked here. None: too many sign-ins were waiting to be checked."""
        if checked is not None and checked[0] == stored:
            return checked[1]
        return verify_password(stored, password)

    def login(self, s: "Session", now: datetime, name: str, password: str, session: str,
              address: str | None = None, checked: "tuple[str, bool | None] | None" = None) -> Outcome:
        """Signs in: ``{"signed_in": true, "account", "expires_at"}``, or ``{"signed_in": false, "reason":
        "wrong" | "locked" | "wait", "retry_after": seconds}``. A refusal is an answer, not an error, because
        it writes (the failure count and the audit row) and an error would roll that back.

        ``checked``: ``(hash, verdict)`` of the password's check made off the writer thread by the service
        (never sent by a device: the protocol refuses the argument); without it the password is checked here.
        The locks and the global wait are checked again first: a lock that came while this attempt was being
        checked wins over its verdict."""
        device = self.device(address)
        wait = self.limits.global_wait(now.timestamp())
        if wait > 0:   # not even checked: guesses while waiting are worth nothing
            return Outcome({"signed_in": False, "reason": "wait", "retry_after": round(wait)}, changed=False)
        row = find_account(s, name)
        if row is None:
            return self._unknown_name(s, now, name, password, device, checked)
        if row.locked_until is not None and row.locked_until > now:
            return Outcome({"signed_in": False, "reason": "locked",
                            "retry_after": round((row.locked_until - now).total_seconds())}, changed=False)
        ok = self._verdict(row.password_hash, password, checked)
        if ok is None:
            return self._busy()
        if row.disabled or not ok:
            self.limits.failed(now.timestamp())
            failures = row.failed_logins + 1
            locked = now + timedelta(minutes=self.staff.lockout_minutes) \
                if failures >= self.staff.lockout_failures else None
            s.execute(update(ACCOUNTS).where(ACCOUNTS.c.id == row.id)
                      .values(failed_logins=0 if locked else failures, locked_until=locked))
            audit(s, name, "staff.login_failed", name, device, {"locked": bool(locked)} if locked else None, now=now)
            log.warning("wrong password for staff account %s from %s%s", name, device,
                        "; locked" if locked else "")
            if locked:
                return Outcome({"signed_in": False, "reason": "locked",
                                "retry_after": self.staff.lockout_minutes * 60}, changed=False)
            return Outcome({"signed_in": False, "reason": "wrong", "retry_after": 0}, changed=False)
        expires = now + timedelta(hours=self.staff.session_hours)
        s.execute(update(ACCOUNTS).where(ACCOUNTS.c.id == row.id).values(failed_logins=0, locked_until=None))
        s.execute(insert(SESSIONS).values(token_hash=token_hash(session), account_id=row.id, created_at=now,
                                          expires_at=expires, revoked_at=None, address=(address or "")[:64]))
        audit(s, name, "staff.login", name, device, now=now)
        log.info("staff %s signed in from %s", name, device)
        return Outcome({"signed_in": True, "account": Account.of(row).as_dict(),
                        "expires_at": expires.isoformat(timespec="seconds")}, changed=False)

    @staticmethod
    def _busy() -> Outcome:
        return Outcome({"signed_in": False, "reason": "wait", "retry_after": 5}, changed=False)

    def _unknown_name(self, s, now, name, password, device, checked=None) -> Outcome:
        mono = now.timestamp()
        count, until = self.limits.unknown.get(name, (0, 0.0))
        if until > mono:   # locked like an account: answered as fast, without a check
            return Outcome({"signed_in": False, "reason": "locked", "retry_after": round(until - mono)}, changed=False)
        if self._verdict(self._decoy(), password, checked) is None:   # the same time as a real check
            return self._busy()
        self.limits.failed(mono)
        count += 1
        if len(self.limits.unknown) > 10000:
            self.limits.unknown.clear()
        if count >= self.staff.lockout_failures:
            self.limits.unknown[name] = (0, mono + self.staff.lockout_minutes * 60)
        else:
            self.limits.unknown[name] = (count, 0.0)
        audit(s, name, "staff.login_failed", name, device, {"unknown_name": True}, now=now)
        log.warning("staff sign-in with an unknown name from %s", device)
        if count >= self.staff.lockout_failures:
            return Outcome({"signed_in": False, "reason": "locked",
                            "retry_after": self.staff.lockout_minutes * 60}, changed=False)
        return Outcome({"signed_in": False, "reason": "wrong", "retry_after": 0}, changed=False)

    def logout(self, s: "Session", now: datetime, session: str, address: str | None = None) -> Outcome:
        account = session_account(s, session, now)
        s.execute(update(SESSIONS).where(SESSIONS.c.token_hash == token_hash(session), SESSIONS.c.revoked_at.is_(None))
                  .values(revoked_at=now))
        if account is not None:
            audit(s, account.name, "staff.logout", account.name, self.device(address), now=now)
        return Outcome({"signed_out": True}, changed=False)

    def passwd(self, s: "Session", now: datetime, session: str, password: str, new_password: str,
               address: str | None = None, checked: "tuple[str, bool | None] | None" = None,
               hashed: str | None = None) -> Outcome:
        """One's own new password: the current one is asked again; every session of the account ends.

        ``checked`` and ``hashed``: the current password's check and the new one's hash made off the writer
        thread (:meth:`password_work`); the session is checked again here, and the check counts only for the
        hash it was made against (not one changed meanwhile)."""
        account = authenticate(s, now, session)
        check_password(new_password)   # before any check: a weak new password costs no hashing here
        row = find_account(s, account.name)
        ok = self._verdict(row.password_hash, password, checked)
        if ok is None:
            self._hashed(checked, None)
        if not ok:
            raise Forbidden("password_wrong", "the current password is wrong")
        update_account(s, self.cfg, now, account.name, self.device(address), account.name, password=new_password,
                       hashed=hashed if checked is not None and checked[0] == row.password_hash else None)
        return Outcome({"changed": True, "signed_out": True}, changed=False)

    def setup(self, s: "Session", now: datetime, name: str, password: str, full_name: str | None = None,
              session: str | None = None, address: str | None = None, checked: "tuple | None" = None,
              hashed: str | None = None) -> Outcome:
        """The first admin, from the one-time setup link; refused once an enabled admin exists (checked again
        here when the password was hashed off the writer thread: the first of two setups wins)."""
        if admin_count(s) > 0:
            raise Forbidden("setup_done", "an admin account exists already: ask an admin (or use 'antre staff add')")
        account = add_account(s, self.cfg, now, "setup", self.device(address), name, "admin", password,
                              full_name or "", hashed=self._hashed(checked, hashed))
        result: dict[str, Any] = {"account": account.as_dict(), "signed_in": False}
        if session is not None:
            expires = now + timedelta(hours=self.staff.session_hours)
            s.execute(insert(SESSIONS).values(token_hash=token_hash(session), account_id=account.id, created_at=now,
                                              expires_at=expires, revoked_at=None, address=(address or "")[:64]))
            result |= {"signed_in": True, "expires_at": expires.isoformat(timespec="seconds")}
        return Outcome(result, changed=False)

    # ------------------------------------------------------------------ accounts (admin)

    def add(self, s: "Session", now: datetime, session: str, name: str, role: str, password: str,
            full_name: str | None = None, counters: list[str] | None = None, address: str | None = None,
            checked: "tuple | None" = None, hashed: str | None = None) -> Outcome:
        admin = authenticate(s, now, session, ("admin",))
        account = add_account(s, self.cfg, now, admin.name, self.device(address), name, role, password,
                              full_name or "", counters, hashed=self._hashed(checked, hashed))
        return Outcome({"account": account.as_dict()}, changed=False)

    def update(self, s: "Session", now: datetime, session: str, name: str, role: str | None = None,
               counters: list[str] | None = None, disabled: bool | None = None, password: str | None = None,
               full_name: str | None = None, end_sessions: bool | None = None, address: str | None = None,
               checked: "tuple | None" = None, hashed: str | None = None) -> Outcome:
        admin = authenticate(s, now, session, ("admin",))
        account = update_account(s, self.cfg, now, admin.name, self.device(address), name, role, counters, disabled,
                                 password, full_name, end_sessions=bool(end_sessions),
                                 hashed=self._hashed(checked, hashed))
        return Outcome({"account": account.as_dict() | {"disabled": account.disabled}}, changed=False)

    # ------------------------------------------------------------------ the audit log

    def record(self, s: "Session", now: datetime, session: str, action: str, subject: str | None = None,
               detail: str | None = None, address: str | None = None) -> Outcome:
        """A view the console made (personal data shown, a CSV exported, the running text it publishes itself):
        written to the audit log. Only such actions (``*.view``, ``*.export``, ``*.print``, ``office.ticker``),
        each by the roles that may do it: nobody can write a sign-in or a change in another's name this way."""
        roles = RECORDED_ACTIONS.get(action)
        if roles is None and not action.endswith((".view", ".export", ".print")):
            raise Forbidden("forbidden", f"'{action}' is not an action the console records this way")
        account = authenticate(s, now, session, roles)
        audit(s, account.name, action, subject or "", self.device(address), detail, now=now)
        return Outcome({"recorded": True}, changed=False)

    # ------------------------------------------------------------------ the virtual counter

    def _counter_wrapper(self, command: str, base: Callable[..., Outcome]) -> Callable[..., Outcome]:
        """A counter command from the console carries the person's session: they may operate only the
        counters assigned to them, and each press is audited with the change. Without a session (a
        counter device's buttons) it is the command as before; the service refuses a web sender without
        one (:func:`antre.link.protocol.authorize`)."""

        def handler(s: "Session", now: datetime, session: str | None = None, address: str | None = None,
                    **args: Any) -> Outcome:
            if session is None:
                return base(s, now, **args)
            account = authenticate(s, now, session)
            counter = args["counter"]
            if counter not in account.counters:
                raise Forbidden("forbidden", f"{account.name} is not assigned to counter '{counter}' "
                                             f"(assigned: {', '.join(account.counters) or 'none'})")
            outcome = base(s, now, **args)
            ticket = outcome.result.get("number") if isinstance(outcome.result, dict) else None
            detail = {k: v for k, v in args.items() if k != "counter"} | ({"ticket": ticket} if ticket else {})
            audit(s, account.name, f"counter.{command}", counter, self.device(address), detail or None, now=now)
            return outcome

        handler.batch_safe = True   # it refuses before writing, as the queue's own handlers do
        return handler


    def _office_wrapper(self, command: str, base: Callable[..., Outcome]) -> Callable[..., Outcome]:
        """A console switch (``set_web``) with the person's session: only a kasi, audited with the change.
        Without a session (the older shared password, an operator's tool) it is the command as before."""

        def handler(s: "Session", now: datetime, session: str | None = None, address: str | None = None,
                    **args: Any) -> Outcome:
            if session is None:
                return base(s, now, **args)
            account = authenticate(s, now, session, OFFICE_ROLES)
            outcome = base(s, now, **args)
            audit(s, account.name, f"office.{command}", args.get("service", ""), self.device(address),
                  {k: v for k, v in args.items() if k != "service"}, now=now)
            return outcome

        handler.batch_safe = getattr(base, "batch_safe", False)
        return handler


def handlers(q: "QueueService") -> dict[str, Callable[..., Outcome]]:
    """The staff commands for ``q``'s handler table; the counter commands are wrapped (session check, audit)."""
    rules = StaffRules(q)
    q.plugins["staff"] = rules   # the service asks it what a sign-in's password is checked against
    keep = q.cfg.staff.audit_retention_days
    q.new_day_hooks.append(lambda s, now: purge_audit(s, now, keep))
    return rules.handlers()


__all__ = ["Account", "ROLES", "PASSWORD_MIN_LENGTH", "COUNTER_COMMANDS", "audit", "audit_by", "web_device", "audit_rows", "authenticate",
           "session_account", "add_account", "update_account", "hash_password", "verify_password", "token_hash",
           "admin_count", "account_count", "list_accounts", "find_account", "purge_audit", "handlers", "StaffRules",
           "LoginLimits", "CommandError"]
