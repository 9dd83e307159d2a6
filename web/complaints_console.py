"""The staff console's complaint pages (``/staf/pengaduan``): the inbox with its service-level timers and
what is overdue, one complaint (contact, text, photo and the whole thread with internal notes; opening it
is ``complaint.view`` in the audit log, the photo ``complaint.photo``), status changes with the reason and
referral the resident reads, replies and the published answer, notes, assignment, merging duplicates, and
the monthly summary with a CSV to re-enter into LAPOR!.

The service decides who may do what from the person's session (:mod:`antre.rules.complaints`); if the
service cannot be asked, nothing personal is shown.
"""

from __future__ import annotations

import csv
import io
import logging
import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from antre.rules.complaint_codes import CATEGORIES, PHOTO_NAME, STATUSES, format_complaint_code, photo_folder
from antre.wording import day_month_year

from .complaints_texts import TEXTS, ct
from .console import console_command, require_role

if TYPE_CHECKING:
    from .app import WebApp

log = logging.getLogger(__name__)
HANDLERS = ("kasi", "petugas")
#: A month's summary rows in pages of the service's replies (about 170 rows each): 200 pages, ~34 000 complaints.
SUMMARY_PAGES = 200


class ComplaintConsole:
    def __init__(self, w: "WebApp"):
        self.w = w
        self.cfg = w.cfg

    def routes(self) -> list[Route]:
        return [
            Route("/staf/pengaduan", self.inbox),
            Route("/staf/pengaduan/ringkasan", self.summary),
            Route("/staf/pengaduan/{id:int}", self.open),
            Route("/staf/pengaduan/{id:int}/foto", self.photo),
            Route("/staf/pengaduan/{id:int}/{action}", self.act, methods=["POST"]),
        ]

    def _error(self, reply, lang: str) -> str:
        key = f"err_{reply.code}"
        if key in TEXTS:
            return ct(key, lang)
        return ct("s_err", lang, detail=reply.message or reply.code)

    def _day(self, iso_day: str) -> str:
        return day_month_year(date.fromisoformat(iso_day))

    def _when(self, at: str | None) -> str:
        if not at:
            return ""
        local = datetime.fromisoformat(at).astimezone(self.cfg.office.tz)
        return f"{day_month_year(local.date())} {local.strftime('%H.%M')}"

    # ------------------------------------------------------------------ the inbox

    async def inbox(self, request: Request) -> Response:
        account = require_role(request, *HANDLERS)
        lang = self.w.lang(request)
        chosen = request.query_params.get("status")
        args: dict[str, Any] = {}
        if chosen in STATUSES:
            args["status"] = chosen
        topic = request.query_params.get("topik")
        if topic in self.cfg.complaints.topics:
            args["topic"] = topic
        reply = await console_command(request, "complaint_list", args)
        if not reply.ok:
            return self.w.render(request, "console/pengaduan_list.html", 503, problem=self._error(reply, lang),
                               data=None, chosen=chosen, statuses=STATUSES, topics=self.cfg.complaints.topics,
                               topic=topic)
        data = reply.result
        for i in data["items"]:
            i["shown"] = format_complaint_code(i["code"])
            i["verify"] = self._day(i["verify_due"])
            i["answer"] = self._day(i["answer_due"])
            i["created"] = self._when(i["created_at"])
        return self.w.render(request, "console/pengaduan_list.html", data=data, chosen=chosen, statuses=STATUSES,
                           topics=self.cfg.complaints.topics, topic=topic, problem=None)

    # ------------------------------------------------------------------ one complaint

    async def open(self, request: Request, problem: str | None = None, status: int = 200,
                   done: bool = False) -> Response:
        account = require_role(request, *HANDLERS)
        lang = self.w.lang(request)
        reply = await console_command(request, "complaint_get", {"complaint": request.path_params["id"]})
        if not reply.ok:
            code = 404 if reply.code == "complaint_not_found" else 403 if reply.code == "forbidden" else 503
            return self.w.render(request, "console/message.html", code, text=self._error(reply, lang))
        c = reply.result
        thread = [m | {"when": self._when(m["at"]),
                       "text": ct("status_to", lang, s=ct(f"st_{m['text']}", lang)) if m["kind"] == "status"
                       else (m["text"] or "—")} for m in c["thread"]]
        people = []
        if account.role == "kasi":
            listing = await console_command(request, "complaint_list", {"status": c["status"]})
            people = listing.result["people"] if listing.ok else []
        return self.w.render(request, "console/pengaduan_open.html", status, c=c, thread=thread,
                           shown=format_complaint_code(c["code"]), problem=problem, done=done,
                           status_text=ct(f"st_{c['status']}", lang), verify=self._day(c["verify_due"]),
                           answer=self._day(c["answer_due"]), created=self._when(c["created_at"]),
                           moves=[(m, ct(f"st_{m}", lang)) for m in c["moves"]], people=people,
                           is_kasi=account.role == "kasi", category=ct(f"cat_{c['category']}", lang),
                           rid=uuid.uuid4().hex,
                           duplicates=[d | {"shown": format_complaint_code(d["code"])} for d in c["duplicates"]],
                           thread_more=c.get("thread_more", 0), duplicates_more=c.get("duplicates_more", 0))

    async def photo(self, request: Request) -> Response:
        require_role(request, *HANDLERS)
        reply = await console_command(request, "complaint_get", {"complaint": request.path_params["id"],
                                                                 "purpose": "photo"})
        if not reply.ok or not reply.result.get("photo") or not PHOTO_NAME.fullmatch(reply.result["photo"]):
            return Response(status_code=404)
        path = photo_folder(self.cfg) / reply.result["photo"]
        try:
            data = await run_in_threadpool(path.read_bytes)
        except OSError:
            return Response(status_code=404)
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})

    async def act(self, request: Request) -> Response:
        require_role(request, *HANDLERS)
        lang = self.w.lang(request)
        form, refused = await self.w.form(request)
        if refused:
            return refused
        cid = request.path_params["id"]
        action = request.path_params["action"]
        args: dict[str, Any] = {"complaint": cid}
        if action == "status":
            command = "complaint_set_status"
            args["status"] = form.get("status", "")
            for key in ("reason", "refer_to"):
                if form.get(key, "").strip():
                    args[key] = form[key].strip()
        elif action == "balas":
            command = "complaint_reply"
            args |= {"text": form.get("text", ""), "final": form.get("final") == "1"}
        elif action == "catat":
            command = "complaint_note"
            args["text"] = form.get("text", "")
        elif action == "tugaskan":
            command = "complaint_assign"
            args["to"] = form.get("to", "")
        elif action == "gabung":
            command = "complaint_merge"
            into = form.get("into", "").strip()
            if not into.isdigit():
                return await self.open(request, problem=ct("s_err", lang, detail="id"), status=400)
            args["into"] = int(into)
        else:
            return Response(status_code=404)
        reply = await console_command(request, command, args, request_id=self.w.request_id(form))
        if not reply.ok:
            return await self.open(request, problem=self._error(reply, lang), status=409)
        return RedirectResponse(f"/staf/pengaduan/{cid}?ok=1", status_code=303)

    # ------------------------------------------------------------------ the monthly summary

    async def summary(self, request: Request) -> Response:
        require_role(request, "kasi")
        lang = self.w.lang(request)
        month = request.query_params.get("bulan") or self.w.today().strftime("%Y-%m")
        reply = await console_command(request, "complaint_summary", {"month": month[:7]})
        if not reply.ok:
            return self.w.render(request, "console/message.html", 400 if reply.code == "invalid_argument" else 503,
                               text=self._error(reply, lang))
        s = reply.result
        if request.query_params.get("format") == "csv":
            rows, pages = list(s["rows"]), 1
            while reply.result.get("next"):   # the month's rows come in pages (one MQTT message each)
                if pages >= SUMMARY_PAGES:
                    return self.w.render(request, "console/message.html", 503, text=ct("s_summary_too_long", lang))
                reply = await console_command(request, "complaint_summary",
                                              {"month": month[:7], "after": reply.result["next"]})
                if not reply.ok:
                    return self.w.render(request, "console/message.html", 503, text=self._error(reply, lang))
                rows += reply.result["rows"]
                pages += 1
            buf = io.StringIO()
            writer = csv.writer(buf)
            # Columns as a LAPOR! entry asks for them: no contact and no text (typed there from the console).
            writer.writerow(["kode", "tanggal", "kategori", "topik", "status", "kanal", "anonim", "tanggal_jawab",
                             "nilai"])
            for r in rows:
                writer.writerow([format_complaint_code(r["code"]), r["date"], r["category"], r["topic"], r["status"],
                                 r["channel"], "ya" if r["anonymous"] else "tidak", r["answered_on"], r["rating"]])
            return Response(buf.getvalue(), media_type="text/csv; charset=utf-8", headers={
                "Content-Disposition": f'attachment; filename="pengaduan-{month[:7]}.csv"',
                "Cache-Control": "no-store"})
        return self.w.render(request, "console/pengaduan_ringkasan.html", s=s, month=month[:7],
                           categories=CATEGORIES)


def routes(w: "WebApp") -> list[Route]:
    return ComplaintConsole(w).routes()


__all__ = ["routes", "ComplaintConsole"]
