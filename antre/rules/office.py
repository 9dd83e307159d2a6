"""What a Kasi Pelayanan changes week to week, kept by the service: the office calendar (holidays and special
closing days, added to ``[office] holidays`` of the file) and, per service, whether it is on and its
requirements text.

A plug-in of :class:`~antre.rules.queue.QueueService`. The settings are one JSON document in the ``meta`` table
(key ``office.settings``), changed only by ``office_set`` from a signed-in kasi (audited in the same
transaction), and laid over the configuration file's values: every value is checked by the very schema of
the TOML file (:func:`antre.config.validate_table` with :class:`~antre.config.OfficeConfig`'s ``holidays``
and :class:`~antre.config.ServiceConfig`), so the console cannot store what the file could not hold. What an
installer sets once (services' names, prefixes, quotas, counters, opening hours) stays in the file.

Effects, through the queue's configuration (``q.cfg``, replaced as a whole):

- a closing day: a holiday as those of the file (:mod:`antre.opening`): no tickets that day when opening
  hours are enforced (``office_closed``; the state says ``open: false``, ``holiday: true``), no appointment
  slots that day;
- a service switched off: ``service_inactive`` for new tickets, remote numbers and bookings; the TV and
  kiosk show it as off (its ``active`` in the state);
- requirements: in the state (kiosk, TV, the website's service page).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable

from antre.config import (REQUIREMENT_CHARS, REQUIREMENTS_BYTES, SERVICE_REQUIREMENTS, ConfigError, OfficeConfig,
                          ServiceConfig, requirements_bytes, validate_table)
from antre.errors import BadRequest
from antre.rules.outcome import Outcome
from antre.rules.staff import OFFICE_ROLES, audit, authenticate, web_device
from antre.storage.models import Meta

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from antre.rules.queue import QueueService

log = logging.getLogger(__name__)

META_KEY = "office.settings"
MAX_CLOSED_DAYS = 200
MAX_REQUIREMENTS = SERVICE_REQUIREMENTS
MAX_REQUIREMENT_CHARS = REQUIREMENT_CHARS


class OfficeRules:
    """The weekly settings of one :class:`QueueService`: ``office_set`` and the read-only ``office_settings``."""

    def __init__(self, q: "QueueService"):
        self.q = q
        self.file_cfg = q.cfg   # the configuration file's values, under the console's
        self.settings: dict[str, Any] = {"holidays": [], "services": {}}
        try:
            with q.sessions() as s:
                meta = s.get(Meta, META_KEY)
                if meta is not None:
                    self.settings = self._checked(json.loads(meta.value))
        except Exception:  # noqa: BLE001 - a settings document that no longer fits the file: the file's values
            log.exception("the console's office settings could not be applied; using the configuration file's")
        self._apply(self.settings)

    def handlers(self) -> dict[str, Callable[..., Outcome]]:
        return {"office_set": self.office_set, "office_settings": self.office_settings}

    # ------------------------------------------------------------------ checking and applying

    def _checked(self, settings: dict[str, Any]) -> dict[str, Any]:
        """The settings, each value checked by the configuration file's schema. Raises BadRequest."""
        try:
            office = validate_table(OfficeConfig, {"holidays": list(settings.get("holidays") or [])}, "office")
            holidays = sorted(set(office.holidays))
            services = {}
            by_code = {s.code: s for s in self.file_cfg.services}
            for code, change in (settings.get("services") or {}).items():
                svc = by_code.get(code)
                if svc is None:
                    raise BadRequest("unknown_service", f"unknown service '{code}'")
                table = dataclasses.asdict(svc) | {k: v for k, v in change.items() if k in ("active", "requirements")}
                checked = validate_table(ServiceConfig, table, f"services[{list(by_code).index(code)}]")
                if len(checked.requirements) > MAX_REQUIREMENTS or any(
                        not r.strip() or len(r) > MAX_REQUIREMENT_CHARS for r in checked.requirements):
                    raise BadRequest("invalid_argument", f"requirements: at most {MAX_REQUIREMENTS} lines of 1-"
                                                         f"{MAX_REQUIREMENT_CHARS} characters")
                services[code] = {k: getattr(checked, k) for k in ("active", "requirements") if k in change}
        except ConfigError as exc:
            raise BadRequest("invalid_settings", str(exc)) from None
        size = requirements_bytes(services.get(f.code, {}).get("requirements", f.requirements)
                                  for f in self.file_cfg.services)
        if size > REQUIREMENTS_BYTES:
            raise BadRequest("invalid_settings", f"the services' requirements would be {size} bytes together; at most "
                                                 f"{REQUIREMENTS_BYTES} (they go to every device in one message): "
                                                 f"shorten some")
        if len(holidays) > MAX_CLOSED_DAYS:
            raise BadRequest("invalid_settings", f"at most {MAX_CLOSED_DAYS} closing days")
        return {"holidays": holidays, "services": services}

    def _apply(self, settings: dict[str, Any]) -> None:
        """The queue's configuration: the file's, with these settings over it."""
        base = self.file_cfg
        office = dataclasses.replace(base.office, holidays=sorted(set(base.office.holidays) | set(settings["holidays"])))
        services = [dataclasses.replace(s, **settings["services"].get(s.code, {})) for s in base.services]
        cfg = dataclasses.replace(base, office=office, services=services)
        self.q.cfg = cfg
        self.q.services = {s.code: s for s in cfg.services}
        self.settings = settings

    # ------------------------------------------------------------------ commands

    def office_settings(self, s: "Session", now: datetime) -> Outcome:
        """The calendar and the services as they are now, and which values come from the file."""
        file_days = list(self.file_cfg.office.holidays)
        services = []
        for svc in self.q.cfg.services:
            file_svc = next(f for f in self.file_cfg.services if f.code == svc.code)
            services.append({"code": svc.code, "name": svc.name, "active": svc.active,
                             "requirements": list(svc.requirements), "file_active": file_svc.active,
                             "file_requirements": list(file_svc.requirements)})
        return Outcome({"holidays": list(self.settings["holidays"]), "file_holidays": file_days,
                        "services": services}, changed=False)

    def office_set(self, s: "Session", now: datetime, session: str, holidays: list[str] | None = None,
                   service: str | None = None, active: bool | None = None, requirements: list[str] | None = None,
                   address: str | None = None) -> Outcome:
        """A kasi changes the calendar (``holidays``: the console's whole list) and/or one service's
        ``active`` and ``requirements``. Audited with the change; the new state follows."""
        account = authenticate(s, now, session, OFFICE_ROLES)
        new = {"holidays": list(self.settings["holidays"]),
               "services": {k: dict(v) for k, v in self.settings["services"].items()}}
        detail: dict[str, Any] = {}
        if holidays is not None:
            new["holidays"] = holidays
            before = set(self.settings["holidays"])
        if service is not None:
            change = new["services"].setdefault(service, {})
            if active is not None:
                change["active"] = detail["active"] = active
            if requirements is not None:
                change["requirements"] = detail["requirements"] = [r.strip() for r in requirements if r.strip()]
        elif active is not None or requirements is not None:
            raise BadRequest("missing_argument", "'active' and 'requirements' need 'service'")
        checked = self._checked(new)
        if holidays is not None:
            after = set(checked["holidays"])
            detail["holidays_added"] = sorted(after - before)
            detail["holidays_removed"] = sorted(before - after)
        s.merge(Meta(key=META_KEY, value=json.dumps(checked, ensure_ascii=False, sort_keys=True)))
        action = "office.service" if service is not None else "office.calendar"
        audit(s, account.name, action, service or "calendar", web_device(address), detail, now=now)
        self._apply(checked)   # the state published after this command shows it
        log.info("office settings changed by %s: %s %s", account.name, action, sorted(detail))
        return Outcome(self.office_settings(s, now).result, changed=True, after=lambda: None)


def handlers(q: "QueueService") -> dict[str, Callable[..., Outcome]]:
    """The office settings' commands for ``q``; applies the stored settings at once."""
    rules = OfficeRules(q)
    q.read_only.add("office_settings")
    return rules.handlers()


__all__ = ["handlers", "OfficeRules", "META_KEY"]
