"""``antre notify``: the staff's read-only view of messages to residents, and gammu-smsd's configuration.

``antre notify list [--date YYYY-MM-DD] [--state STATE]`` lists the outbox of a day: when, what, to whom
(masked: ``0812****7890``), its state and why, and what the day's SMS cost. It opens the database read-only
and never shows a whole phone number.

``antre notify smsdrc [--device /dev/ttyUSB0]`` prints a gammu-smsd configuration for the office's spool
(``[notify] spool``), to save as ``/etc/gammu-smsdrc`` (docs/sms.md).
"""

from __future__ import annotations

import argparse
from datetime import date, datetime

from antre import config

STATES_ID = {"pending": "menunggu", "handed_off": "diserahkan ke modem", "sent": "terkirim", "failed": "gagal",
             "skipped": "tidak dikirim"}
REASONS_ID = {"opted_out": "warga minta STOP", "office_budget": "anggaran harian kantor habis",
              "number_budget": "batas harian nomor ini", "channel_error": "modem gagal mengirim",
              "expired": "kedaluwarsa"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("list", "smsdrc"),
                        help="list: the messages of a day (read-only; numbers masked); smsdrc: print a gammu-smsd "
                             "configuration for this office's spool")
    parser.add_argument("--date", help="(list) business day YYYY-MM-DD (default: today in the office's time zone)")
    parser.add_argument("--state", choices=sorted(STATES_ID), help="(list) only messages in this state")
    parser.add_argument("--db-url", help="database URL, overrides [database] url")
    parser.add_argument("--device", default="/dev/ttyUSB0", help="(smsdrc) the modem's serial device")


def run(args: argparse.Namespace) -> int:
    cfg = config.with_overrides(config.load(args.config), db_url=getattr(args, "db_url", None))
    if args.action == "smsdrc":
        print(smsdrc(cfg, args.device), end="")
        return 0
    day = date.fromisoformat(args.date) if args.date else datetime.now(cfg.office.tz).date()
    for line in listing(cfg, day, args.state):
        print(line)
    return 0


def listing(cfg: config.Config, day: date, state: str | None = None) -> list[str]:
    from sqlalchemy import select

    from antre.rules.sms_text import mask
    from antre.storage import open_readonly
    from antre.storage.models import OutboxMessage
    from antre.wording import clock_time

    engine = open_readonly(cfg.database.effective_url)
    try:
        with engine.connect() as conn:
            q = select(OutboxMessage.__table__).where(OutboxMessage.business_date == day).order_by(OutboxMessage.id)
            if state:
                q = q.where(OutboxMessage.state == state)
            rows = conn.execute(q).all()
    finally:
        engine.dispose()
    out = [f"Pesan ke warga, {day.isoformat()} (messages to residents)",
           f"{'jam':>5}  {'jenis':<14} {'nomor':<14} {'SMS':>3}  status"]
    for r in rows:
        why = f" ({REASONS_ID.get(r.reason, r.reason)})" if r.reason else ""
        out.append(f"{clock_time(r.created_at.astimezone(cfg.office.tz)):>5}  {r.kind:<14} {mask(r.phone):<14} "
                   f"{r.parts:>3}  {STATES_ID.get(r.state, r.state)}{why}")
    sent = sum(r.parts for r in rows if r.state in ("sent", "handed_off"))
    cost = sent * cfg.notify.cost_per_sms
    rupiah = f"{cost:,}".replace(",", ".")
    out.append(f"Terkirim/diserahkan: {sent} SMS" + (f", biaya Rp {rupiah}" if cost else "")
               + f"; anggaran harian {cfg.notify.daily_budget} SMS. "
               f"Tidak dikirim: {sum(1 for r in rows if r.state == 'skipped')}, gagal: "
               f"{sum(1 for r in rows if r.state == 'failed')}.")
    return out


def smsdrc(cfg: config.Config, device: str) -> str:
    spool = cfg.notify.spool.rstrip("/")
    # gammu-smsd names files (with the number in their names) at every debug level; at 0 it logs no texts.
    # Delivery reports come into the inbox as files (DeliveryReport = sms): no log is read (docs/sms.md).
    log = "logfile = syslog\ndebuglevel = 0" + ("\ndeliveryreport = sms" if cfg.notify.delivery_reports else "")
    return f"""# gammu-smsd for Antre ({cfg.office.name}); see docs/sms.md and gammu-smsdrc(5).
[gammu]
device = {device}
connection = at

[smsd]
service = files
{log}
inboxpath = {spool}/inbox/
outboxpath = {spool}/outbox/
sentsmspath = {spool}/sent/
errorsmspath = {spool}/error/
# Antre reads received SMS as Unicode text and writes messages to send as Unicode text.
inboxformat = unicode
transmitformat = auto
"""
