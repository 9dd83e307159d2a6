"""The console's FAQ page (``/staf/faq``, kasi and admin) and the inbox of residents' questions (``/staf/tanya``,
petugas and kasi).

The FAQ page lists the office's entries (question variants, answer, links, on/off) and edits them through
``faq_save`` / ``faq_delete``; the service checks the role from the person's session, validates the entry
(an empty answer, a huge text, HTML or a script link are refused with a plain reason shown here) and audits
the change; the assistant answers from it at once. The inbox lists the questions the assistant could not
answer (numbers masked; each showing is ``question.list`` in the audit log), answers one (the answer goes back
on the channel it came from), dismisses one, and turns an answered one into an FAQ entry ("Jadikan FAQ",
kasi). Every text is shown escaped (Jinja autoescape), never as markup.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from antre.rules.question_codes import format_question_code
from antre.wording import day_month_year

from .console import console_command, require_role

if TYPE_CHECKING:
    from .app import WebApp

EDITORS = ("kasi", "admin")
HANDLERS = ("kasi", "petugas")

TEXTS: dict[str, tuple[str, str]] = {
    "faq_title": ("Tanya jawab (FAQ)", "Questions and answers (FAQ)"),
    "faq_sub": ("Jawaban yang dipakai asisten untuk SMS, situs, dan kiosk. Perubahan langsung berlaku.",
                "The answers the assistant gives by SMS, on the website and at the kiosk. Changes apply at once."),
    "faq_new": ("Tambah jawaban", "Add an answer"),
    "faq_edit": ("Ubah jawaban", "Edit the answer"),
    "faq_questions": ("Cara warga bertanya (satu per baris)", "How residents ask it (one per line)"),
    "faq_answer": ("Jawaban (teks biasa, tanpa HTML; sebaiknya pendek agar muat satu SMS)",
                   "Answer (plain text, no HTML; short, to fit one SMS)"),
    "faq_links": ("Tautan (boleh kosong; satu per baris, https://...)", "Links (optional; one per line, https://...)"),
    "faq_active": ("Aktif (dipakai untuk menjawab)", "Active (used to answer)"),
    "faq_save": ("Simpan", "Save"),
    "faq_delete": ("Hapus", "Delete"),
    "faq_delete_title": ("Hapus jawaban ini?", "Delete this answer?"),
    "faq_delete_sub": ("Asisten tidak akan memakai jawaban ini lagi. Penghapusan tidak bisa dibatalkan; bila hanya "
                       "ingin berhenti sementara, ubah jawaban dan hilangkan centang Aktif.",
                       "The assistant will no longer use this answer. Deleting cannot be undone; to stop it for a "
                       "while, edit it and untick Active instead."),
    "faq_delete_yes": ("Ya, hapus", "Yes, delete"),
    "faq_delete_no": ("Batal", "Cancel"),
    "faq_deleted": ("Jawaban dihapus.", "The answer is deleted."),
    "faq_not_found": ("Jawaban ini tidak ada (mungkin sudah dihapus).", "This answer does not exist (perhaps it was "
                      "already deleted)."),
    "faq_saved": ("Tersimpan. Asisten sudah memakai jawaban ini.", "Saved. The assistant uses this answer now."),
    "faq_off": ("nonaktif", "off"),
    "faq_none": ("Belum ada jawaban.", "No answers yet."),
    "faq_from_question": ("Dibuat dari pertanyaan warga {code}.", "Made from the resident's question {code}."),
    "q_title": ("Pertanyaan warga", "Residents' questions"),
    "q_sub": ("Pertanyaan yang belum bisa dijawab asisten. Jawaban dikirim lewat saluran asalnya.",
              "Questions the assistant could not answer. The answer goes back on the channel they came from."),
    "st_open": ("Belum dijawab", "Open"), "st_answered": ("Sudah dijawab", "Answered"),
    "st_dismissed": ("Diabaikan", "Dismissed"),
    "ch_sms": ("SMS", "SMS"), "ch_web": ("Situs", "Website"), "ch_kiosk": ("Kiosk", "Kiosk"),
    "ch_telegram": ("Telegram", "Telegram"), "ch_whatsapp": ("WhatsApp", "WhatsApp"),
    "q_to": ("ke {to}", "to {to}"),
    "q_answer": ("Jawaban", "Answer"),
    "q_send": ("Kirim jawaban", "Send the answer"),
    "q_dismiss": ("Abaikan", "Dismiss"),
    "q_to_faq": ("Jadikan FAQ", "Make it an FAQ entry"),
    "q_is_faq": ("Sudah menjadi FAQ", "Already an FAQ entry"),
    "q_none": ("Tidak ada pertanyaan.", "No questions."),
    "q_more": ("Masih ada {n} pertanyaan lagi. Jawab atau abaikan yang di atas untuk melihatnya.",
               "{n} more questions. Answer or dismiss the ones above to see them."),
    "q_sent": ("Jawaban tersimpan dan dikirim.", "The answer is saved and sent."),
    "q_by": ("dijawab {who}, {when}", "answered by {who}, {when}"),
    "r_queued": ("terkirim lewat antrean pesan", "queued for sending"),
    "r_page_only": ("dibaca warga dengan kodenya di situs", "read by the resident with the code on the website"),
    "err_already_answered": ("Pertanyaan ini sudah dijawab petugas lain.", "Another person already answered it."),
    "err_question_closed": ("Pertanyaan ini sudah ditutup.", "This question is already closed."),
    "err_markup_not_allowed": ("Tulis teks biasa: tanpa tag HTML atau tautan javascript.",
                               "Write plain text: no HTML tags or javascript links."),
    "err_empty_text": ("Teks tidak boleh kosong.", "The text may not be empty."),
    "err_text_too_long": ("Teks terlalu panjang.", "The text is too long."),
    "err_invalid_link": ("Tautan harus alamat http:// atau https:// (paling banyak 200 huruf).",
                         "A link must be an http:// or https:// address (at most 200 characters)."),
    "err_missing_questions": ("Isi paling sedikit satu cara warga bertanya.", "Give at least one way residents ask it."),
    "err_too_many_questions": ("Paling banyak 30 cara bertanya.", "At most 30 ways of asking."),
    "err_too_many_links": ("Paling banyak 5 tautan.", "At most 5 links."),
    "err_faq_full": ("Daftar tanya jawab sudah penuh. Persingkat atau hapus jawaban yang tidak dipakai lagi.",
                     "The FAQ is full. Shorten or delete answers no longer needed."),
    "err_invalid_argument": ("Isian tidak sah: {detail}", "Not valid: {detail}"),
    "err_other": ("Tidak dapat disimpan: {detail}", "Could not be saved: {detail}"),
}


def qt(key: str, lang: str = "id", **values: Any) -> str:
    pair = TEXTS.get(key)
    if pair is None:
        return key
    s = pair[1] if lang == "en" else pair[0]
    return s.format(**values) if values else s


def _lines(text: str, most: int) -> list[str]:
    return [" ".join(line.split()) for line in text.replace("\r", "").split("\n") if line.strip()][:most + 1]


class QuestionConsole:
    def __init__(self, w: "WebApp"):
        self.w = w

    def routes(self) -> list[Route]:
        return [
            Route("/staf/faq", self.faq, methods=["GET", "POST"]),
            Route("/staf/faq/{id:int}/hapus", self.faq_delete, methods=["GET", "POST"]),
            Route("/staf/tanya", self.inbox),
            Route("/staf/tanya/{id:int}/{action}", self.act, methods=["POST"]),
        ]

    def _error(self, reply, lang: str) -> str:
        key = f"err_{reply.code}"
        if key in TEXTS:
            return qt(key, lang, detail=reply.message or reply.code)
        return qt("err_other", lang, detail=reply.message or reply.code)

    def _when(self, at: str | None) -> str:
        if not at:
            return ""
        local = datetime.fromisoformat(at).astimezone(self.w.cfg.office.tz)
        return f"{day_month_year(local.date())} {local.strftime('%H.%M')}"

    def _page(self, request: Request, name: str, status: int = 200, **ctx: Any) -> Response:
        lang = self.w.lang(request)
        return self.w.render(request, name, status, qt=lambda key, **v: qt(key, lang, **v), **ctx)

    # ------------------------------------------------------------------ the FAQ

    async def faq(self, request: Request) -> Response:
        require_role(request, *EDITORS)
        lang = self.w.lang(request)
        problem, status, given = None, 200, {}
        if request.method == "POST":
            form, refused = await self.w.form(request)
            if refused:
                return refused
            args: dict[str, Any] = {"questions": _lines(form.get("questions", "")[:7000], 30),
                                    "answer": form.get("answer", "")[:1100],
                                    "links": _lines(form.get("links", "")[:1100], 5),
                                    "active": form.get("active") == "1"}
            for key in ("entry", "question"):
                if form.get(key, "").isdigit():
                    args[key] = int(form[key])
            # The protocol's own checks answer in English: the usual slips are said plainly here first.
            local = ("err_empty_text" if not args["answer"].strip() else
                     "err_text_too_long" if len(args["answer"]) > 1000 else
                     "err_missing_questions" if not args["questions"] else
                     "err_too_many_questions" if len(args["questions"]) > 30 else
                     "err_text_too_long" if any(len(q) > 200 for q in args["questions"]) else
                     "err_too_many_links" if len(args["links"]) > 5 else None)
            if local is not None:
                problem, status, given = qt(local, lang), 400, form
            else:
                reply = await console_command(request, "faq_save", args, request_id=self.w.request_id(form))
                if reply.ok:
                    return RedirectResponse("/staf/faq?ok=1", status_code=303)
                problem, status, given = self._error(reply, lang), 400, form
        reply = await console_command(request, "faq_list", {})
        if not reply.ok:
            return self.w.message(request, "err_offline", 503)
        entries = reply.result["entries"]
        editing = None
        if request.query_params.get("ubah", "").isdigit():
            editing = next((e for e in entries if e["id"] == int(request.query_params["ubah"])), None)
        prefill = None
        if request.query_params.get("dari", "").isdigit() and editing is None and not given:
            # "Jadikan FAQ": the answered question and its answer as the new entry's first draft.
            got = await console_command(request, "question_get", {"question": int(request.query_params["dari"])})
            if got.ok and got.result["state"] == "answered":
                prefill = got.result | {"code_text": format_question_code(got.result["code"])}
        return self._page(request, "console/faq.html", status, entries=entries, editing=editing, given=given,
                          prefill=prefill, problem=problem, done=request.query_params.get("ok"),
                          deleted=request.query_params.get("hapus"),
                          rid=uuid.uuid4().hex)

    async def faq_delete(self, request: Request) -> Response:
        """A confirmation page (GET) whose form (POST, ``confirm=1``) deletes: a plain form, no JavaScript. A POST
        without ``confirm`` deletes nothing and shows the page."""
        require_role(request, *EDITORS)
        lang = self.w.lang(request)
        entry_id = request.path_params["id"]
        if request.method == "POST":
            form, refused = await self.w.form(request)
            if refused:
                return refused
            if form.get("confirm") == "1":
                reply = await console_command(request, "faq_delete", {"entry": entry_id})
                if reply.ok:
                    return RedirectResponse("/staf/faq?hapus=1", status_code=303)
                if reply.code != "faq_not_found":
                    return self._page(request, "console/faq_hapus.html", 400, entry=None,
                                      problem=self._error(reply, lang))
        reply = await console_command(request, "faq_list", {})
        if not reply.ok:
            return self.w.message(request, "err_offline", 503)
        entry = next((e for e in reply.result["entries"] if e["id"] == entry_id), None)
        return self._page(request, "console/faq_hapus.html", 200 if entry else 404, entry=entry,
                          problem=None if entry else qt("faq_not_found", lang))

    # ------------------------------------------------------------------ the inbox

    async def inbox(self, request: Request) -> Response:
        account = require_role(request, *HANDLERS)
        lang = self.w.lang(request)
        state = request.query_params.get("keadaan", "open")
        state = state if state in ("open", "answered", "dismissed") else "open"
        reply = await console_command(request, "question_list", {"state": state})
        if not reply.ok:
            return self.w.message(request, "err_offline", 503)
        items = [i | {"asked": self._when(i["asked_at"]), "answered": self._when(i["answered_at"]),
                      "channel_text": qt(f"ch_{i['channel']}", lang),
                      "reply_text": qt(f"r_{i['reply']}", lang) if i.get("reply") in ("queued", "page_only")
                      else (i.get("reply") or "")}
                 for i in reply.result["items"]]
        problem = request.query_params.get("salah")
        problem = qt(f"err_{problem}", lang, detail="-") if problem and f"err_{problem}" in TEXTS else None
        return self._page(request, "console/tanya.html", items=items, counts=reply.result["counts"], state=state,
                          can_faq=account.role in EDITORS, problem=problem, done=request.query_params.get("ok"),
                          more=reply.result.get("more", 0))

    async def act(self, request: Request) -> Response:
        require_role(request, *HANDLERS)
        form, refused = await self.w.form(request)
        if refused:
            return refused
        qid, action = request.path_params["id"], request.path_params["action"]
        if action == "jawab":
            text = form.get("text", "")
            if not text.strip() or len(text) > 1000:
                return RedirectResponse(f"/staf/tanya?salah={'empty_text' if not text.strip() else 'text_too_long'}"
                                        f"#q-{qid}", status_code=303)
            reply = await console_command(request, "question_answer",
                                          {"question": qid, "text": form.get("text", "")[:1100]})
        elif action == "abaikan":
            reply = await console_command(request, "question_dismiss", {"question": qid})
        else:
            return self.w.message(request, "not_found", 404)
        if not reply.ok:
            code = reply.code if f"err_{reply.code}" in TEXTS else "other"
            return RedirectResponse(f"/staf/tanya?salah={code}#q-{qid}", status_code=303)
        return RedirectResponse("/staf/tanya?ok=1", status_code=303)


def routes(w: "WebApp") -> list[Route]:
    return QuestionConsole(w).routes()


__all__ = ["routes", "QuestionConsole", "qt"]
