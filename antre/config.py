"""Configuration: one TOML file, one typed section per component.

The file is validated once, at start-up, against the dataclasses below. An unknown
key or a bad value stops start-up with a :class:`~antre.errors.ConfigError` that
names the file, the key, what is allowed and, for typos, the nearest valid key::

    /etc/antre/antre.toml: [mqtt] unknown key 'usrname' (did you mean 'username'?)

Without a file the built-in defaults describe a sample office, Kantor Desa
Sukamaju, so ``antre serve`` runs with no configuration at all.

Each section is a frozen dataclass. A field may carry a validator
(``checked(default, check=fn)``) -- a small pure function that returns an error
message or ``None``. Secrets (:data:`SECRET_KEYS`, ``checked(..., secret=True)``)
are masked whenever the configuration is printed.

The core's tables are declared here: [office], [[services]], [[counters]], [mqtt],
[database], [queue], and the service's rules for the website (part of [web]). Each
app declares its own table next to its code (``kiosk/config.py``, ``counter/config.py``,
``display/config.py``, ``web/config.py``) as a :class:`Section`, listed under the
``antre.config`` entry points in pyproject.toml; :func:`tables` collects them, so the
core imports no app, and ``cfg.kiosk`` reads the kiosk's table.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import os
import re
import tomllib
import types
import typing
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Literal, get_args, get_origin
from urllib.parse import urlsplit

from antre import PROTOCOL_VERSION
from antre.errors import ConfigError
from antre.faq_text import seed_plan

DEFAULT_PATH = Path("/etc/antre/antre.toml")
ENV_VAR = "ANTRE_CONFIG"
# A second file whose [mqtt] table overrides the main one: the per-device credentials written by
# `antre broker setup`, so several components on one Pi each log in as themselves.
MQTT_ENV_VAR = "ANTRE_MQTT_FILE"
# Secrets are masked whenever the configuration is printed: these names, and fields marked
# ``checked(..., secret=True)`` (the apps' PINs and password hashes).
SECRET_KEYS = frozenset({"password", "key_password"})
MASK = "********"


# --------------------------------------------------------------------------
# Validators: small pure functions returning an error message or None.
# --------------------------------------------------------------------------

def slug(value: str) -> str | None:
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,31}", value):
        return "must be 1-32 characters of a-z, 0-9, '-' or '_', starting with a letter or digit"
    return None


def prefix_letter(value: str) -> str | None:
    if not re.fullmatch(r"[A-Z]", value):
        return "must be one capital letter A-Z"
    return None


def time_zone(value: str) -> str | None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return "must be an IANA time zone such as 'Asia/Jakarta', 'Asia/Makassar' or 'Asia/Jayapura'"
    return None


_HOURS = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)")


def opening_hours(value: str) -> str | None:
    if value == "closed":
        return None
    m = _HOURS.fullmatch(value)
    if not m or (int(m[1]), int(m[2])) >= (int(m[3]), int(m[4])):
        return "must be 'HH:MM-HH:MM' (opening before closing) or 'closed'"
    return None


def mqtt_url(value: str) -> str | None:
    parts = urlsplit(value)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        return "must look like 'mqtt://host:1883' or 'mqtts://host:8883'"
    try:
        parts.port
    except ValueError:
        return "has a bad port number"
    return None


def db_url(value: str) -> str | None:
    if value == "":
        return None
    if not re.match(r"^(sqlite|postgresql)(\+\w+)?://", value):
        return "must be a SQLAlchemy URL such as 'sqlite:////var/lib/antre/antre.db' or 'postgresql+psycopg://user@host/antre'"
    return None


_valid_mqtt_url, _valid_db_url = mqtt_url, db_url   # for functions whose arguments have these names


def positive(value: float) -> str | None:
    return None if value > 0 else "must be greater than 0"


def non_negative(value: float) -> str | None:
    return None if value >= 0 else "must be 0 or more"


def in_range(lo: float, hi: float):
    def check(value: float) -> str | None:
        return None if lo <= value <= hi else f"must be between {lo} and {hi}"
    return check


def login_names(value: list[str]) -> str | None:
    """Broker login names, as ``antre broker setup`` makes them."""
    bad = [v for v in value if not isinstance(v, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,31}", v)]
    return f"must be a list of broker login names (a-z, 0-9, '-', '_'), not {bad}" if bad else None


def non_empty(value: str) -> str | None:
    return None if value.strip() else "must not be empty"


def checked(default: Any = dataclasses.MISSING, *, check=None, default_factory: Any = dataclasses.MISSING,
            doc: str = "", secret: bool = False) -> Any:
    """A dataclass field with an optional validator and a one-line description; ``secret`` masks it
    when the configuration is printed."""
    kwargs: dict[str, Any] = {"metadata": {"check": check, "doc": doc, "secret": secret}}
    if default is not dataclasses.MISSING:
        kwargs["default"] = default
    if default_factory is not dataclasses.MISSING:
        kwargs["default_factory"] = default_factory
    return field(**kwargs)


# --------------------------------------------------------------------------
# The schema.
# --------------------------------------------------------------------------

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class OpeningHours:
    mon: str = checked("08:00-15:00", check=opening_hours)
    tue: str = checked("08:00-15:00", check=opening_hours)
    wed: str = checked("08:00-15:00", check=opening_hours)
    thu: str = checked("08:00-15:00", check=opening_hours)
    fri: str = checked("08:00-11:30", check=opening_hours)
    sat: str = checked("closed", check=opening_hours)
    sun: str = checked("closed", check=opening_hours)

    def for_weekday(self, weekday: int) -> tuple[tuple[int, int], tuple[int, int]] | None:
        """Opening and closing (hour, minute) for Monday=0 ... Sunday=6, or None when closed."""
        value = getattr(self, WEEKDAYS[weekday])
        if value == "closed":
            return None
        m = _HOURS.fullmatch(value)
        assert m is not None
        return (int(m[1]), int(m[2])), (int(m[3]), int(m[4]))


def iso_dates(value: list[str]) -> str | None:
    bad = []
    for v in value:
        try:
            date.fromisoformat(v)
            ok = bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", v))
        except (TypeError, ValueError):
            ok = False
        if not ok:
            bad.append(v)
    return f"must be a list of dates 'YYYY-MM-DD', not {bad}" if bad else None


@dataclass(frozen=True)
class OfficeConfig:
    id: str = checked("sukamaju", check=slug, doc="short id, used in MQTT topics")
    name: str = checked("Kantor Desa Sukamaju", check=non_empty)
    address: str = "Jl. Raya Sukamaju No. 1, Kecamatan Cibiru, Kabupaten Bandung"
    timezone: str = checked("Asia/Jakarta", check=time_zone)
    logo: str = checked("", doc="path to a PNG logo; empty for none")
    language: Literal["id", "en"] = "id"
    hours: OpeningHours = field(default_factory=OpeningHours)
    holidays: list[str] = checked(default_factory=list, check=iso_dates,
                                  doc="days the office is closed although its weekday is open (public holidays, "
                                      "cuti bersama), as 'YYYY-MM-DD'")

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


@dataclass(frozen=True)
class ServiceConfig:
    code: str = checked(check=slug)
    name: str = checked(check=non_empty)
    prefix: str = checked(check=prefix_letter)
    name_en: str = ""
    short_name: str = checked("", doc="a shorter name for the TV board (read from 5 m away); empty: the name")
    daily_quota: int = checked(0, check=non_negative, doc="tickets per day; 0 for no limit")
    requirements: list[str] = field(default_factory=list)
    active: bool = True
    default_minutes: float = checked(0.0, check=non_negative,
                                     doc="service time used for the estimate until today has data; 0 = [service] default")
    remote: bool = checked(True, doc="residents may take a number for this service from home (antre web)")


@dataclass(frozen=True)
class CounterConfig:
    id: str = checked(check=slug)
    name: str = checked(check=non_empty)
    services: list[str] = field(default_factory=list)
    number: int = checked(0, check=non_negative, doc="number spoken in announcements; 0 = taken from the name")
    devices: list[str] = checked(default_factory=list, check=login_names,
                                 doc="broker logins (counter devices) that may operate this counter; empty: "
                                     "any counter device whose presence names it (docs/security.md)")
    rating_kiosk: str = checked("", check=lambda v: login_names([v]) if v else None,
                                doc="broker login of this counter's rating-only kiosk: it may rate the tickets this "
                                    "counter completed without their rating code")


@dataclass(frozen=True)
class MqttConfig:
    url: str = checked("mqtt://localhost:1883", check=mqtt_url)
    username: str = ""
    password: str = ""
    client_id: str = checked("", doc="empty: a per-component default such as 'antre-service'")
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    keepalive: int = checked(30, check=in_range(5, 600))
    reconnect_max_delay: float = checked(10.0, check=positive)


@dataclass(frozen=True)
class DatabaseConfig:
    url: str = checked("", check=db_url, doc="empty: /var/lib/antre/antre.db, or ~/.local/share/antre/antre.db "
                                             "when /var/lib/antre does not exist")
    warn_free_mb: float = checked(200.0, check=non_negative,
                                  doc="staff are warned when the database's disk has less free space than this")
    reserve_mb: float = checked(20.0, check=non_negative,
                                doc="space kept in a reserve file next to the database, given back when the disk "
                                    "is full so the office can finish the day (0: none)")

    @property
    def effective_url(self) -> str:
        if self.url:
            return self.url
        system = Path("/var/lib/antre")
        if (system / "antre.db").exists() or (system.is_dir() and os.access(system, os.W_OK)):
            return f"sqlite:///{system / 'antre.db'}"
        data = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "antre"
        data.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{data / 'antre.db'}"


@dataclass(frozen=True)
class QueueConfig:
    """Settings of the queue service (``antre serve``)."""
    number_width: int = checked(3, check=in_range(1, 6), doc="digits in a ticket number: 3 gives A-012")
    default_service_minutes: float = checked(5.0, check=positive)
    enforce_hours: bool = checked(True, doc="refuse new tickets outside opening hours")
    recent_calls: int = checked(10, check=in_range(1, 50))
    rating_window_minutes: int = checked(60, check=in_range(1, 24 * 60),
                                         doc="how long after completion a ticket can be rated from the kiosk list")
    rating_code_required: bool = checked(False, doc="'rate' needs the ticket's rating code (printed on it) unless it "
                                                    "comes from the counter's rating kiosk; turn on once every "
                                                    "kiosk asks for the code (docs/protocol.md)")
    max_payload_bytes: int = checked(8192, check=in_range(256, 1_000_000))
    max_command_age: float = checked(5.0, check=non_negative,
                                     doc="seconds a command may arrive later than usual before it is refused as "
                                         "stale (0: never)")
    comment_max_chars: int = checked(500, check=in_range(0, 5000))


def clock_time(value: str) -> str | None:
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        return "must be a time 'HH:MM' such as '08:30'"
    return None


def weekdays(value: list[str]) -> str | None:
    bad = [d for d in value if d not in WEEKDAYS]
    if bad or not value:
        return f"must be a non-empty list of {', '.join(WEEKDAYS)}"
    return None


@dataclass(frozen=True)
class AppointmentSlotsConfig:
    """Bookable time slots of one service: every ``every_minutes`` from ``start`` until ``end``."""
    service: str = checked(check=slug)
    days: list[str] = checked(default_factory=lambda: ["mon", "tue", "wed", "thu"], check=weekdays)
    start: str = checked("08:00", check=clock_time)
    end: str = checked("12:00", check=clock_time, doc="no slot starts at or after this time")
    every_minutes: int = checked(30, check=in_range(5, 240))
    capacity: int = checked(2, check=in_range(1, 100), doc="bookings per slot")


@dataclass(frozen=True)
class WebRulesConfig:
    """The rules the queue service applies to what comes from the website: the core's part of the
    ``[web]`` table. The website adds its own options to it (``web/config.py``, ``WebConfig``)."""
    phone_daily_limit: int = checked(2, check=in_range(1, 20),
                                     doc="remote tickets (and bookings) per phone number per day")
    phone_slot_limit: int = checked(1, check=in_range(1, 100),
                                    doc="bookings one phone number may hold in one appointment slot")
    booking_days_ahead: int = checked(7, check=in_range(0, 60), doc="how many days ahead a slot can be booked")
    checkin_early_minutes: int = checked(30, check=in_range(0, 600), doc="check-in opens this long before the slot")
    checkin_late_minutes: int = checked(30, check=in_range(0, 600), doc="check-in closes this long after the slot")
    retention_days: int = checked(0, check=in_range(0, 90),
                                  doc="days after the ticket's or booking's day that names and phone numbers are "
                                      "kept; 0: deleted when the day is over")
    web_share: int = checked(30, check=in_range(0, 100),
                             doc="percent of each service's daily quota (of its ticket numbers, without a quota) "
                                 "that tickets and bookings from the web may take; the rest is kept for residents "
                                 "who walk in")
    appointments: list[AppointmentSlotsConfig] = field(default_factory=list)


def _check_appointments(cfg: "Config") -> None:
    codes = [s.code for s in cfg.services]
    for i, slots in enumerate(cfg.web.appointments):
        if slots.service not in codes:
            close = difflib.get_close_matches(slots.service, codes, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f" (services: {', '.join(codes)})"
            raise ConfigError(f"{cfg.source}: [[web.appointments]] #{i + 1} names unknown service '{slots.service}'{hint}")
        if slots.start >= slots.end:
            raise ConfigError(f"{cfg.source}: [[web.appointments]] for '{slots.service}': start {slots.start} must be "
                              f"before end {slots.end}")
        problem = slots_outside_hours(slots, cfg.office.hours)
        if problem:
            raise ConfigError(f"{cfg.source}: [[web.appointments]] for '{slots.service}': {problem}")


def slots_outside_hours(slots: AppointmentSlotsConfig, hours: OpeningHours) -> str | None:
    """Why some slot of ``slots`` would start while the office is closed, or None: every slot must start
    within ``[office.hours]`` of its weekday (a resident must never be given a time the door is shut)."""
    sh, sm = map(int, slots.start.split(":"))
    eh, em = map(int, slots.end.split(":"))
    starts = list(range(sh * 60 + sm, eh * 60 + em, slots.every_minutes))
    for day in slots.days:
        value = getattr(hours, day)
        if value == "closed":
            return (f"days include '{day}', but [office.hours] {day} = \"closed\"; remove '{day}' from days or "
                    "open the office that day")
        m = _HOURS.fullmatch(value)
        assert m is not None
        opens, closes = int(m[1]) * 60 + int(m[2]), int(m[3]) * 60 + int(m[4])
        outside = [t for t in starts if not opens <= t < closes]
        if outside:
            shown = ", ".join(f"{t // 60:02d}:{t % 60:02d}" for t in outside[:3]) + (" ..." if len(outside) > 3 else "")
            return (f"slot(s) {shown} on '{day}' start outside the opening hours {value}; every slot must start "
                    "while the office is open (change start/end, or [office.hours])")
    return None


# -------------------------------------------------------------------------- letters (e-administrasi)

LETTER_FIELD_TYPES = ("text", "long_text", "name", "nik", "kk", "date", "past_date", "choice", "phone", "number")
#: Placeholders a numbering pattern may use (antre/rules/letters.py fills them in).
NUMBER_PLACEHOLDERS = ("kode", "nomor", "kode_desa", "bulan_romawi", "bulan", "tahun")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def numbering_pattern(value: str) -> str | None:
    names = _PLACEHOLDER.findall(value)
    unknown = [n for n in names if n not in NUMBER_PLACEHOLDERS]
    if unknown:
        return f"uses unknown placeholder {{{unknown[0]}}} (allowed: {', '.join(NUMBER_PLACEHOLDERS)})"
    if "nomor" not in names:
        return "must contain {nomor}, the running number"
    if _PLACEHOLDER.sub("", value).count("{") or _PLACEHOLDER.sub("", value).count("}"):
        return "has an unmatched { or }"
    return None


def classification_code(value: str) -> str | None:
    return None if re.fullmatch(r"[0-9A-Za-z][0-9A-Za-z.\-]{0,19}", value) else \
        "must be a classification code such as '474.4' (letters, digits, dots)"


def paper_size(value: str) -> str | None:
    return None if value in ("A4", "F4") else "must be 'A4' or 'F4'"


@dataclass(frozen=True)
class LetterFieldConfig:
    """One thing the resident fills in for a letter. ``type`` decides the check (``nik``: 16 digits with its
    region and date of birth; ``name``: letters only; ``date``/``past_date``: a real date, not in the future
    for ``past_date``; ``choice``: one of ``choices``)."""
    name: str = checked(check=slug)
    label: str = checked(check=non_empty)
    label_en: str = ""
    type: Literal["text", "long_text", "name", "nik", "kk", "date", "past_date", "choice", "phone", "number"] = "text"
    required: bool = True
    choices: list[str] = field(default_factory=list)
    max_length: int = checked(100, check=in_range(1, 1000))
    hint: str = checked("", doc="a short example or explanation under the field")


@dataclass(frozen=True)
class LetterTypeConfig:
    """One kind of letter residents may request (the catalogue)."""
    code: str = checked(check=slug)
    name: str = checked(check=non_empty)
    name_en: str = ""
    purpose: str = checked("", doc="what the letter is for, in plain words")
    requirements: list[str] = field(default_factory=list)
    fields: list[LetterFieldConfig] = field(default_factory=list)
    days: int = checked(1, check=in_range(0, 60), doc="working days it usually takes; 0: the same day")
    cost: int = checked(0, check=non_negative, doc="rupiah; 0: free (gratis)")
    classification: str = checked("470", check=classification_code,
                                  doc="kode klasifikasi surat (Permendagri 83/2022), fills {kode}")
    numbering: str = checked("{kode}/{nomor}/{kode_desa}/{bulan_romawi}/{tahun}", check=numbering_pattern)
    sequence: str = checked("", doc="the running-number sequence: empty = one per classification code; a name "
                                    "(e.g. 'umum') shares one sequence among every type that names it")
    valid_days: int = checked(0, check=non_negative, doc="days the letter is valid; 0: no expiry")
    template: str = checked("", doc="template file in [letters] templates (empty: the built-in general letter)")
    body: str = checked("", doc="the sentence after the holder's details; {field} placeholders allowed")
    active: bool = True

    @property
    def sequence_key(self) -> str:
        return self.sequence or f"kode:{self.classification}"


@dataclass(frozen=True)
class SignerConfig:
    id: str = checked(check=slug)
    name: str = checked(check=non_empty)
    title: str = checked("Kepala Desa", check=non_empty)
    nip: str = checked("", doc="NIP, if the signer has one")


def _sample_letters() -> list["LetterTypeConfig"]:
    data = tomllib.loads((Path(__file__).with_name("letters_sample.toml")).read_text(encoding="utf-8"))
    return [_build(LetterTypeConfig, t, f"letters.types[{i}]", "antre/letters_sample.toml")
            for i, t in enumerate(data["types"])]


@dataclass(frozen=True)
class LettersConfig:
    """Letters (e-administrasi): the letterhead, numbering, signers, retention and the catalogue."""
    kabupaten: str = checked("Pemerintah Kabupaten Bandung", check=non_empty, doc="first line of the kop surat")
    kecamatan: str = checked("Kecamatan Cibiru", check=non_empty)
    desa: str = checked("Desa Sukamaju", check=non_empty)
    address: str = checked("Jl. Raya Sukamaju No. 1, Cibiru, Bandung 40614", check=non_empty)
    place: str = checked("Sukamaju", check=non_empty, doc="the place in the date line ('Sukamaju, 7 Desember 2026')")
    village_code: str = checked("2001", check=classification_code, doc="fills {kode_desa} in letter numbers")
    paper: str = checked("F4", check=paper_size)
    templates: str = checked("", doc="folder of HTML/CSS letter templates the office edits; empty: built-in")
    signers: list[SignerConfig] = field(default_factory=lambda: [
        SignerConfig(id="kades", name="Asep Sunandar", title="Kepala Desa Sukamaju")])
    retention_days: int = checked(365, check=in_range(1, 3650),
                                  doc="days after a request is closed (collected or cancelled) that its personal "
                                      "data is kept; then the register keeps type, number, date and a masked name")
    pickup_service: str = checked("", doc="queue service whose ticket the kiosk prints to collect a letter")
    kiosk_form: bool = checked(False, doc="the kiosk offers 'Ajukan surat': the letter forms, one question at a "
                                          "time with big keys, for residents without a phone")
    types: list[LetterTypeConfig] = field(default_factory=_sample_letters)

    def type(self, code: str) -> LetterTypeConfig | None:
        return next((t for t in self.types if t.code == code), None)


# --------------------------------------------------------------------------
# The apps' tables: each app declares its own, next to its code.
# --------------------------------------------------------------------------

ENTRY_POINT_GROUP = "antre.config"


@dataclass(frozen=True)
class Section:
    """One table of the file that an app declares next to its code (``kiosk/config.py``, ...), the
    way PiKVM's plugins declare their options.

    The app's module holds ``SECTION = Section("kiosk", KioskConfig, ...)`` and pyproject.toml lists it
    under ``[project.entry-points."antre.config"]``, so the core finds it without importing any app.
    ``schema`` is a frozen dataclass of :func:`checked` fields; ``position`` orders the tables after the
    core's in ``antre config sample``; ``check`` cross-checks the table against the rest of the
    configuration (raising :class:`ConfigError`); ``weak_secrets`` lists, one sentence each, the table's
    secrets anyone could guess (``antre config check`` warns about them). A table the core also declares
    (``[web]``: :class:`WebRulesConfig`) is extended: the app's schema must subclass the core's.
    """
    name: str
    schema: type
    position: int = 100
    check: Callable[["Config"], None] | None = None
    weak_secrets: Callable[[Any], list[str]] | None = None


# The core's part of a table an app extends.
CORE_SECTIONS = (Section("web", WebRulesConfig, position=40, check=_check_appointments),)


@dataclass(frozen=True)
class _Table:
    name: str
    schema: type
    position: int
    checks: tuple[Callable[["Config"], None], ...]
    weak_secrets: tuple[Callable[[Any], list[str]], ...]


@functools.cache
def tables() -> tuple[_Table, ...]:
    """The apps' tables, in file order: the core's parts plus the sections the installed apps declare
    (entry points of the group ``antre.config``)."""
    declared: list[Section] = list(CORE_SECTIONS)
    found = entry_points(group=ENTRY_POINT_GROUP)
    if not found:
        raise ConfigError("no app declares a configuration table: the installed antre package's metadata is "
                          "missing or older than pyproject.toml; run scripts/bootstrap (or pip install -e .) again")
    for ep in sorted(found, key=lambda e: e.name):
        try:
            section = ep.load()
        except ImportError as exc:
            raise ConfigError(f"the [{ep.name}] table's declaration ({ep.value}) cannot be imported: {exc}; the "
                              "installed antre package is older than this checkout: run scripts/bootstrap "
                              "(or pip install -e .) again") from None
        if not isinstance(section, Section) or not dataclasses.is_dataclass(section.schema):
            raise TypeError(f"entry point {ep.name} = {ep.value} is not an antre.config.Section of a dataclass")
        declared.append(section)
    merged: dict[str, _Table] = {}
    for s in declared:
        before = merged.get(s.name)
        if before is not None and not issubclass(s.schema, before.schema):
            raise TypeError(f"two declarations of the [{s.name}] table: {s.schema.__qualname__} must extend "
                            f"{before.schema.__qualname__}")
        merged[s.name] = _Table(
            s.name, s.schema, s.position,
            (before.checks if before else ()) + ((s.check,) if s.check else ()),
            (before.weak_secrets if before else ()) + ((s.weak_secrets,) if s.weak_secrets else ()))
    return tuple(sorted(merged.values(), key=lambda t: t.position))


@dataclass(frozen=True)
class FaqEntry:
    """One answer of the office's FAQ: the ways residents ask it, and the answer (plain Indonesian)."""
    # Texts are checked by the seed, not here (antre/faq_text.py seed_plan): a bad entry is a warning.
    answer: str = checked()
    questions: list[str] = checked(default_factory=list)
    links: list[str] = field(default_factory=list)


def topic_list(value: list[str]) -> str | None:
    if not value:
        return "needs at least one topic"
    bad = [v for v in value if not isinstance(v, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,31}", v)]
    if bad:
        return f"topics must be 1-32 characters of a-z, 0-9, '-' or '_' (not {', '.join(map(str, bad))})"
    if len(set(value)) != len(value):
        return "a topic is listed twice"
    return None


@dataclass(frozen=True)
class ComplaintsConfig:
    """Complaints, suggestions and requests for information (antre/rules/complaints.py, docs/complaints.md)."""
    topics: list[str] = checked(default_factory=lambda: ["pelayanan", "infrastruktur", "bansos", "kesehatan",
                                                         "pendidikan", "keamanan", "lingkungan", "lainnya"],
                                check=topic_list, doc="topics residents choose from (the office's own list)")
    verify_days: int = checked(3, check=in_range(1, 30), doc="working days to verify a new complaint")
    answer_days: int = checked(10, check=in_range(1, 90), doc="working days from submission to the published answer")
    max_text: int = checked(2000, check=in_range(200, 3000), doc="characters a resident may write at once")
    max_photo_mb: float = checked(8.0, check=in_range(0.1, 25.0), doc="largest photo a resident may upload (MB)")
    photo_dir: str = checked("", doc="folder for complaint photos (resized, metadata stripped); empty: "
                                     "'complaint-photos' next to the database")
    retention_days: int = checked(730, check=in_range(30, 3650),
                                  doc="days after a complaint is closed that the resident's contact and text are kept")
    sms_daily_limit: int = checked(3, check=in_range(1, 50),
                                   doc="complaints one phone number may file by SMS (ADUAN) a day")
    message_office_daily: int = checked(100, check=in_range(1, 10000),
                                        doc="complaints the office takes by message (SMS, Telegram, WhatsApp) a "
                                            "day in all; past it senders are sent to the website or the office")


def api_url(value: str) -> str | None:
    if not re.fullmatch(r"https?://[^\s/]+(/[^\s]*)?", value) or value.endswith("/"):
        return "must be an address such as 'https://api.telegram.org' (no '/' at the end)"
    return None


def bot_name(value: str) -> str | None:
    if value and not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{3,31}", value):
        return "must be the bot's user name without '@' (5-32 letters, digits or '_'), e.g. 'KantorSukamajuBot'"
    return None


def wa_number(value: str) -> str | None:
    if value and not re.fullmatch(r"[1-9]\d{7,14}", value):
        return ("must be the number in international form with digits only, no '+' or '0' first "
                "(e.g. '6281234567890')")
    return None


@dataclass(frozen=True)
class TelegramConfig:
    """The Telegram bot channel (docs/channels.md): optional, off by default, needs internet."""
    enabled: bool = checked(False, doc="send notifications and answers through a Telegram bot")
    token: str = checked("", secret=True, doc="the bot's token from @BotFather ('123456:ABC-...')")
    bot_name: str = checked("", check=bot_name, doc="the bot's user name (without '@'), for t.me links")
    api_base: str = checked("https://api.telegram.org", check=api_url, doc="the Bot API's address")
    poll_seconds: int = checked(25, check=in_range(0, 50), doc="long-polling timeout of getUpdates (seconds)")
    daily_budget: int = checked(2000, check=in_range(0, 100000), doc="messages the office sends a day at most")
    chat_daily_limit: int = checked(20, check=in_range(1, 1000), doc="messages to one chat a day at most")


@dataclass(frozen=True)
class WhatsAppConfig:
    """The WhatsApp Cloud API channel (docs/channels.md): optional, off by default, needs internet, a
    WhatsApp Business account and a public HTTPS address for its webhook."""
    enabled: bool = checked(False, doc="send notifications and answers through the WhatsApp Cloud API")
    token: str = checked("", secret=True, doc="the access token (a system user's) sent as 'Bearer'")
    phone_number_id: str = checked("", check=lambda v: None if not v or v.isdigit() else "must be digits only",
                                   doc="the business phone number's ID (not the number itself)")
    api_base: str = checked("https://graph.facebook.com", check=api_url, doc="the Graph API's address")
    api_version: str = checked("v21.0", check=lambda v: None if re.fullmatch(r"v\d+\.\d+", v)
                               else "must look like 'v21.0'", doc="the Graph API version in the path")
    app_secret: str = checked("", secret=True, doc="the app secret: checks X-Hub-Signature-256 of the webhook")
    verify_token: str = checked("", secret=True, doc="the webhook's verify token (chosen by you, typed into "
                                                     "the app's webhook settings)")
    listen: str = checked("127.0.0.1:8091", check=lambda v: None if re.fullmatch(r"[^\s:]+:\d{1,5}", v)
                          else "must be 'host:port'", doc="where the webhook listens (behind an HTTPS proxy)")
    template: str = checked("", doc="an approved template's name, sent when the 24-hour window is closed; "
                                    "empty: such messages are not sent")
    template_language: str = checked("id", doc="the template's language code")
    daily_budget: int = checked(1000, check=in_range(0, 100000), doc="messages the office sends a day at most")
    number_daily_limit: int = checked(10, check=in_range(1, 1000), doc="messages to one number a day at most")


@dataclass(frozen=True)
class NewsConfig:
    """Village information (antre/rules/news.py): pictures, and the TV's slides between calls (docs/display.md)."""
    picture_dir: str = checked("", doc="folder for news pictures (resized, metadata stripped); empty: 'news-pictures' "
                                       "next to the database")
    max_picture_mb: float = checked(8.0, check=in_range(0.1, 25.0), doc="largest picture the kasi may upload (MB)")
    slides: bool = checked(True, doc="the TV shows announcements as slides between calls (the kasi can change it "
                                     "in the console)")
    slide_seconds: int = checked(12, check=in_range(5, 60), doc="seconds each slide stays on the TV")


@dataclass(frozen=True)
class NotifyConfig:
    """Messages to residents (antre/rules/notify.py) and the SMS channel through gammu-smsd (docs/sms.md)."""
    sms: bool = checked(False, doc="send and receive SMS through gammu-smsd (a USB GSM modem)")
    spool: str = checked("/var/spool/gammu", doc="gammu-smsd's 'files' folders: inbox/, outbox/, sent/, error/ "
                                                 "under this folder (as in its smsdrc)")
    poll_seconds: float = checked(2.0, check=in_range(0.05, 60.0), doc="how often the spool is looked at (seconds)")
    near_ahead: int = checked(3, check=in_range(1, 50),
                              doc="'giliran Anda sebentar lagi' is sent when this many people or fewer are ahead")
    daily_budget: int = checked(200, check=in_range(0, 100000), doc="SMS (parts) the office sends a day at most")
    number_daily_limit: int = checked(10, check=in_range(1, 1000), doc="SMS (parts) to one number a day at most")
    cost_per_sms: int = checked(0, check=non_negative, doc="what one SMS costs (rupiah), for the staff's view")
    retention_days: int = checked(0, check=in_range(0, 90),
                                  doc="days after their day that phone numbers in the outbox are kept; 0: deleted "
                                      "when the day is over")
    reminder_day_before: bool = checked(True, doc="remind a booking 24 hours before its slot")
    reminder_hour_before: bool = checked(True, doc="remind a booking an hour before its slot")
    max_attempts: int = checked(5, check=in_range(1, 20), doc="hand-offs of one message before it is failed")
    retry_seconds: float = checked(60.0, check=in_range(0.1, 86400.0),
                                   doc="wait before the first retry (seconds); doubled after each failure")
    delivery_reports: bool = checked(False, doc="ask the network for SMS delivery reports (gammu-smsd's "
                                                "DeliveryReport = sms: read from its inbox, then deleted)")
    smsd_log: str = checked("", doc="no longer used: delivery reports are read from gammu-smsd's inbox, "
                                    "not its log (kept so older settings files still load)")
    request_timeout: float = checked(20.0, check=in_range(1.0, 120.0),
                                     doc="an internet channel's HTTP request waits this long (seconds)")
    whatsapp_number: str = checked("", check=wa_number,
                                   doc="the office's WhatsApp number for click-to-chat links (wa.me) on the "
                                       "portal and the ticket, answered by a person; empty: no link")
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    whatsapp: WhatsAppConfig = field(default_factory=WhatsAppConfig)
    question_daily_limit: int = checked(5, check=in_range(1, 100),
                                        doc="questions one sender (phone number, website address) may leave for "
                                            "the staff a day")
    question_office_daily: int = checked(300, check=in_range(1, 100000),
                                         doc="questions the staff inbox takes a day from everyone together")
    question_kiosk_daily: int = checked(100, check=in_range(1, 100000),
                                        doc="questions one kiosk (its residents share the screen) may leave for "
                                            "the staff a day, so one kiosk cannot use up question_office_daily")
    question_retention_days: int = checked(60, check=in_range(1, 730),
                                           doc="days a resident's question (text, number, answer) is kept")
    faq: list[FaqEntry] = field(default_factory=list)


@dataclass(frozen=True)
class StaffConfig:
    """Staff accounts, sessions and the audit log (the staff console; antre/rules/staff.py)."""
    session_hours: float = checked(10.0, check=in_range(0.25, 24 * 7),
                                   doc="a console session ends this long after signing in (and at signing out)")
    lockout_failures: int = checked(5, check=in_range(1, 100),
                                    doc="wrong passwords in a row that lock an account for lockout_minutes")
    lockout_minutes: int = checked(15, check=in_range(1, 24 * 60), doc="how long a locked account waits")
    audit_retention_days: int = checked(730, check=in_range(30, 3650),
                                        doc="days the audit log is kept; older entries are deleted at a new day")


@dataclass(frozen=True)
class ReportConfig:
    """The signature block of the printed report (``antre report --format pdf``, the staff page's PDF)."""
    place: str = checked("", doc="place before the date on the signature line; empty: the office name without "
                                 "'Kantor Desa'")
    signer_name: str = checked("", doc="name under the signature; empty: a dotted line to write it by hand")
    signer_title: str = checked("Kepala Seksi Pelayanan", check=non_empty,
                                doc="the signer's position (jabatan), e.g. 'Kepala Desa Sukamaju' or 'Lurah'")
    signer_nip: str = checked("", doc="the signer's staff number; empty: no number line (village staff often "
                                      "have none)")
    signer_nip_label: str = checked("NIP", check=non_empty, doc="what the number is called: 'NIP', 'NIPD', 'NIAPD'")


@dataclass(frozen=True)
class Config:
    office: OfficeConfig = field(default_factory=OfficeConfig)
    services: list[ServiceConfig] = field(default_factory=lambda: list(SAMPLE_SERVICES))
    counters: list[CounterConfig] = field(default_factory=lambda: list(SAMPLE_COUNTERS))
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    queue: QueueConfig = field(default_factory=QueueConfig)
    # The apps' tables ([kiosk], [counter], [display], [web]), by name: read them as cfg.kiosk and so on.
    apps: dict[str, Any] = field(default_factory=lambda: {t.name: t.schema() for t in tables()},
                                 metadata={"internal": True})
    letters: LettersConfig = field(default_factory=LettersConfig)
    complaints: ComplaintsConfig = field(default_factory=ComplaintsConfig)
    news: NewsConfig = field(default_factory=NewsConfig)
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    staff: StaffConfig = field(default_factory=StaffConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    source: str = field(default="<built-in defaults>", compare=False, metadata={"internal": True})

    def __getattr__(self, name: str) -> Any:
        # Only called for a name that is not a field or method: an app's table, such as cfg.kiosk.
        apps = self.__dict__.get("apps")
        if apps is not None and name in apps:
            return apps[name]
        raise AttributeError(f"the configuration has no table {name!r}")

    def app(self, name: str) -> Any | None:
        """The app's table called ``name`` (``"kiosk"``, ...), or None when no app declares it."""
        return self.apps.get(name)

    def service(self, code: str) -> ServiceConfig | None:
        return next((s for s in self.services if s.code == code), None)

    def counter_by_id(self, counter_id: str) -> CounterConfig | None:
        return next((c for c in self.counters if c.id == counter_id), None)

    @property
    def base_topic(self) -> str:
        return f"antre/v{PROTOCOL_VERSION}/{self.office.id}"

    def replace(self, **sections: Any) -> "Config":
        """A copy with some tables replaced, e.g. ``cfg.replace(mqtt=...)`` or ``cfg.replace(kiosk=...)``."""
        apps = {name: sections.pop(name) for name in list(sections) if name in self.apps}
        if apps:
            sections["apps"] = self.apps | apps
        return dataclasses.replace(self, **sections)


SAMPLE_SERVICES = (
    ServiceConfig(
        code="adminduk", prefix="A", name="Administrasi Kependudukan (KTP/KK)", short_name="KTP dan KK",
        name_en="Population records (ID card, family card)", daily_quota=80,
        requirements=["KTP asli", "Kartu Keluarga (KK) asli", "Surat pengantar RT/RW"],
    ),
    ServiceConfig(
        code="surat", prefix="B", name="Surat Keterangan (domisili, usaha, nikah)", short_name="Surat Keterangan",
        name_en="Letters (domicile, business, marriage)", daily_quota=100,
        requirements=["KTP", "KK", "Surat pengantar RT/RW"],
    ),
    ServiceConfig(
        code="umum", prefix="C", name="Pengaduan dan Layanan Lainnya", short_name="Pengaduan dan Lainnya",
        name_en="Complaints and other services", daily_quota=0,
        requirements=["KTP"],
    ),
)

SAMPLE_COUNTERS = (
    CounterConfig(id="loket-1", name="Loket 1", number=1, services=["adminduk"]),
    CounterConfig(id="loket-2", name="Loket 2", number=2, services=["adminduk", "surat"]),
    CounterConfig(id="loket-3", name="Loket 3", number=3, services=["surat", "umum"]),
)


# --------------------------------------------------------------------------
# Loading and validation.
# --------------------------------------------------------------------------

def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return " or ".join(repr(a) for a in get_args(tp))
    if origin is list:
        return f"a list of {_type_name(get_args(tp)[0])}"
    if origin is dict:
        return "a table"
    if dataclasses.is_dataclass(tp):
        return "a table"
    return {str: "a string", int: "a whole number", float: "a number", bool: "true or false"}.get(tp, str(tp))


def _build(cls: type, data: Any, where: str, source: str) -> Any:
    """Builds dataclass ``cls`` from a TOML table, raising ConfigError on any problem."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: '{where}' must be a table" if where else f"{source}: the top level must be a table")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in _fields(cls)}
    apps = {t.name: t for t in tables()} if cls is Config else {}
    for key in data:
        if key not in fields and key not in apps:
            allowed = _names(cls)
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else f" (allowed: {', '.join(allowed)})"
            raise ConfigError(f"{source}: {_label(where)}unknown key '{key}'{hint}")
    kwargs: dict[str, Any] = {}
    if apps:
        kwargs["apps"] = {name: _build(t.schema, data.get(name, {}), name, source) for name, t in apps.items()}
    for name, f in fields.items():
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(f"{source}: {_label(where)}missing required key '{name}'")
            continue
        key = f"{where}.{name}" if where else name
        value = _convert(hints[name], data[name], key, source)
        check = f.metadata.get("check")
        if check is not None:
            problem = check(value)
            if problem:
                shown = MASK if _secret(f) else repr(value)
                raise ConfigError(f"{source}: '{key}' = {shown} {problem}")
        kwargs[name] = value
    return cls(**kwargs)


def validate_table(cls: type, data: dict[str, Any], where: str, source: str = "konsol petugas") -> Any:
    """One table checked exactly as the configuration file's ``[where]`` is: for settings edited elsewhere
    (the staff console's office calendar and services) that must obey the same schema. Raises ConfigError."""
    return _build(cls, data, where, source)


def _names(cls: type) -> list[str]:
    """The keys a table allows, in file order; at the top level the apps' tables stand where the
    ``apps`` field is (after [queue], before [letters])."""
    if cls is not Config:
        return [f.name for f in _fields(cls)]
    names: list[str] = []
    for f in dataclasses.fields(cls):
        if f.name == "apps":
            names += [t.name for t in tables()]
        elif not f.metadata.get("internal"):
            names.append(f.name)
    return names


def _fields(cls: type) -> list[dataclasses.Field]:
    """The fields of a table, in file order: a table that extends another (the website's ``WebConfig``
    extends the core's ``WebRulesConfig``) lists its own options first."""
    own = cls.__dict__.get("__annotations__", {})
    fields = [f for f in dataclasses.fields(cls) if not f.metadata.get("internal")]
    return sorted(fields, key=lambda f: f.name not in own)


def _secret(f: dataclasses.Field) -> bool:
    return f.name in SECRET_KEYS or bool(f.metadata.get("secret"))


def _label(where: str) -> str:
    return f"[{where}] " if where else ""


def _convert(tp: Any, value: Any, key: str, source: str) -> Any:
    origin = get_origin(tp)
    bad = ConfigError(f"{source}: '{key}' must be {_type_name(tp)}, not {value!r}")
    if origin is Literal:
        if value not in get_args(tp):
            raise bad
        return value
    if origin is list:
        if not isinstance(value, list):
            raise bad
        (item,) = get_args(tp)
        return [_convert(item, v, f"{key}[{i}]", source) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise bad
        _, vt = get_args(tp)
        return {str(k): _convert(vt, v, f"{key}.{k}", source) for k, v in value.items()}
    if origin in (types.UnionType, typing.Union):
        raise TypeError("unions are not supported in the config schema")
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, key, source)
    if tp is bool:
        if not isinstance(value, bool):
            raise bad
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise bad
        return value
    raise TypeError(f"unsupported config type {tp!r}")


#: The requirements of all services together at most (JSON bytes, UTF-8): they go to every device in the retained
#: state, and twice in ``office_settings`` (as the kasi set them and as in the file), each one MQTT message under
#: the broker's 64 KiB (26 services of 20 lines of 200 characters were ~400 000 bytes).
REQUIREMENTS_BYTES = 12_000
#: Lines of requirements a service may have (the kasi's office_set, the console's form) and a letter type may have
#: (letter_type_update, the catalogue form), each line at most :data:`REQUIREMENT_CHARS` characters.
SERVICE_REQUIREMENTS = 30
LETTER_REQUIREMENTS = 20
REQUIREMENT_CHARS = 200


def requirements_bytes(lists: typing.Iterable[typing.Iterable[str]]) -> int:
    """What the services' requirements (one list per service) take in a reply, measured as :data:`REQUIREMENTS_BYTES`."""
    return sum(len(json.dumps(list(r), ensure_ascii=False).encode()) for r in lists)


def _cross_check(cfg: Config) -> None:
    src = cfg.source
    if not cfg.services:
        raise ConfigError(f"{src}: at least one [[services]] entry is needed")
    if not cfg.counters:
        raise ConfigError(f"{src}: at least one [[counters]] entry is needed")
    for attr in ("code", "prefix"):
        seen: set[str] = set()
        for s in cfg.services:
            v = getattr(s, attr)
            if v in seen:
                raise ConfigError(f"{src}: two services have {attr} '{v}'; each needs its own")
            seen.add(v)
    size = requirements_bytes(s.requirements for s in cfg.services)
    if size > REQUIREMENTS_BYTES:
        raise ConfigError(f"{src}: the services' requirements are {size} bytes together; at most {REQUIREMENTS_BYTES} "
                          f"(they go to every device in one message): shorten them")
    ids: set[str] = set()
    codes = [s.code for s in cfg.services]
    for c in cfg.counters:
        if c.id in ids:
            raise ConfigError(f"{src}: two counters have id '{c.id}'; each needs its own")
        ids.add(c.id)
        if not c.services:
            raise ConfigError(f"{src}: counter '{c.id}' serves no services")
        for code in c.services:
            if code not in codes:
                close = difflib.get_close_matches(code, codes, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else f" (services: {', '.join(codes)})"
                raise ConfigError(f"{src}: counter '{c.id}' serves unknown service '{code}'{hint}")
    for table in tables():
        for check in table.checks:
            check(cfg)
    _check_channels(cfg)


def _check_channels(cfg: Config) -> None:
    """An internet channel switched on needs what it cannot work without, said in plain words."""
    src, tg, wa = cfg.source, cfg.notify.telegram, cfg.notify.whatsapp
    if tg.enabled and not re.fullmatch(r"\d+:[A-Za-z0-9_-]{20,}", tg.token):
        raise ConfigError(f"{src}: [notify.telegram] enabled = true needs 'token', the bot's token from "
                          "@BotFather (it looks like '123456789:AAH...'; docs/channels.md)")
    if wa.enabled:
        missing = [k for k in ("token", "phone_number_id", "app_secret", "verify_token") if not getattr(wa, k)]
        if missing:
            raise ConfigError(f"{src}: [notify.whatsapp] enabled = true needs {', '.join(missing)} (from the "
                              "app's WhatsApp settings in Meta's developer dashboard; docs/channels.md)")


def faq_warnings(cfg: Config) -> list[str]:
    """One sentence per ``[[notify.faq]]`` entry the first seed would leave out (the console's rules,
    antre/faq_text.py): ``antre config check`` prints them as warnings. Never an error: the entries are read
    once, and the queue must not stop over an FAQ text (docs/sms.md)."""
    _taken, skipped = seed_plan((list(e.questions), e.answer, list(e.links)) for e in cfg.notify.faq)
    return [s.sentence() for s in skipped]


def _check_letters(cfg: Config) -> None:
    src, letters = cfg.source, cfg.letters
    seen: set[str] = set()
    for t in letters.types:
        if t.code in seen:
            raise ConfigError(f"{src}: two [[letters.types]] have code '{t.code}'; each needs its own")
        seen.add(t.code)
        names: set[str] = set()
        for f in t.fields:
            if f.name in names:
                raise ConfigError(f"{src}: letter type '{t.code}' has two fields named '{f.name}'")
            names.add(f.name)
            if (f.type == "choice") != bool(f.choices):
                raise ConfigError(f"{src}: letter type '{t.code}', field '{f.name}': 'choices' go with type "
                                  f"'choice' (and it needs them)")
        if not any(f.type == "nik" for f in t.fields) or not any(f.type == "name" for f in t.fields):
            raise ConfigError(f"{src}: letter type '{t.code}' needs a field of type 'name' and one of type 'nik' "
                              f"(the holder of the letter)")
    ids = [s.id for s in letters.signers]
    if not ids or len(set(ids)) != len(ids):
        raise ConfigError(f"{src}: [[letters.signers]] needs at least one signer, each with its own id")
    codes = [s.code for s in cfg.services]
    if letters.pickup_service and letters.pickup_service not in codes:
        close = difflib.get_close_matches(letters.pickup_service, codes, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else f" (services: {', '.join(codes)})"
        raise ConfigError(f"{src}: [letters] pickup_service '{letters.pickup_service}' is not a service{hint}")


def from_dict(data: dict[str, Any], source: str = "<dict>") -> Config:
    """Validates a parsed TOML document and returns the effective Config."""
    cfg = _build(Config, data, "", source)
    cfg = dataclasses.replace(cfg, source=source)
    _cross_check(cfg)
    _check_letters(cfg)
    return cfg


def load(path: str | os.PathLike[str] | None = None) -> Config:
    """Loads the configuration.

    ``path`` wins; then the ``ANTRE_CONFIG`` environment variable; then
    ``/etc/antre/antre.toml`` if it exists; otherwise the built-in defaults.
    An explicitly named file that does not exist is an error. When ``ANTRE_MQTT_FILE``
    names a file, its ``[mqtt]`` table overrides the main file's (per-device credentials).
    """
    explicit = path is not None or bool(os.environ.get(ENV_VAR))
    p = Path(path if path is not None else os.environ.get(ENV_VAR) or DEFAULT_PATH)
    if p.exists():
        data, source = _read_toml(p), str(p)
    elif explicit:
        raise ConfigError(f"{p}: configuration file not found")
    else:
        data, source = {}, "<built-in defaults>"
    overlay = os.environ.get(MQTT_ENV_VAR)
    if overlay:
        extra = _read_toml(Path(overlay))
        unknown = set(extra) - {"mqtt"}
        if unknown:
            raise ConfigError(f"{overlay}: only an [mqtt] table belongs here, not {', '.join(sorted(unknown))}")
        mqtt = dict(data.get("mqtt", {})) if isinstance(data.get("mqtt", {}), dict) else {}
        data = data | {"mqtt": mqtt | extra.get("mqtt", {})}
        source = f"{source} + {overlay}"
    return from_dict(data, source)


def _read_toml(p: Path) -> dict[str, Any]:
    try:
        with p.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{p}: configuration file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read: {exc.strerror}") from None


# --------------------------------------------------------------------------
# Printing the effective configuration (secrets masked).
# --------------------------------------------------------------------------

def as_dict(cfg: Any, *, mask: bool = True) -> Any:
    if dataclasses.is_dataclass(cfg):
        out = {}
        fields = {f.name: f for f in _fields(type(cfg))}
        for name in _names(type(cfg)) if isinstance(cfg, Config) else fields:
            v = getattr(cfg, name)
            f = fields.get(name)
            out[name] = MASK if (mask and f is not None and _secret(f) and v) else as_dict(v, mask=mask)
        return out
    if isinstance(cfg, list):
        return [as_dict(v, mask=mask) for v in cfg]
    if isinstance(cfg, dict):
        return {k: as_dict(v, mask=mask) for k, v in cfg.items()}
    return cfg


def to_toml(cfg: Config, *, mask: bool = True) -> str:
    """Renders the effective configuration as TOML (secrets masked by default)."""
    data = as_dict(cfg, mask=mask)
    lines: list[str] = []

    def scalar(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, list):
            return "[" + ", ".join(scalar(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{ " + ", ".join(f'"{k}" = {scalar(x)}' for k, x in v.items()) + " }"
        raise TypeError(v)

    def table(name: str, d: dict[str, Any], header: str) -> None:
        simple = {k: v for k, v in d.items()
                  if not isinstance(v, dict) and not (isinstance(v, list) and v and isinstance(v[0], dict))}
        lines.append(header)
        for k, v in simple.items():
            lines.append(f"{k} = {scalar(v)}")
        lines.append("")
        for k, v in d.items():
            if isinstance(v, dict) and k not in simple:
                table(f"{name}.{k}", v, f"[{name}.{k}]")
            elif isinstance(v, list) and v and isinstance(v[0], dict):
                for item in v:
                    table(f"{name}.{k}", item, f"[[{name}.{k}]]")

    for name, section in data.items():
        if isinstance(section, list):
            for item in section:
                table(name, item, f"[[{name}]]")
        else:
            table(name, section, f"[{name}]")
    return "\n".join(lines).rstrip() + "\n"


def with_overrides(cfg: Config, *, mqtt_url: str | None = None, db_url: str | None = None) -> Config:
    """``cfg`` with the broker and/or database URL replaced (the ``--mqtt-url`` / ``--db-url`` flags),
    checked like the file's values."""
    sections: dict[str, Any] = {}
    if mqtt_url:
        problem = _valid_mqtt_url(mqtt_url)
        if problem:
            raise ConfigError(f"--mqtt-url {mqtt_url!r} {problem}")
        sections["mqtt"] = dataclasses.replace(cfg.mqtt, url=mqtt_url)
    if db_url:
        problem = _valid_db_url(db_url)
        if problem:
            raise ConfigError(f"--db-url {db_url!r} {problem}")
        sections["database"] = dataclasses.replace(cfg.database, url=db_url)
    return cfg.replace(**sections) if sections else cfg


def load_defaults() -> Config:
    """The built-in sample office, ignoring any file."""
    return from_dict({}, "<built-in defaults>")
