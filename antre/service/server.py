"""``antre serve``: the queue service, the one authority over tickets.

paho's network thread only puts incoming commands on a queue. One writer
thread takes them in order, runs each through :class:`~antre.rules.queue.QueueService`
(one durable transaction each), then publishes the reply, the events and -- once
the backlog is empty -- the new retained state.

Every command names its sender in its topic (``{base}/cmd/{role}/{client_id}/{command}``,
enforced by the broker's ACL): the service checks the command against the sender's role
and, for a counter device, the counters it may operate (:func:`antre.link.protocol.authorize`),
replies only to the sender's own reply topic, and judges staleness per sender.
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import queue
import signal
import sys
import threading
import time
from typing import Any

from antre import config as config_mod
from antre.addresses import limit_key, site_key
from antre.errors import CommandError
from antre.service.instance import AlreadyRunning, DatabaseLock, Instance, check_broker, describe
from antre.service.signins import SignInChecks
from antre.link.mqtt import MqttLink, client_id_for
from antre.link.signals import stop_signals_to_main_thread
from antre.link.protocol import (
    Freshness, Request, Topics, authorize, encode, error_reply, ok_reply, parse_request, peek_request_id,
    read_presence, status_payload,
)
from antre.rules import appointments, complaint_export, complaints, district, letters, my_items, news, notify, office, questions, staff
from antre.rules.queue import QueueService
from antre.storage import FULL, LOW, READ_ONLY, StorageWatch, check_writable, open_database
from antre.clock import ClockWatch

log = logging.getLogger("antre.service")

#: The rule plug-ins the service registers with its queue (each adds commands: see QueueService.register).
PLUGINS = (appointments.handlers, letters.handlers, complaints.handlers, news.handlers, staff.handlers, office.handlers,
           my_items.handlers,   # "Semua urusan saya" (uses notify's outbox once running)
           complaint_export.handlers,   # the month's complaints for LAPOR!
           notify.handlers,   # notify wraps the web's commands: after them
           questions.handlers,   # the FAQ and the question inbox: after notify (it answers for it)
           district.handlers)   # the district outbox: rows in each command's transaction

TICK_SECONDS = 15.0
# Exit status when another service runs this office: systemd does not restart it (RestartPreventExitStatus).
EXIT_ALREADY_RUNNING = 3
# Booking codes: a device may get this many "no such code" answers in CHECKIN_WINDOW seconds, then it
# must wait (docs/security.md). A resident who mistypes is caught by the code's check digit first.
CHECKIN_MISSES = 5
CHECKIN_WINDOW = 600.0
#: Commands that take a code a guesser might try, and the answer that counts as a miss (the same budget).
GUESSED = {"check_in": "booking_not_found", "letter_pickup": "letter_not_found", "rate": "rating_code_wrong",
           "letter_status": "letter_not_found", "complaint_status": "complaint_not_found",
           "question_status": "question_not_found", "booking_status": "booking_not_found"}
#: Of those, the ones the website asks for residents: counted per browser address (the ``address`` argument,
#: taken off before the rules see it), not for the website as a whole -- one guesser must not lock every
#: resident out. Without an address the website's own per-address limits are all there is.
PER_ADDRESS = frozenset({"letter_status", "complaint_status", "question_status", "booking_status"})
#: Unknown codes per browser address in CHECKIN_WINDOW: more than a kiosk's, as many residents can share one
#: address (a mobile operator's NAT); a typo never counts (the check digit is checked first).
ADDRESS_MISSES = 20
#: ... and per IPv6 site (/48) of browser addresses: its 65 536 /64s were each a fresh budget of ADDRESS_MISSES.
SITE_MISSES = 5 * ADDRESS_MISSES
#: Guessers remembered at most (each browser address is one): past it the ones with no miss in the window go,
#: then the oldest half -- many addresses must not grow the service's memory for as long as it runs.
MAX_GUESSERS = 10000
#: A reply's payload at most: broker_config/antre.conf's max_packet_size (65536) less room for the topic.
MAX_REPLY_BYTES = 65536 - 1024
#: Commands after which the devices' announcements are worked out again (antre/service/news_link.py).
NEWS_COMMANDS = {"news_save", "news_withdraw", "news_slides"}
BATCH_MAX = 64   # commands applied in one transaction at most (group commit under bursts)
_STOP = object()
_PUBLISH_STATE = object()


class QueueServer:
    """Connects a :class:`QueueService` to the broker. ``start()``, then ``stop()``."""

    def __init__(self, cfg: config_mod.Config, *, clock=None, notify=None, on_conflict=None,
                 clock_watch: ClockWatch | None = None, signin_workers: int = 1):
        """``signin_workers``: threads that check staff passwords (antre/service/signins.py); 0 checks them
        on the writer thread (the way before, kept for bench/signin_bench.py's baseline)."""
        self.cfg = cfg
        self.topics = Topics(cfg.office.id)
        self.instance = Instance.here(cfg.database.effective_url)
        self.engine, sessions = open_database(cfg.database.effective_url)
        url = cfg.database.effective_url
        check_writable(self.engine, url)   # refuse to start on a database that cannot be written
        self.storage = StorageWatch(self.engine, url, cfg.database.warn_free_mb, cfg.database.reserve_mb)
        self.storage.probe()
        self._db_lock = DatabaseLock(self.engine, self.instance)
        self._on_conflict = on_conflict or (lambda message: None)
        self._own_presence_seen = False
        self.queue = QueueService(cfg, sessions, clock=clock, plugins=PLUGINS)
        self.queue.storage = self.storage
        # The real clock is watched (jumps, devices' clocks); an injected one (tests, simulations) only
        # when a watch is given too.
        self.clock_watch = clock_watch or (ClockWatch() if clock is None else None)
        if self.clock_watch is not None:
            self.queue.clock_doubt = self.clock_watch.doubt
            self.queue.clock_device_time = self.clock_watch.device_time
        self._health: dict[str, Any] = {}
        self.client_id = client_id_for(cfg, "service")
        self.link = MqttLink(cfg.mqtt, self.topics, self.client_id, "service")
        # Where this instance runs, so a second one can say so when it refuses to start.
        self.link.set_status(**self.instance.presence())
        self.link.subscribe(self.topics.commands, self._received)
        self.link.subscribe(self.topics.statuses, self._presence)
        # Devices still speaking protocol 1: told (their old service presence says offline) and logged.
        self.link.subscribe(self.topics.legacy_commands, self._legacy)
        self.link.subscribe(self.topics.legacy_statuses, self._legacy)
        self.link.on_connect(lambda: self._jobs.put(_PUBLISH_STATE))
        # The district outbox: published after each commit, resent when the district's hub asks.
        from antre.service.district_link import DistrictPublisher
        self.district = DistrictPublisher(sessions, self.link, self.topics,
                                          committed=self.queue.plugins["district"].committed)
        self.link.subscribe(self.topics.district_resend, lambda topic, payload: self._jobs.put(("resend", payload)))
        self.link.on_connect(lambda: self._jobs.put(("resend", None)))
        self.link.on_connect(self._tell_legacy_devices)
        # Village information on the TV and the kiosk: the retained news document and pictures.
        from antre.service.news_link import NewsPublisher
        self.news = NewsPublisher(self.queue, self.link, self.topics)
        self.link.subscribe(self.topics.news_pictures,
                            lambda topic, payload: self._jobs.put(("news_picture", topic, payload)))
        self.link.on_connect(lambda: self._jobs.put(("news", True)))
        self._jobs: queue.Queue[Any] = queue.Queue()
        self.signins = SignInChecks(self.queue, self._jobs.put, signin_workers) if signin_workers > 0 else None
        self._writer = threading.Thread(target=self._run, name="antre-writer", daemon=True)
        self._notify = notify or (lambda *_: None)
        self._last_tick = 0.0
        self._fresh = Freshness(cfg.queue.max_command_age)
        self._published: int | None = None   # seq of the last state published
        # Counters each counter device may operate: pinned in [[counters]] devices, else what the
        # device's own presence names (its login is the only one that may write that presence).
        self._pinned: dict[str, set[str]] = {}
        for c in cfg.counters:
            for device in c.devices:
                self._pinned.setdefault(device, set()).add(c.id)
        self._unpinned = {c.id for c in cfg.counters if not c.devices}
        # Rating-only kiosks: login -> the counter whose completed tickets it may rate without their code.
        self._rating_kiosks = {c.rating_kiosk: c.id for c in cfg.counters if c.rating_kiosk}
        self._declared: dict[str, set[str]] = {}
        self._checkins: dict[str, collections.deque[float]] = {}   # guesser -> times of unanswered or missed codes
        self._guessers: dict[int, tuple[str, ...]] = {}   # id(request) -> its guessers, from admission to answer
        self._legacy_seen: set[str] = set()
        # SMS (docs/sms.md): a thread of this service hands the outbox to gammu-smsd and reads residents' SMS.
        self.notify_worker = None
        if cfg.notify.sms:
            from antre.service.notify_worker import NotifyWorker
            self.notify_worker = NotifyWorker(cfg, sessions, self.run_local)
        # Telegram and the WhatsApp Cloud API (docs/channels.md): optional internet channels of the same outbox.
        self.chat_worker = None
        if cfg.notify.telegram.enabled or cfg.notify.whatsapp.enabled:
            from antre.service.chat_channels import ChatWorker
            self.chat_worker = ChatWorker(cfg, sessions, self.run_local)

    def start(self) -> None:
        """Starts serving. Raises :class:`~antre.service.instance.AlreadyRunning` when another service runs
        this office or uses this database (nothing is applied then)."""
        self._db_lock.acquire()
        try:
            check_broker(self.cfg.mqtt, self.topics, self.client_id)
        except BaseException:
            self._db_lock.release()
            raise
        # [[notify.faq]]: seeded now on a new database (what is left out is logged once), or one line saying
        # it is no longer used; never a reason not to start (docs/sms.md).
        self.queue.plugins["questions"].at_start()
        self._writer.start()
        self.link.start()
        if self.notify_worker is not None:
            self.notify_worker.start()
        if self.chat_worker is not None:
            self.chat_worker.start()

    def stop(self) -> None:
        if self.notify_worker is not None:
            self.notify_worker.stop()
        if self.chat_worker is not None:
            self.chat_worker.stop()
        if self._writer.is_alive():
            self._jobs.put(_STOP)
            self._writer.join(timeout=10)
            self.link.stop()
        if self.signins is not None:
            self.signins.stop()
        self._db_lock.release()
        self.engine.dispose()

    # ------------------------------------------------------------------ paho thread

    def _received(self, topic: str, payload: bytes) -> None:
        # Its arrival time goes with it: its age is judged from when it came, not from when the writer gets to it
        # (the service's own backlog under load must not make commands that came on time look stale).
        self._jobs.put((topic, payload, time.monotonic()))   # monotonic: see _admit

    def _presence(self, topic: str, payload: bytes) -> None:
        # Handed to the writer in arrival order, so a counter's presence is known before its commands.
        self._jobs.put(("presence", topic, payload, time.monotonic()))   # monotonic: see _admit

    def _legacy(self, topic: str, payload: bytes) -> None:
        self._jobs.put(("legacy", topic, payload))

    def _tell_legacy_devices(self) -> None:
        """Protocol 1 devices read the service's presence at the old place: it says offline there."""
        self.link.publish(f"{self.topics.legacy_base}/status/{self.client_id}",
                          status_payload("service", self.client_id, False,
                                         message="this office's service speaks protocol 2: update this device"),
                          retain=True)

    def run_local(self, command: str, request_id: str, args: dict[str, Any], timeout: float = 30.0) -> str:
        """Runs a command of the service's own parts (``sms_received``) on the writer thread, like a device's
        (one transaction, idempotent on ``request_id``, its events published). Returns ``"done"`` once it is
        committed or answered with a refusal, ``"failed"`` when it fails by itself (``internal_error``: trying
        again would fail again), ``"later"`` when the storage is in trouble or the writer did not get to it."""
        done = threading.Event()
        box: list[Any] = []
        self._jobs.put(("local", command, request_id, args, done, box))
        if not done.wait(timeout) or not box:
            return "later"
        result = box[0]
        if isinstance(result, CommandError):
            if result.code in ("storage_full", "storage_read_only"):
                return "later"
            if result.code == "internal_error":
                return "failed"
        return "done"

    def _handle_local(self, jobs: list[tuple]) -> bool:
        results = self.queue.execute_many([(j[1], j[2], j[3]) for j in jobs])
        changed = False
        for job, result in zip(jobs, results):
            if isinstance(result, CommandError):
                log.warning("%s %s refused: %s (%s)", job[1], job[2], result.message, result.code)
            else:
                for event, data in result.events:
                    self.link.publish(self.topics.event(event), encode(data))
                changed |= result.changed
            job[5].append(result)
            job[4].set()
        return changed

    # ------------------------------------------------------------------ writer thread

    def _run(self) -> None:
        dirty = False
        while True:
            try:
                job = self._jobs.get(timeout=1.0)
            except queue.Empty:
                job = None
            try:
                # Take what else is already waiting too: a burst is applied in one transaction.
                jobs = [job] if job is not None else []
                while jobs and jobs[-1] is not _STOP and len(jobs) < BATCH_MAX:
                    try:
                        jobs.append(self._jobs.get_nowait())
                    except queue.Empty:
                        break
                messages, local, resends, checked = [], [], [], []
                news_due = news_force = False
                for j in jobs:
                    if j is _PUBLISH_STATE:
                        dirty = True
                    elif j is _STOP:
                        break
                    elif j[0] == "presence":
                        self._learn_presence(*j[1:])
                    elif j[0] == "legacy":
                        self._refuse_legacy(*j[1:])
                    elif j[0] == "resend":
                        resends.append(j[1])
                    elif j[0] == "local":
                        local.append(j)
                    elif j[0] == "signin":
                        checked.append(self.signins.back(j[1]))
                    elif j[0] == "news":
                        news_due = news_force = True
                    elif j[0] == "news_picture":
                        self.news.saw_picture(j[1], j[2])
                        news_due = True
                    else:
                        messages.append(j)
                        news_due |= j[0].rsplit("/", 1)[-1] in NEWS_COMMANDS
                if local:
                    dirty |= self._handle_local(local)
                if messages or checked:
                    dirty |= self._handle(messages, checked)
                    if self.storage.state in (LOW, FULL):
                        self.storage.checkpoint()   # little space: keep the WAL at a few pages
                if _STOP in jobs:
                    return
                if time.monotonic() - self._last_tick >= TICK_SECONDS or (
                        self.storage.state in (FULL, READ_ONLY) and not messages and job is None):
                    self._last_tick = time.monotonic()
                    self._check_storage()
                    if self.storage.state != READ_ONLY:
                        dirty |= self.queue.tick()
                    news_due = True   # a new business day: items appear or expire
                    self._notify("WATCHDOG=1")
                if (dirty or self.queue.seq != self._published) and self._jobs.empty() \
                        and self.storage.state != READ_ONLY:
                    self._publish_state()
                    dirty = False
                if news_due and self.storage.state != READ_ONLY:
                    self._news(news_force)
                # After the state: the office's own devices first, the district after them.
                self._district(resends)
                self._report_health()
                if self.storage.state == READ_ONLY:
                    # Hold no file open on that disk, so it can be checked and mounted again: no pooled
                    # connection, and not the lock file either (a second service would find the database
                    # unwritable and refuse to start anyway; the lock is taken again on recovery).
                    self.engine.dispose()
                    self._db_lock.release()
            except CommandError as exc:  # tick() refused: clock went backwards
                log.error("%s", exc.message)
            except Exception:
                log.exception("unexpected error in the writer")

    def _news(self, force: bool) -> None:
        try:
            self.news.publish(force)
        except Exception:  # noqa: BLE001 - announcements never stop the queue
            log.exception("news for the devices: could not publish; tried again at the next tick")

    def _district(self, resends: list[bytes | None]) -> None:
        """New district rows out (also those of the tick), requested ones again, the head now and then."""
        if self.storage.state == READ_ONLY:
            return
        try:
            self.district.publish_new()
            for payload in resends:
                if payload is None:
                    self.district.heartbeat(force=True)   # (re)connected: the head again
                else:
                    self.district.resend(payload)
            self.district.heartbeat()
        except Exception:  # noqa: BLE001 - the district never stops the office
            log.exception("district outbox: could not publish; tried again after the next command")

    def _learn_presence(self, topic: str, payload: bytes, received: float) -> None:
        try:
            parsed = read_presence(self.topics, topic, payload)
        except Exception:  # noqa: BLE001 - nothing a sender writes may stop the writer
            log.exception("unreadable presence on %s", topic)
            return
        if parsed is None:
            return
        role, client_id, data = parsed
        online = bool(data and data.get("online") is True)
        if role == "service" and client_id == self.client_id:
            self._watch_own_presence(data or {})
            return
        sent_at = data.get("time") if data else None
        if online and isinstance(sent_at, (int, float)) and not isinstance(sent_at, bool) and 0 <= sent_at <= 1e10:
            # A device's presence carries its clock: learn its offset before its first command.
            self._fresh.observe(client_id, float(sent_at), received)
        if role == "counter":
            counters = data.get("counters") if online else None
            if isinstance(counters, list):
                self._declared[client_id] = {c for c in counters if isinstance(c, str)}
            else:
                self._declared.pop(client_id, None)

    def _watch_own_presence(self, data: dict[str, Any]) -> None:
        """Another instance writing this service's presence: the one started later gives way."""
        if data.get("instance") == self.instance.id:
            self._own_presence_seen = True
            return
        if not self._own_presence_seen:
            return   # the retained message of an earlier instance, read before this one announced itself
        started = data.get("started")
        # Its presence or its last will (the broker publishes it when this one takes the session over):
        # either way an older instance is alive and connecting.
        if data.get("stopped") is not True and isinstance(started, (int, float)) and started < self.instance.started:
            message = (f"another antre serve for office {self.cfg.office.id} started earlier and runs "
                       f"{describe(data)}; this one stops")
            log.error("%s", message)
            self._on_conflict(message)
            return
        # A younger instance (about to give way), or its last will: say again that this one runs here.
        self.link.set_status()

    def counters_of(self, client_id: str) -> set[str]:
        """The counters a counter device may operate: pinned to it, or unpinned and named in its presence."""
        return self._pinned.get(client_id, set()) | (self._declared.get(client_id, set()) & self._unpinned)

    def _refuse_legacy(self, topic: str, payload: bytes) -> None:
        name = self.topics.legacy_client(topic) or "?"
        is_command = topic.startswith(f"{self.topics.legacy_base}/cmd/")
        if is_command:
            try:
                data = json.loads(payload)
                reply_to = data.get("reply_to") if isinstance(data, dict) else None
            except (ValueError, UnicodeDecodeError, RecursionError):
                reply_to = None
            who = reply_to.rsplit("/", 1)[-1] if isinstance(reply_to, str) else "an unknown device"
            key = f"cmd:{who}"
            if (isinstance(reply_to, str) and reply_to.startswith(f"{self.topics.legacy_base}/reply/")
                    and "+" not in reply_to and "#" not in reply_to):
                self.link.publish(reply_to, error_reply(peek_request_id(payload), "protocol_outdated",
                                                        "this office's service speaks protocol 2: update this "
                                                        "device (docs/protocol.md)"))
            what = f"command '{name}' from {who}"
        else:
            key = f"status:{name}"
            what = f"device '{name}'"
            if not payload or name == self.client_id:
                return
        if key not in self._legacy_seen:
            self._legacy_seen.add(key)
            log.error("%s speaks protocol 1 (topic %s); this service speaks protocol 2 and ignores it: "
                      "update that device (docs/protocol.md)", what, topic)

    def _handle(self, messages: list[tuple[str, bytes, float]], checked: list[Request] = ()) -> bool:
        """Validates and applies a burst of command messages; replies and events go out after the commit.

        Nothing one sender sends may affect another's commands: each message is admitted on its own,
        and each reply is published on its own. A sign-in goes to have its password checked off this
        thread and comes back in ``checked`` (admitted already).
        """
        requests = list(checked)
        for topic, payload, received in messages:
            try:
                req = self._admit(topic, payload, received)
            except Exception:  # noqa: BLE001 - a bug in validation: this message only
                log.exception("could not read a message on %s; ignored", topic)
                continue
            if req is not None and not (self.signins is not None and self._to_check(req)):
                requests.append(req)
        if not requests:
            return False
        results = self.queue.execute_many([(r.command, r.request_id, r.args) for r in requests])
        changed = False
        for req, result in zip(requests, results):
            try:
                changed |= self._answer(req, result)
            except Exception:  # noqa: BLE001 - one reply that cannot be sent never stops the others
                log.exception("could not answer %s %s", req.command, req.request_id)
        return changed

    @staticmethod
    def _guesser(req: Request) -> tuple[str, ...] | None:
        """Whom a code-taking command counts against: its device, or the website's browser address (and an IPv6
        address's site too)."""
        address = req.args.pop("address", None) if req.command in PER_ADDRESS else None
        if req.command not in GUESSED or req.sender is None:
            return None
        if req.sender.role == "web" and req.command in PER_ADDRESS:
            if not address:
                return None
            # One phone on IPv6 has a /64 of addresses: counted by its /64, not by each (antre/addresses.py);
            # and its /48 has 65 536 of those: the site has a budget too (SITE_MISSES).
            site = site_key(address)
            return (f"{req.sender.client_id} address {limit_key(address)}",) + \
                ((f"{req.sender.client_id} site {site}",) if site else ())
        return (req.sender.client_id,)

    def _to_check(self, req: Request) -> bool:
        try:
            return self.signins.take(req)
        except Exception:  # noqa: BLE001 - e.g. the database unreadable: applied now, answered as it can be
            log.exception("could not prepare the password check of a sign-in; checked on the writer")
            return False

    def _count_checkin(self, guessers: tuple[str, ...]) -> None:
        """Counts a code attempt against its guessers; refuses it when one of them missed too often lately.

        Every attempt counts until its answer is known (a burst is admitted before any is answered);
        one that did not miss is taken back in :meth:`_answer`.
        """
        now = time.monotonic()
        new = sum(sender not in self._checkins for sender in guessers)
        if new and len(self._checkins) + new > MAX_GUESSERS:
            self._forget_guessers(now, new)
        for sender in guessers:
            tries = self._checkins.setdefault(sender, collections.deque())
            while tries and tries[0] < now - CHECKIN_WINDOW:
                tries.popleft()
            budget = SITE_MISSES if " site " in sender else ADDRESS_MISSES if " address " in sender else CHECKIN_MISSES
            if len(tries) >= budget:
                log.warning("code from %s refused: %d unknown codes in %.0f minutes", sender, len(tries),
                            CHECKIN_WINDOW / 60)
                for k in guessers:   # an entry made just now and left empty is not kept
                    if not self._checkins.get(k, True):
                        del self._checkins[k]
                raise CommandError("too_many_attempts", f"too many unknown codes from this device; "
                                                        f"try again in {CHECKIN_WINDOW / 60:.0f} minutes")
        for sender in guessers:
            self._checkins[sender].append(now)

    def _forget_guessers(self, now: float, room: int = 1) -> None:
        for k in [k for k, t in self._checkins.items() if not t or t[-1] < now - CHECKIN_WINDOW]:
            del self._checkins[k]
        if len(self._checkins) + room > MAX_GUESSERS:
            # A flood of addresses within the window: half go, browser addresses before devices and the fewest
            # misses first (the oldest among equals). The oldest half went whatever they held, so a flood of
            # new addresses gave a kiosk, or an address held at its budget, a fresh budget at once.
            def keep(k: str) -> tuple[int, int]:
                return (0 if " address " in k or " site " in k else 1, len(self._checkins[k]))
            for k in sorted(self._checkins, key=keep)[: max(1, MAX_GUESSERS // 2)]:
                del self._checkins[k]

    def _take_back(self, guessers: tuple[str, ...]) -> None:
        """An attempt that was no miss: it does not count (and a guesser with nothing left is forgotten)."""
        for guesser in guessers:
            tries = self._checkins.get(guesser)
            if tries:
                tries.pop()
            if not tries:
                self._checkins.pop(guesser, None)

    def _answer(self, req: Request, result) -> bool:
        guesser = self._guessers.pop(id(req), None)
        if guesser is not None and not (isinstance(result, CommandError) and result.code == GUESSED[req.command]):
            self._take_back(guesser)
        if isinstance(result, CommandError):
            if result.code != "internal_error":
                log.info("%s from %s refused: %s (%s)", req.command, req.sender.client_id, result.message,
                         result.code)
            self.link.publish(req.reply_to, encode(error_reply(req.request_id, result.code, result.message,
                                                                     getattr(result, "details", None))))
            return False
        data = encode(ok_reply(req.request_id, result.result))
        if len(data) > MAX_REPLY_BYTES:
            # The shipped broker drops a client whose packet is over 64 KiB: the whole service would go offline.
            log.error("%s %s: the reply is %d bytes, over %d; answered reply_too_large", req.command, req.request_id,
                      len(data), MAX_REPLY_BYTES)
            data = encode(error_reply(req.request_id, "reply_too_large",
                                      f"the answer is over {MAX_REPLY_BYTES} bytes; ask for less"))
        self.link.publish(req.reply_to, data)
        for event, data in result.events:
            self.link.publish(self.topics.event(event), encode(data))
        return result.changed

    def _admit(self, topic: str, payload: bytes, received: float) -> Request | None:
        """The parsed, authorised request, or None after replying with why it was refused. ``received``: when
        paho handed it over (monotonic), what its age is measured at."""
        max_bytes = self.cfg.queue.max_payload_bytes
        sender = self.topics.sender(topic)
        try:
            req = parse_request(topic, payload, self.topics, max_bytes)
            authorize(req, self.counters_of)
            guesser = self._guesser(req)
            if guesser is not None:
                self._count_checkin(guesser)
                self._guessers[id(req)] = guesser
            if req.command == "rate" and req.sender is not None and req.sender.role == "kiosk":
                # Not an argument a device can send (unknown arguments are refused): set here only.
                counter = self._rating_kiosks.get(req.sender.client_id)
                if counter is not None:
                    req.args["rating_counter"] = counter
            if req.command == "question_submit" and req.sender is not None and req.sender.role == "kiosk":
                req.args["kiosk"] = req.sender.client_id   # counted per kiosk (question_kiosk_daily); set here only
        except CommandError as exc:
            rid = peek_request_id(payload) if len(payload) <= 1_000_000 else None
            log.warning("refused message on %s: %s (%s)", topic, exc.message, exc.code)
            if sender is not None:
                self.link.publish(self.topics.reply(sender.client_id), encode(error_reply(rid, exc.code, exc.message)))
            return None
        if req.sent_at is not None and self.clock_watch is not None:
            self.clock_watch.observe(req.sender.client_id, req.sent_at)
        # Measured on the monotonic clock: setting the service's clock must not make commands look stale. At its
        # arrival, not now: time it waited behind other jobs on this thread is the service's delay, not the network's.
        late = self._fresh.age(req.sender.client_id, req.sent_at, received)
        if late is not None:
            # Dropped without a reply: its sender gave up long ago (and gave staff the error signal), and
            # a retry with the same request_id must get its own answer, not this one. Not the arguments
            # in the log: a web ticket's carry a name and a phone number.
            log.warning("%s %s from %s refused as stale: arrived %.0f s late; not applied", req.command,
                        req.request_id, req.sender.client_id, late)
            guesser = self._guessers.pop(id(req), None)
            if guesser is not None:
                self._take_back(guesser)   # not answered at all: no miss
            return None
        return req

    def _check_storage(self) -> None:
        before = self.storage.state
        state = self.storage.probe()
        if state in (LOW, FULL):
            self.storage.checkpoint()   # a WAL left long is space a full disk needs
        if state != before:
            (log.info if state == "ok" else log.warning)("storage: %s -> %s (%s MB free)", before, state,
                                                         None if self.storage.free_bytes is None
                                                         else round(self.storage.free_bytes / 2**20, 1))
            if before == READ_ONLY:
                self.queue.today = None   # read everything again from the database
                try:
                    self._db_lock.release()   # (idempotent) then taken again
                    self._db_lock.acquire()
                except AlreadyRunning as exc:
                    log.error("%s", exc)
                    self._on_conflict(str(exc))

    def _report_health(self) -> None:
        """The service's health in its retained presence (republished only when it changes)."""
        warning = self.queue.clock_warning
        free = self.storage.free_bytes
        health = {"clock": "wrong" if warning else "ok", "clock_message": warning or "",
                  "business_date": self.queue.today.day.isoformat() if self.queue.today else None,
                  "storage": self.storage.state, "storage_message": self.storage.message(),
                  "storage_free_mb": None if free is None else round(free / 2**20, 1)}
        if self.notify_worker is not None:
            trouble = self.notify_worker.trouble
            health |= {"sms": "trouble" if trouble else "ok", "sms_message": trouble or ""}
        if health != self._health:
            self._health = health
            self.link.set_status(**health)

    def _publish_state(self) -> None:
        state = self.queue.snapshot()
        self.link.publish(self.topics.state, state, retain=True)
        self._published = state["seq"]


# ---------------------------------------------------------------------- CLI

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mqtt-url", help="broker URL, overrides [mqtt] url (mqtt://host:1883 or mqtts://...)")
    parser.add_argument("--db-url", help="database URL, overrides [database] url (sqlite:////path/antre.db)")


def load_with_overrides(args: argparse.Namespace) -> config_mod.Config:
    return config_mod.with_overrides(config_mod.load(args.config), mqtt_url=args.mqtt_url, db_url=args.db_url)


def run(args: argparse.Namespace) -> int:
    cfg = load_with_overrides(args)
    from antre.secret_check import weak_secrets
    for warning in weak_secrets(cfg):   # a default or guessable secret: say so at every start
        log.warning("%s: %s", cfg.source, warning)
    # The writer thread hands each message to paho's network thread; the default 5 ms GIL switch interval
    # would let a reply wait behind the next command's work. 0.5 ms keeps a call at about a millisecond.
    sys.setswitchinterval(0.0005)
    try:
        import sdnotify
        notifier = sdnotify.SystemdNotifier()
        notify = notifier.notify
    except ImportError:  # pragma: no cover - sdnotify is a dependency
        notify = None
    stop = threading.Event()
    conflict: list[str] = []

    def yield_to_older(message: str) -> None:
        conflict.append(message)
        stop.set()

    # SIGTERM/SIGINT go to the main thread only (antre/link/signals.py): taken by the writer or paho's thread
    # they left stop.wait() below waiting for good (no 'stopped' presence; the next start waited for a service
    # that was gone).
    with stop_signals_to_main_thread():
        server = QueueServer(cfg, notify=notify, on_conflict=yield_to_older)
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        try:
            server.start()
        except AlreadyRunning as exc:
            log.error("%s", exc)
            print(f"antre serve: {exc}", file=sys.stderr)
            server.stop()
            return EXIT_ALREADY_RUNNING
    log.info("antre service for %s (%s) running; broker %s, database %s", cfg.office.name, cfg.office.id,
             cfg.mqtt.url, cfg.database.effective_url)
    if notify:
        notify("READY=1")
    stop.wait()
    log.info("stopping")
    if notify:
        notify("STOPPING=1")
    server.stop()
    return EXIT_ALREADY_RUNNING if conflict else 0
