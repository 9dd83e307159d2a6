"""Delivering the outbox, and reading residents' SMS: gammu-smsd's spool, inside ``antre serve``.

:class:`GammuSpool` is the SMS channel: gammu-smsd's *files* backend (gammu-smsd-files(7)). The daemon sends
every ``OUT*.txt`` file of its ``outbox/`` folder and moves it to ``sent/`` (or ``error/``); it writes each
SMS it receives into ``inbox/`` as ``IN<date>_<time>_<serial>_<sender>_<part>.txt``.

:class:`NotifyWorker` is a thread of the service. Each round it

1. reads the inbox: each complete SMS goes to the service's writer thread as the local command
   ``sms_received`` (request id made from the file name), and its files are deleted once that is committed;
2. hands pending outbox rows to the spool: the file name is derived from the row alone
   (``OUT<A|B><created>_00_<number>_antre-<office>-<id>a<attempt>.txt``); a name already in ``outbox/``,
   ``sent/`` or ``error/`` is not written again; the file is written under ``antre-tmp/``, flushed and
   renamed into ``outbox/`` (atomic: the daemon never reads half a message), and only then is the row
   marked ``handed_off``;
3. reads back what became of handed-off rows (``sent/``: sent; ``error/``: retried after
   ``retry_seconds`` doubling per attempt, failed after ``max_attempts``).

With ``[notify] delivery_reports`` an inbox file whose whole text is one of Gammu's status words is a delivery
report (gammu-smsd ``DeliveryReport = sms``), not a resident's SMS: it is written on the oldest message to
that number still waiting for one, and deleted like any other inbox file (no log is read: docs/sms.md).

The guarantee this gives (docs/sms.md): a kill -9 of the service at any point never makes a second file for
the same message (the name is found again); a kill -9 of gammu-smsd never makes Antre hand a message over
again. What is left is the daemon's own window between the modem accepting an SMS and its rename to
``sent/``: a kill in that instant makes gammu-smsd send that file again when it starts (no file-based
hand-off can close it; gammu-smsd has no record of its own to consult).
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from antre.config import Config
from antre.rules.notify import REPLIES
from antre.rules.sms_text import international, mask, msisdn
from antre.storage.models import FAILED, HANDED_OFF, PENDING, SENT, OutboxMessage

log = logging.getLogger(__name__)

INBOX_SETTLE_SECONDS = 1.0   # an inbox file this old is complete (gammu-smsd writes it in one go)
# A delivery report (gammu-smsd ``DeliveryReport = sms``): the files backend writes the network's status report
# into the inbox like a received SMS, from the number the message went to, its whole text one of Gammu's words.
STATUS_WORDS = {"Delivered": "delivered", "Failed": "failed", "Pending": None, "Unknown": None}   # None: no news
REPORT_WAIT = timedelta(days=3)   # a report pairs with a message handed off at most this long before
_IN = re.compile(r"^(IN\d{8}_\d{6}_\d{2}_(?P<sender>[^_]+))_(?P<part>\d{2})\.txt$")


def _note(office_id: str) -> str:
    return "antre-" + office_id.replace("_", "-")


@dataclass(frozen=True)
class Incoming:
    """One SMS from the spool: its sender, its text, its files, and a key made from its name."""
    key: str
    sender: str
    text: str
    files: tuple[Path, ...]


class GammuSpool:
    """gammu-smsd's folders (``[notify] spool``): ``inbox/``, ``outbox/``, ``sent/``, ``error/``."""

    def __init__(self, folder: str | Path, office_id: str, reports: bool = False):
        self.folder = Path(folder)
        self.inbox, self.outbox = self.folder / "inbox", self.folder / "outbox"
        self.sent, self.error = self.folder / "sent", self.folder / "error"
        self.tmp = self.folder / "antre-tmp"
        self.failed = self.folder / "antre-failed"   # received SMS that could not be answered (a fault)
        self.note = _note(office_id)
        self.reports = reports   # file names end ".txtd": gammu-smsd asks the network for a delivery report
        self._mark = re.compile(rf"_{re.escape(self.note)}-(\d+)a(\d+)\.txtd?$")
        self._inbox_seen: dict[Path, tuple[tuple[int, int], float]] = {}   # inbox file: (size, mtime), first seen so

    def check(self) -> None:
        missing = [str(p) for p in (self.inbox, self.outbox, self.sent, self.error) if not p.is_dir()]
        if missing:
            raise FileNotFoundError(f"gammu-smsd's spool folders are missing: {', '.join(missing)} "
                                    "(docs/sms.md; [notify] spool)")
        self.tmp.mkdir(exist_ok=True)

    # ------------------------------------------------------------------ sending

    def name_for(self, row: OutboxMessage, attempt: int) -> str:
        """The outbox file name of ``row``'s hand-off number ``attempt``: from the row alone."""
        priority = "A" if row.kind in REPLIES else "B"
        at = row.created_at.astimezone(timezone.utc)
        return (f"OUT{priority}{at:%Y%m%d_%H%M%S}_00_{international(row.phone)}_"
                f"{self.note}-{row.id}a{attempt}.txt" + ("d" if self.reports else ""))

    def where(self, name: str) -> str | None:
        """Which of the daemon's folders holds ``name`` (``outbox``, ``sent``, ``error``), or None."""
        for label, folder in (("sent", self.sent), ("error", self.error), ("outbox", self.outbox)):
            if (folder / name).exists():
                return label
        return None

    def hand_off(self, name: str, body: str) -> None:
        """Writes one message for the daemon: under ``antre-tmp/``, flushed, then renamed into ``outbox/``."""
        tmp = self.tmp / name
        try:
            with open(tmp, "wb") as f:
                f.write(body.encode("utf-16"))   # with its byte order mark: read as Unicode (gammu-smsd-files(7))
                f.flush()
                os.fsync(f.fileno())
        except OSError:
            tmp.unlink(missing_ok=True)   # a full disk: no half-written file left behind (it holds a number)
            raise
        os.rename(tmp, self.outbox / name)
        _fsync_dir(self.outbox)

    def ours(self, name: str) -> tuple[int, int] | None:
        """``(row id, attempt)`` of one of this office's file names, or None."""
        m = self._mark.search(name)
        return (int(m[1]), int(m[2])) if m else None

    # ------------------------------------------------------------------ receiving

    def incoming(self, settle: float = INBOX_SETTLE_SECONDS) -> list[Incoming]:
        """Complete SMS in the inbox, oldest first (the parts of a long SMS joined)."""
        # Settled: unchanged (size, mtime) for ``settle`` seconds of the monotonic clock since first seen so. Not
        # time.time() - mtime: with the clock behind the file's stamp (set back, or another process's clock) that
        # stayed below ``settle`` and the SMS was never read.
        groups: dict[str, list[tuple[int, Path]]] = {}
        now = time.monotonic()
        seen = {}
        for path in sorted(self.inbox.glob("IN*.txt")):
            m = _IN.match(path.name)
            if m is None:
                continue
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            mark = (st.st_size, st.st_mtime_ns)
            first = self._inbox_seen.get(path)
            since = first[1] if first is not None and first[0] == mark else now
            seen[path] = (mark, since)
            if now - since < settle:
                continue
            groups.setdefault(m[1], []).append((int(m["part"]), path))
        self._inbox_seen = seen   # only files still there
        out = []
        for base, parts in groups.items():
            parts.sort()
            text = "".join(_read_text(p) for _, p in parts)
            sender = _IN.match(parts[0][1].name)["sender"]
            key = hashlib.sha256(base.encode()).hexdigest()[:32]
            out.append(Incoming(key, sender, text, tuple(p for _, p in parts)))
        return out


def trouble_text(exc: BaseException) -> str:
    """What staff are told when SMS cannot be handed to gammu-smsd (Indonesian: the console's device list)."""
    orig = getattr(exc, "orig", exc)
    code = getattr(orig, "errno", None)
    kept = "Pesan tetap tersimpan dan dikirim begitu bisa."
    if code == errno.ENOSPC or "full" in str(orig).lower():
        return f"SMS tertunda: penyimpanan penuh, pesan tidak bisa diserahkan ke modem. {kept}"
    if code == errno.EROFS or "readonly" in str(orig).lower().replace("-", "").replace(" ", ""):
        return f"SMS tertunda: folder SMS tidak bisa ditulis (hanya-baca). Periksa kartu SD. {kept}"
    if isinstance(orig, FileNotFoundError):
        return f"SMS tertunda: folder gammu-smsd tidak ada; layanan SMS (modem) belum dipasang dengan benar. Hubungi teknisi. {kept}"
    return f"SMS tertunda karena gangguan; dicoba lagi terus. {kept}"


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    if data[:2] in (b"\xfe\xff", b"\xff\xfe"):
        return data.decode("utf-16", errors="replace")
    return data.decode("utf-8", errors="replace")


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class NotifyWorker:
    """The service's delivery thread for the outbox (see the module's docstring).

    ``submit(command, request_id, args)`` runs a local command on the service's writer thread and says
    ``"done"``, ``"failed"`` or ``"later"`` (:meth:`antre.service.server.QueueServer.run_local`)."""

    def __init__(self, cfg: Config, sessions: sessionmaker, submit: Callable[[str, str, dict], str],
                 clock: Callable[[], datetime] | None = None):
        self.cfg = cfg
        self.n = cfg.notify
        self.sessions = sessions
        self.submit = submit
        self.now = clock or (lambda: datetime.now(timezone.utc))
        self.spool = GammuSpool(self.n.spool, cfg.office.id, reports=self.n.delivery_reports)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="antre-notify", daemon=True)
        self._warned = False
        self._rounds = 0
        #: Why SMS cannot go to gammu-smsd now, for staff (Indonesian; the service's presence carries it); None.
        self.trouble: str | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.spool.check()
                self.round()
                self._warned = False
                if self.trouble is not None:
                    log.info("SMS: handed to gammu-smsd again")
                self.trouble = None
            except Exception as exc:  # noqa: BLE001 - the queue goes on; this is tried again next round
                self.trouble = trouble_text(exc)
                if not self._warned:
                    if isinstance(exc, OSError) and (exc.filename or exc.filename2):
                        # gammu-smsd's file names hold the resident's number: the error without them (and without
                        # the traceback, which repeats them)
                        log.error("SMS: %s (errno %s) in gammu-smsd's spool %s; trying again every %.0f s",
                                  exc.strerror, exc.errno, self.spool.folder, self.n.poll_seconds)
                    else:
                        log.exception("SMS: %s; trying again every %.0f s", exc, self.n.poll_seconds)
                    self._warned = True
            self._stop.wait(self.n.poll_seconds)

    def round(self) -> None:
        self.receive()
        self.deliver()
        self.confirm()
        self._rounds += 1
        if self._rounds % 100 == 1:
            self.clean()

    # ------------------------------------------------------------------ 1. residents' SMS

    def receive(self) -> None:
        for sms in self.spool.incoming():
            if self._stop.is_set():
                return
            phone = msisdn(sms.sender)
            if self.n.delivery_reports and sms.text.strip() in STATUS_WORDS:
                self.delivery_report(phone, STATUS_WORDS[sms.text.strip()])
            elif phone is None:
                # An operator's notice or a foreign number: nothing to answer (no reply loops with short codes).
                log.info("SMS from a sender that is not an Indonesian mobile number: ignored")
            else:
                status = self.submit("sms_received", f"sms-{sms.key}",
                                     {"phone": phone, "text": sms.text[:1000], "message_key": sms.key})
                if status == "later":
                    log.warning("SMS from %s could not be applied now; kept for the next round", mask(phone))
                    return
                if status == "failed":
                    # It fails by itself: put aside (not lost, not blocking the SMS after it) for a person to see.
                    self.spool.failed.mkdir(exist_ok=True)
                    for f in sms.files:
                        os.replace(f, self.spool.failed / f.name)
                    log.error("SMS from %s could not be answered (a fault); its file is in %s", mask(phone),
                              self.spool.failed)
                    continue
            for f in sms.files:   # applied (committed): its files go; a second reading would be a replay anyway
                f.unlink(missing_ok=True)

    # ------------------------------------------------------------------ 2. outbox -> spool

    def deliver(self) -> None:
        now = self.now()
        with self.sessions() as s:
            due = s.scalars(select(OutboxMessage.id).where(
                OutboxMessage.state == PENDING, OutboxMessage.channel == "sms",
                OutboxMessage.next_attempt_at <= now).order_by(OutboxMessage.id).limit(50)).all()
        for row_id in due:
            if self._stop.is_set():
                return
            with self.sessions() as s, s.begin():
                row = s.get(OutboxMessage, row_id)
                if row is None or row.state != PENDING or row.phone is None:
                    continue
                attempt = row.attempt + 1
                name = self.spool.name_for(row, attempt)
                found = self.spool.where(name)
                if found is None:
                    self.spool.hand_off(name, row.body)
                else:
                    log.info("outbox %s: already in gammu-smsd's %s (handed off before a restart); not written "
                             "again", row.key, found)
                row.state, row.attempt, row.handle, row.handed_off_at = HANDED_OFF, attempt, name, now

    # ------------------------------------------------------------------ 3. spool -> outbox

    def confirm(self) -> None:
        now = self.now()
        with self.sessions() as s:
            handed = s.execute(select(OutboxMessage.id, OutboxMessage.handle).where(
                OutboxMessage.state == HANDED_OFF, OutboxMessage.channel == "sms")).all()
        for row_id, handle in handed:
            found = self.spool.where(handle) if handle else None
            if found not in ("sent", "error"):
                continue
            with self.sessions() as s, s.begin():
                row = s.get(OutboxMessage, row_id)
                if row is None or row.state != HANDED_OFF or row.handle != handle:
                    continue
                if found == "sent":
                    row.state, row.done_at, row.reason = SENT, now, None
                elif row.attempt >= self.n.max_attempts:
                    row.state, row.done_at, row.reason = FAILED, now, "channel_error"
                    log.warning("outbox %s: gammu-smsd could not send it %d times; given up", row.key, row.attempt)
                else:
                    wait = self.n.retry_seconds * 2 ** (row.attempt - 1)
                    row.state, row.reason = PENDING, "channel_error"
                    row.next_attempt_at = now + timedelta(seconds=wait)
                    log.info("outbox %s: gammu-smsd could not send it (attempt %d); again in %.0f s", row.key,
                             row.attempt, wait)
            if found == "error":
                (self.spool.error / handle).unlink(missing_ok=True)   # recorded; it holds the number

    # ------------------------------------------------------------------ 4. delivery reports

    def delivery_report(self, phone: str | None, word: str | None) -> bool:
        """Writes a delivery report (``delivered``/``failed``; None: no news) on the oldest message to ``phone``
        that asked for one (``.txtd``), was sent (the daemon moved it to ``sent/``) within :data:`REPORT_WAIT`
        and has no report yet. Gammu's files backend does not keep the network's message reference, so reports
        pair in the order the messages went out. Returns whether a row was written."""
        if phone is None or word is None:
            return False
        since = self.now() - REPORT_WAIT
        with self.sessions() as s, s.begin():
            rows = s.scalars(select(OutboxMessage).where(
                OutboxMessage.channel == "sms", OutboxMessage.phone == phone,
                OutboxMessage.state.in_((SENT, HANDED_OFF)), OutboxMessage.delivery.is_(None),
                OutboxMessage.handle.like("%.txtd"), OutboxMessage.handed_off_at >= since)
                .order_by(OutboxMessage.handed_off_at, OutboxMessage.id)).all()
            for row in rows:
                if row.state == SENT or self.spool.where(row.handle) == "sent":
                    row.delivery, row.delivery_at = word, self.now()
                    log.info("outbox %s: delivery report: %s", row.key, word)
                    return True
        log.info("SMS delivery report for no message waiting for one: dropped")
        return False

    def clean(self) -> None:
        """Deletes this office's files in ``sent/``, ``error/`` and ``outbox/`` once their row's number is wiped
        (retention) or the row is gone: a message handed off and never confirmed is given up past retention
        (:meth:`antre.rules.notify.NotifyRules.purge`), and its file, still waiting in the daemon's outbox,
        holds the number (and would be sent days late if the daemon came back)."""
        for folder in (self.spool.sent, self.spool.error, self.spool.outbox):
            for path in folder.glob("OUT*.txt*"):
                mine = self.spool.ours(path.name)
                if mine is None:
                    continue
                with self.sessions() as s:
                    row = s.get(OutboxMessage, mine[0])
                    keep = row is not None and row.phone is not None
                if not keep:
                    path.unlink(missing_ok=True)
                    if folder is self.spool.outbox:
                        log.info("SMS: outbox row %s given up at retention; its file left gammu-smsd's outbox",
                                 mine[0])


__all__ = ["GammuSpool", "NotifyWorker", "Incoming", "trouble_text"]
