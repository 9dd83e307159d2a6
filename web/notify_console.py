"""The staff console's SMS page (``/staf/sms``): what was sent to residents on a day, what was not and why,
and what it cost. Read-only, for a Kasi Pelayanan and the admin.

Rows come from the service's outbox (antre/rules/notify.py) through the console's read-only database access;
numbers are shown masked (``0812****7890``), never whole, and each showing is recorded in the audit log
(``sms.view``) first: no record, no page.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from antre.rules.sms_text import mask
from antre.wording import clock_time

from .console.auth import audit_view, require_role

if TYPE_CHECKING:
    from antre_web.app import WebApp

ROLES = ("kasi", "admin")
STATES = {"pending": ("menunggu", "waiting"), "handed_off": ("diserahkan ke modem", "handed to the modem"),
          "sent": ("terkirim", "sent"), "failed": ("gagal", "failed"), "skipped": ("tidak dikirim", "not sent")}
#: A handed-off message of an internet channel: its request is under way (docs/channels.md).
SENDING = ("sedang dikirim", "being sent")
CHANNELS = {"sms": "SMS", "telegram": "Telegram", "whatsapp": "WhatsApp"}
#: Delivery reports (docs/channels.md): what the channel later said about a sent message.
DELIVERY = {"delivered": ("sampai di HP warga", "reached the resident's phone"),
            "read": ("sudah dibaca", "read"), "failed": ("tidak sampai", "did not arrive")}
REASONS = {"opted_out": ("warga minta STOP", "the resident sent STOP"),
           "office_budget": ("anggaran harian kantor habis", "the office's daily budget is spent"),
           "number_budget": ("batas harian nomor ini", "this number's daily limit"),
           "channel_error": ("modem gagal mengirim", "the modem could not send it"),
           "expired": ("kedaluwarsa", "expired"),
           "unknown": ("mungkin terkirim: jawaban tidak datang, tidak dikirim ulang",
                       "may have gone: no answer came, not sent again"),
           "rate_limited": ("menunggu batas kecepatan layanan", "waiting for the service's rate limit"),
           "no_connection": ("tidak ada internet", "no internet"),
           "api_error": ("layanan sedang bermasalah", "the service had a fault"),
           "blocked": ("warga memblokir bot", "the resident blocked the bot"),
           "window_closed": ("lewat 24 jam sejak pesan terakhir warga", "over 24 hours since the resident wrote"),
           "undeliverable": ("nomor tidak bisa menerima WhatsApp", "the number cannot receive WhatsApp"),
           "token_expired": ("token akses WhatsApp kedaluwarsa", "the WhatsApp access token expired"),
           "token_invalid": ("token akses ditolak", "the access token was refused"),
           "template_missing": ("template WhatsApp tidak ada", "the WhatsApp template does not exist"),
           "spam_limit": ("dibatasi WhatsApp (laporan spam)", "limited by WhatsApp (spam reports)"),
           "not_delivered_by_meta": ("tidak diantar oleh WhatsApp", "not delivered by WhatsApp"),
           "bad_address": ("alamat tujuan tidak sah", "not a valid address")}
KINDS = {"created": ("nomor dari rumah", "number from home"), "near": ("sebentar lagi", "turn is near"),
         "called": ("dipanggil", "called"), "no_show": ("dilewati", "skipped"), "reply": ("balasan", "reply"),
         "reminder_day": ("pengingat H-1", "day-before reminder"),
         "reminder_hour": ("pengingat 1 jam", "hour-before reminder")}
WORDS = {"title": ("SMS ke warga", "SMS to residents"), "day": ("Tanggal", "Day"), "show": ("Tampilkan", "Show"),
         "time": ("Jam", "Time"), "kind": ("Jenis", "Kind"), "number": ("Nomor HP", "Phone"), "parts": ("SMS", "SMS"),
         "state": ("Status", "State"), "none": ("Belum ada SMS pada tanggal ini.", "No SMS on this day."),
         "channel": ("Saluran", "Channel"), "delivery": ("Laporan", "Report"),
         "off": ("SMS belum dinyalakan. Teknisi dapat menyalakannya di pengaturan ([notify] sms = true).",
                 "SMS is not switched on. A technician can switch it on in the settings ([notify] sms = true)."),
         "unreadable": ("Database layanan tidak bisa dibaca dari sini.", "The service's database cannot be read here."),
         "offline": ("Sistem antrean tidak tersambung; halaman ini dicatat di log audit sebelum ditampilkan.",
                     "The queue system is not connected; this page is recorded in the audit log before it is shown.")}


def _w(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "en" else pair[0]


async def page(request: Request) -> Response:
    w: "WebApp" = request.app.state.web
    account = require_role(request, *ROLES)
    lang = w.lang(request)
    words = {k: _w(v, lang) for k, v in WORDS.items()}
    try:
        day = date.fromisoformat(request.query_params.get("tanggal", ""))
    except ValueError:
        day = datetime.now(w.cfg.office.tz).date()

    def read(s):
        from sqlalchemy import select

        from antre.storage.models import OutboxMessage
        return s.execute(select(OutboxMessage.created_at, OutboxMessage.kind, OutboxMessage.phone,
                                OutboxMessage.parts, OutboxMessage.state, OutboxMessage.reason,
                                OutboxMessage.channel, OutboxMessage.delivery)
                         .where(OutboxMessage.business_date == day).order_by(OutboxMessage.id)).all()

    rows = w.console.read(read, default=None)
    if rows is None:
        return w.render(request, "console/message.html", 503, text=words["unreadable"])
    if not await audit_view(request, account, "sms.view", subject=day.isoformat(), detail=f"{len(rows)} SMS"):
        return w.render(request, "console/message.html", 503, text=words["offline"])
    tz = w.cfg.office.tz
    def kind(k: str) -> str:
        if k.startswith("letter_"):   # the letters plug-in's news of a request: letter_<status>
            return ("surat: " if lang != "en" else "letter: ") + k[len("letter_"):].replace("_", " ")
        return _w(KINDS.get(k, (k, k)), lang)

    def reason(code: str) -> str:
        # "no_connection: ConnectionRefusedError" -> its plain words; an API's own code ("api_error_400") too.
        base = code.split(":", 1)[0]
        base = "api_error" if base.startswith("api_error") else base
        return _w(REASONS.get(base, (code, code)), lang)

    def state(r) -> str:
        pair = SENDING if (r.state == "handed_off" and r.channel != "sms") else STATES.get(r.state, (r.state, r.state))
        return _w(pair, lang) + (f" ({reason(r.reason)})" if r.reason else "")

    shown = [{"time": clock_time(r.created_at.astimezone(tz)), "kind": kind(r.kind),
              "channel": CHANNELS.get(r.channel, r.channel),
              "number": mask(r.phone), "parts": r.parts if r.channel == "sms" else "-",
              "state": state(r),
              "delivery": _w(DELIVERY[r.delivery], lang) if r.delivery in DELIVERY else "-"} for r in rows]
    spent = sum(r.parts for r in rows if r.state in ("sent", "handed_off") and r.channel == "sms")
    cost = spent * w.cfg.notify.cost_per_sms
    rupiah = f"{cost:,}".replace(",", ".")
    summary = (f"Terkirim atau diserahkan ke modem: {spent} SMS" + (f", biaya Rp {rupiah}" if cost else "")
               + f". Anggaran harian: {w.cfg.notify.daily_budget} SMS.") if lang != "en" else (
        f"Sent or handed to the modem: {spent} SMS" + (f", cost Rp {rupiah}" if cost else "")
        + f". Daily budget: {w.cfg.notify.daily_budget} SMS.")
    return w.render(request, "console/sms.html", account=account, words=words, day=day.isoformat(), rows=shown,
                    summary=summary, sms_on=w.cfg.notify.sms or w.cfg.notify.telegram.enabled
                    or w.cfg.notify.whatsapp.enabled)


def routes() -> list[Route]:
    return [Route("/staf/sms", page)]
