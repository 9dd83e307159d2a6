"""The audit log, for a Kasi Pelayanan and the admin: read-only, filtered, exported as CSV.

Rows are written by the service only (:func:`antre.rules.staff.audit`), in the transaction of the change they
record; this page reads them through :func:`antre.storage.open_readonly` and has no form that changes one.
An export is itself recorded (``audit.export``) before the file is sent: no record, no file. Rows older than
``[staff] audit_retention_days`` are deleted by the service at a new business day.

The CSV opens right in a spreadsheet set to Indonesian: Indonesian headers, ``;`` between fields, UTF-8 with
a byte order mark, times in the office's time zone written ``2026-12-07 08.30.15``.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from antre.rules.staff import audit_rows

from .auth import AUDIT_ROLES, audit_view, require_role

if TYPE_CHECKING:
    from antre_web.app import WebApp

PAGE_ROWS = 200
EXPORT_ROWS = 100_000
HEADERS = ("Waktu", "Petugas", "Tindakan", "Objek", "Perangkat", "Rincian")
_ACTOR = re.compile(r"[A-Za-z0-9:._-]{1,64}")
_ACTION = re.compile(r"[a-z][a-z0-9_.]{0,47}")


def _web(request: Request) -> "WebApp":
    return request.app.state.web


def _filters(request: Request) -> tuple[dict[str, str], dict, str | None]:
    """The query's filters as given (for the form), as arguments for :func:`audit_rows`, and a problem."""
    w = _web(request)
    q = request.query_params
    today = datetime.now(w.cfg.office.tz).date()
    given = {"dari": q.get("dari", (today - timedelta(days=6)).isoformat()), "sampai": q.get("sampai", today.isoformat()),
             "petugas": q.get("petugas", "").strip(), "tindakan": q.get("tindakan", "").strip()}
    try:
        start, end = date.fromisoformat(given["dari"]), date.fromisoformat(given["sampai"])
    except ValueError:
        return given, {}, "bad_date"
    if start > end or (end - start).days > 3660:
        return given, {}, "bad_date"
    if given["petugas"] and not _ACTOR.fullmatch(given["petugas"]):
        return given, {}, "bad_form"
    if given["tindakan"] and not _ACTION.fullmatch(given["tindakan"]):
        return given, {}, "bad_form"
    tz = w.cfg.office.tz
    args = {"start": datetime(start.year, start.month, start.day, tzinfo=tz),
            "end": datetime(end.year, end.month, end.day, tzinfo=tz) + timedelta(days=1),
            "actor": given["petugas"] or None, "action_prefix": given["tindakan"] or None}
    return given, args, None


def local_time(w: "WebApp", at: datetime) -> str:
    return at.astimezone(w.cfg.office.tz).strftime("%Y-%m-%d %H.%M.%S")


async def page(request: Request) -> Response:
    w = _web(request)
    account = require_role(request, *AUDIT_ROLES)
    given, args, problem = _filters(request)
    rows = [] if problem else w.console.read(lambda s: audit_rows(s, limit=PAGE_ROWS + 1, **args), default=None)
    from antre_web import texts

    lang = w.lang(request)
    if rows is None:
        problem = "c_db_unreadable"
        rows = []
    return w.render(request, "console/audit.html", 400 if problem else 200, account=account, filters=given,
                    rows=[(local_time(w, r.at), r) for r in rows[:PAGE_ROWS]], more=len(rows) > PAGE_ROWS,
                    problem=texts.text(problem, lang) if problem else None,
                    retention=w.cfg.staff.audit_retention_days)


async def export(request: Request) -> Response:
    w = _web(request)
    account = require_role(request, *AUDIT_ROLES)
    given, args, problem = _filters(request)
    if problem:
        return await page(request)
    rows = w.console.read(lambda s: audit_rows(s, limit=EXPORT_ROWS, **args), default=None)
    if rows is None:
        return await page(request)
    detail = f"{given['dari']}..{given['sampai']} petugas={given['petugas'] or '*'} tindakan={given['tindakan'] or '*'}"
    if not await audit_view(request, account, "audit.export", subject=f"{len(rows)} baris", detail=detail):
        from .counter import t

        return w.render(request, "console/message.html", 503, text=t(request, "c_offline"))
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADERS)
    for r in rows:
        writer.writerow([local_time(w, r.at), r.actor, r.action, r.subject, r.device, r.detail])
    name = f"log-audit-{given['dari']}_{given['sampai']}.csv"
    return Response(("\ufeff" + buf.getvalue()).encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def routes() -> list[Route]:
    return [Route("/staf/audit", page), Route("/staf/audit.csv", export)]
