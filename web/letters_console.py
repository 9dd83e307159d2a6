"""The staff console's letter pages (``/staf/surat``): the work list per status with counts and what is
overdue, one request (its fields against the originals, its history), status changes with the reason the
resident reads, editing, numbering, the letter as PDF, revoking, and the outgoing-letter register with
numbers for letters typed by hand.

Who may do what is decided by the service from the person's session (:mod:`antre.rules.letters`): the pages
only offer what the role may do. Opening a request and printing it are ``letter_get`` questions the service
writes to the audit log itself (``letter.view``, ``letter.print``), so personal data is never shown unrecorded:
if the service cannot be asked, nothing is shown.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from antre.config import LETTER_REQUIREMENTS, REQUIREMENT_CHARS
from antre.rules.letter_codes import LETTER_STATUSES, format_tracking_code
from antre.rules.letters import LISTERS, PROCESSORS, READERS, SIGNERS, TRANSITIONS
from antre.wording import day_month_year

from . import letters_texts
from .console import console_command, require_role
from .letters import catalogue_overrides, local_day, lt

if TYPE_CHECKING:
    from .app import WebApp

log = logging.getLogger(__name__)
NEW_FOR = ("kasi", "petugas")   # who may type a request in for a resident (the service checks it again)
#: A year's register in pages of the service's replies (about 100 numbers each): 500 pages is ~50 000 letters.
REGISTER_PAGES = 500


class LetterConsole:
    def __init__(self, w: "WebApp"):
        self.w = w
        self.cfg = w.cfg

    def routes(self) -> list[Route]:
        return [
            Route("/staf/surat", self.work_list),
            Route("/staf/surat/agenda", self.register, methods=["GET", "POST"]),
            Route("/staf/surat/jenis", self.catalogue, methods=["GET", "POST"]),
            Route("/staf/surat/baru", self.new),
            Route("/staf/surat/baru/{type}", self.new_form, methods=["GET", "POST"]),
            Route("/staf/surat/{id:int}", self.open),
            Route("/staf/surat/{id:int}/pdf", self.pdf),
            Route("/staf/surat/{id:int}/status", self.set_status, methods=["POST"]),
            Route("/staf/surat/{id:int}/nomor", self.number, methods=["POST"]),
            Route("/staf/surat/{id:int}/ubah", self.edit, methods=["POST"]),
            Route("/staf/surat/{id:int}/cabut", self.revoke, methods=["POST"]),
        ]

    def _error(self, reply, lang: str) -> str:
        key = f"s_err_{reply.code}"
        if key in letters_texts.TEXTS:
            return lt(key, lang, detail=reply.message or "")
        return self.w.error_text(reply, lang)

    # ------------------------------------------------------------------ the work list

    async def work_list(self, request: Request, problem: str | None = None, status: int = 200) -> Response:
        account = require_role(request, *LISTERS)
        lang = self.w.lang(request)
        chosen = request.query_params.get("status")
        args: dict[str, Any] = {}
        if chosen in LETTER_STATUSES:
            args["status"] = chosen
        kind = request.query_params.get("jenis")
        if kind and self.cfg.letters.type(kind):
            args["type"] = kind
        reply = await console_command(request, "letter_list", args)
        if not reply.ok:
            return self.w.render(request, "console/surat_list.html", 503, problem=self._error(reply, lang), data=None,
                               chosen=chosen, kind=kind, types=self.cfg.letters.types)
        data = reply.result
        tz = self.cfg.office.tz
        for item in data["items"]:
            item["shown"] = format_tracking_code(item["code"])
            item["created"] = local_day(item["created_at"], tz)
            item["due"] = day_month_year(date.fromisoformat(item["due_on"]))
            item["status_text"] = lt(f"st_{item['status']}", lang)
        return self.w.render(request, "console/surat_list.html", status, problem=problem, data=data, chosen=chosen,
                           kind=kind, types=self.cfg.letters.types, statuses=LETTER_STATUSES,
                           can_open=account.role in READERS,
                           can_hand_over=account.role in TRANSITIONS["siap_diambil"]["sudah_diambil"])

    # ------------------------------------------------------------------ one request

    async def _get(self, request: Request, purpose: str = "view"):
        return await console_command(request, "letter_get", {"request": request.path_params["id"], "purpose": purpose})

    async def open(self, request: Request, problem: str | None = None, status: int = 200,
                   done: str | None = None) -> Response:
        account = require_role(request, *READERS)
        lang = self.w.lang(request)
        reply = await self._get(request)
        if not reply.ok:
            code = 404 if reply.code == "letter_not_found" else 503
            return self.w.render(request, "console/message.html", code, text=self._error(reply, lang))
        r = reply.result
        t = self.cfg.letters.type(r["type"])
        tz = self.cfg.office.tz
        fields = [{"name": f.name, "label": f.label, "value": (r["fields"] or {}).get(f.name, ""), "type": f.type,
                   "choices": f.choices} for f in (t.fields if t else ())]
        moves = [(to, lt(f"st_{to}", lang)) for to, roles in r["allowed"].items() if account.role in roles]
        history = [{"at": f"{local_day(h['at'], tz)} {datetime.fromisoformat(h['at']).astimezone(tz).strftime('%H.%M')}",
                    "status": lt(f"st_{h['status']}", lang), "action": h["action"], "actor": h["actor"],
                    "reason": h.get("reason") or ""} for h in r["history"]]
        return self.w.render(request, "console/surat_open.html", status, r=r, fields=fields, moves=moves,
                           history=history, problem=problem, done=done, shown=format_tracking_code(r["code"]),
                           status_text=lt(f"st_{r['status']}", lang), signers=self.cfg.letters.signers,
                           can_process=account.role in PROCESSORS,
                           can_revoke=account.role in (PROCESSORS | SIGNERS) and r["signed_at"] and not r["revoked_at"],
                           editable=account.role in PROCESSORS and r["status"] in ("diperiksa", "belum_lengkap")
                           and not r["anonymised"],
                           due=day_month_year(date.fromisoformat(r["due_on"])), rid=uuid.uuid4().hex)

    async def _act(self, request: Request, command: str, args: dict[str, Any], roles) -> Response:
        require_role(request, *roles)
        form, refused = await self.w.form(request)
        if refused:
            return refused
        args = args | {"request": request.path_params["id"]}
        reply = await console_command(request, command, args, request_id=self.w.request_id(form))
        lang = self.w.lang(request)
        back = form.get("back", "")
        if reply.ok:
            if back == "list":
                return RedirectResponse("/staf/surat?status=siap_diambil", status_code=303)
            return RedirectResponse(f"/staf/surat/{request.path_params['id']}?ok=1", status_code=303)
        if back == "list":
            return await self.work_list(request, self._error(reply, lang), 409)
        return await self.open(request, self._error(reply, lang), 409 if reply.code != "not_signed_in" else 401)

    async def set_status(self, request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=20)
        args = {"status": str(form.get("status", ""))}
        reason = " ".join(str(form.get("reason", "")).split())[:300]
        if reason:
            args["reason"] = reason
        signer = str(form.get("signer", ""))
        if signer and args["status"] == "menunggu_ttd":
            args["signer"] = signer
        if args["status"] not in LETTER_STATUSES:
            require_role(request, *LISTERS)
            return await self.open(request, lt("s_err_invalid_transition", self.w.lang(request)), 400)
        return await self._act(request, "letter_set_status", args, LISTERS)

    async def number(self, request: Request) -> Response:
        return await self._act(request, "letter_assign_number", {}, PROCESSORS)

    async def edit(self, request: Request) -> Response:
        require_role(request, *PROCESSORS)
        data = await request.form(max_files=0, max_fields=40)
        fields = {k[2:]: str(v)[:1000] for k, v in data.items() if k.startswith("f_") and re.fullmatch(r"[a-z0-9_-]{1,32}", k[2:])}
        return await self._act(request, "letter_edit", {"fields": fields}, PROCESSORS)

    async def revoke(self, request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=20)
        reason = " ".join(str(form.get("reason", "")).split())[:300] or "-"
        return await self._act(request, "letter_revoke", {"reason": reason}, PROCESSORS | SIGNERS)

    async def pdf(self, request: Request) -> Response:
        require_role(request, *READERS)
        reply = await self._get(request, "print")   # the service writes letter.print to the audit log
        if not reply.ok:
            return self.w.render(request, "console/message.html", 404 if reply.code == "letter_not_found" else 503,
                               text=self._error(reply, self.w.lang(request)))
        from antre.documents.letter import render_letter_pdf, verify_url

        letter = reply.result
        body = await run_in_threadpool(render_letter_pdf, self.cfg, letter,
                                       verify=verify_url(self.cfg, letter["verify_token"]), today=self.w.today())
        name = re.sub(r"[^A-Za-z0-9]+", "-", letter.get("number") or f"draf-{letter['id']}").strip("-")
        return Response(body, media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="surat-{name}.pdf"',
                                 "Cache-Control": "no-store"})

    # ------------------------------------------------------------------ the register

    async def register(self, request: Request) -> Response:
        account = require_role(request, *LISTERS)
        lang = self.w.lang(request)
        today = self.w.today()
        problem = reserved = None
        status = 200
        if request.method == "POST":
            require_role(request, *PROCESSORS)
            form, refused = await self.w.form(request)
            if refused:
                return refused
            args = {"classification": form.get("classification", "").strip()[:20],
                    "subject": form.get("subject", "")[:300], "recipient": form.get("recipient", "")[:300]}
            if form.get("sequence", "").strip():
                args["sequence"] = form["sequence"].strip()[:40]
            reply = await console_command(request, "letter_reserve_number", args, request_id=self.w.request_id(form))
            if reply.ok:
                reserved = lt("s_reserved", lang, n=reply.result["number"])
            else:
                problem, status = self._error(reply, lang), 409
        try:
            year = int(request.query_params.get("tahun", today.year))
        except ValueError:
            year = today.year
        year = min(max(year, 2000), 2200)
        rows: list[dict[str, Any]] = []
        after: int | None = None
        for _ in range(REGISTER_PAGES):   # the service answers a year in pages (one MQTT message each)
            reply = await console_command(request, "letter_register", {"year": year} | ({"after": after} if after else {}))
            if not reply.ok:
                return self.w.render(request, "console/message.html", 503, text=self._error(reply, lang))
            rows += reply.result["rows"]
            after = reply.result.get("next")
            if not after:
                break
        else:
            return self.w.render(request, "console/message.html", 503, text=lt("s_register_too_long", lang))
        fmt = request.query_params.get("format")
        if fmt in ("csv", "pdf") and request.method == "GET":
            from antre.documents.register import register_csv, register_pdf

            if fmt == "csv":
                return Response(register_csv(rows).encode("utf-8"), media_type="text/csv; charset=utf-8",
                                headers={"Content-Disposition": f'attachment; filename="agenda-surat-keluar-{year}.csv"',
                                         "Cache-Control": "no-store"})
            body = await run_in_threadpool(register_pdf, self.cfg, year, rows, today=today)
            return Response(body, media_type="application/pdf",
                            headers={"Content-Disposition": f'inline; filename="agenda-surat-keluar-{year}.pdf"',
                                     "Cache-Control": "no-store"})
        return self.w.render(request, "console/surat_agenda.html", status, rows=rows, year=year, problem=problem,
                           reserved=reserved, can_reserve=account.role in PROCESSORS, rid=uuid.uuid4().hex)


    # ------------------------------------------------------------------ a request for a resident without a phone

    async def new(self, request: Request) -> Response:
        require_role(request, *NEW_FOR)
        return self.w.render(request, "console/surat_baru.html", types=[t for t in self.cfg.letters.types if t.active])

    async def new_form(self, request: Request) -> Response:
        """The residents' form, typed by staff at the counter with the resident (channel ``counter``, audited)."""
        require_role(request, *NEW_FOR)
        from antre.rules.letter_fields import check_fields

        t = self.cfg.letters.type(request.path_params["type"])
        if t is None or not t.active:
            return self.w.message(request, "not_found_page", 404)
        lang = self.w.lang(request)
        ctx = {"type": t, "type_name": t.name, "form_action": f"/staf/surat/baru/{t.code}",
               "privacy": lt("privacy", lang, n=self.cfg.letters.retention_days),
               "takes": lt("takes_days", lang, n=t.days) if t.days else lt("takes_same_day", lang)}
        if request.method == "GET":
            return self.w.render(request, "surat_form.html", form={}, errors={}, problem=None, rid=uuid.uuid4().hex,
                               **ctx)
        form, refused = await self.w.form(request)
        if refused:
            return refused
        given = {f.name: form.get(f.name, "")[:2000] for f in t.fields}
        values, problems = check_fields(t, given, self.w.today())
        if problems:
            errors = {name: lt(f"p_{p}", lang, n=next((f.max_length for f in t.fields if f.name == name), 0))
                      if f"p_{p}" in letters_texts.TEXTS else lt("p_invalid", lang) for name, p in problems.items()}
            return self.w.render(request, "surat_form.html", 400, form=given, errors=errors,
                               problem=lt("fix_below", lang), rid=self.w.request_id(form), **ctx)
        reply = await console_command(request, "letter_request", {"type": t.code, "fields": values,
                                                                  "channel": "counter"},
                                      request_id=self.w.request_id(form))
        if not reply.ok:
            return self.w.render(request, "surat_form.html", 409, form=given, errors={},
                               problem=self._error(reply, lang), rid=self.w.request_id(form), **ctx)
        return RedirectResponse(f"/surat/status/{reply.result['code']}?baru=1", status_code=303)

    # ------------------------------------------------------------------ the catalogue (kasi)

    async def catalogue(self, request: Request) -> Response:
        """The kasi keeps the catalogue residents see: each type on or off, its purpose, requirements (one per
        line), usual working days and cost. Fields, numbering and templates stay in the configuration file."""
        require_role(request, *PROCESSORS)
        lang = self.w.lang(request)
        problem = done = None
        status = 200
        if request.method == "POST":
            form, refused = await self.w.form(request)
            if refused:
                return refused
            lines = [" ".join(line.split()) for line in form.get("requirements", "")[:20_000].splitlines()
                     if line.strip()]
            args: dict[str, Any] = {"type": form.get("type", "")[:32], "active": form.get("active") == "1",
                                    "purpose": " ".join(form.get("purpose", "").split())[:500],
                                    "requirements": lines}
            if len(lines) > LETTER_REQUIREMENTS or any(len(line) > REQUIREMENT_CHARS for line in lines):
                # Said, not cut: lines past the 20th, and a line's end past 200 characters, were dropped unseen
                problem, status = lt("s_err_requirements", lang), 400
            for key in ("days", "cost") if problem is None else ():
                raw = form.get(key, "").replace(".", "").strip()
                if not (raw.isascii() and raw.isdigit() and len(raw) <= 12):   # '²' and 5 000 digits: int() raised
                    problem, status = lt("s_err_invalid_argument", lang), 400
                    break
                args[key] = int(raw)
            if problem is None:
                reply = await console_command(request, "letter_type_update", args, request_id=self.w.request_id(form))
                if reply.ok:
                    done = lt("s_done", lang)
                else:
                    problem, status = self._error(reply, lang), 409
        # Public and read-only: asked without the person's session (the command takes none), every page.
        overrides = await catalogue_overrides(self.w.bridge, len(self.cfg.letters.types)) or {}
        types = []
        for t in self.cfg.letters.types:
            try:
                types.append(dataclasses.replace(t, **overrides.get(t.code, {})))
            except TypeError:
                types.append(t)
        return self.w.render(request, "console/surat_jenis.html", status, types=types, problem=problem, done=done,
                           rid=uuid.uuid4().hex)


def routes(w: "WebApp") -> list[Route]:
    return LetterConsole(w).routes()


__all__ = ["routes", "LetterConsole"]
