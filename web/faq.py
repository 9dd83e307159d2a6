"""The residents' question page (``/tanya``): the office's FAQ assistant, the same one that answers SMS.

A plain form (POST, so no question lands in an access log; no JavaScript): the question goes to the service as
the read-only command ``ask`` (antre/rules/faq.py) and the answer is shown. When the assistant is not sure, the
page offers to send the question to a person (``question_submit``, antre/rules/questions.py): the resident
gets a code and the page ``/tanya/{code}`` where the staff's answer appears, and, when SMS is on and they give
a number and tick the box, the answer by SMS too. Questions and numbers are never logged here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from antre.rules.question_codes import clean_question_code, format_question_code

from .follow import GUESS_MINUTES
from .follow_texts import ft as follow_ft

if TYPE_CHECKING:
    from .app import WebApp

MAX_CHARS = 300
TEXTS = {
    "title": ("Tanya jawab layanan", "Questions and answers"),
    "label": ("Tulis pertanyaan Anda", "Write your question"),
    "hint": ("Contoh: syarat membuat akta kelahiran. Jangan tulis NIK atau nomor HP.",
             "For example: what do I need for a birth certificate. Do not write your NIK or phone number."),
    "submit": ("Tanya", "Ask"),
    "answer": ("Jawaban", "Answer"),
    "unsure": ("Maaf, kami belum bisa menjawab pertanyaan itu dengan pasti. Silakan datang ke loket, atau kirim "
               "SMS BANTUAN ke nomor kantor desa.",
               "Sorry, we cannot answer that with confidence. Please come to the counter, or text BANTUAN to the "
               "office's number."),
    "too_long": (f"Pertanyaan terlalu panjang (paling banyak {MAX_CHARS} huruf).",
                 f"The question is too long (at most {MAX_CHARS} characters)."),
    "offline": ("Situs tidak tersambung ke sistem kantor. Coba lagi sebentar lagi.",
                "The site is not connected to the office's system. Try again shortly."),
    "to_staff": ("Kirim pertanyaan ini ke petugas", "Send this question to the staff"),
    "to_staff_hint": ("Petugas kantor desa akan menjawab pada jam kerja. Anda mendapat kode untuk melihat "
                      "jawabannya di sini.",
                      "The office's staff answer during working hours. You get a code to read the answer here."),
    "phone": ("Nomor HP (boleh kosong)", "Mobile number (optional)"),
    "sms_optin": ("Kirimi saya jawabannya lewat SMS", "Send me the answer by SMS"),
    "send": ("Kirim ke petugas", "Send to the staff"),
    "sent_title": ("Pertanyaan Anda", "Your question"),
    "code": ("Kode pertanyaan: {code}", "Question code: {code}"),
    "keep_code": ("Simpan kode atau alamat halaman ini untuk melihat jawabannya nanti.",
                  "Keep the code or this page's address to read the answer later."),
    "sms_coming": ("Jawaban juga akan dikirim lewat SMS.", "The answer will also be sent by SMS."),
    "st_open": ("Belum dijawab. Petugas akan menjawab pada jam kerja.",
                "Not answered yet. The staff answer during working hours."),
    "st_answered": ("Sudah dijawab", "Answered"),
    "live": ("Halaman ini diperbarui otomatis.", "This page updates automatically."),
    "come_back": ("Jawaban muncul di sini. Buka lagi halaman ini nanti.",
                  "The answer appears here. Open this page again later."),
    "st_dismissed": ("Pertanyaan ini tidak dijawab lewat situs. Silakan datang ke kantor desa.",
                     "This question is not answered online. Please come to the village office."),
    "not_found": ("Kode tidak ditemukan (atau pertanyaan sudah dihapus setelah masa simpannya).",
                  "Code not found (or the question was deleted after its keeping period)."),
    "too_many": ("Terlalu banyak pertanyaan dari sini hari ini. Silakan coba besok atau datang ke kantor desa.",
                 "Too many questions from here today. Please try tomorrow or come to the office."),
    "bad_phone": ("Nomor HP tidak sah. Tulis nomor seperti 0812xxxxxxxx.",
                  "Not a valid mobile number. Write it like 0812xxxxxxxx."),
    "empty": ("Tulis pertanyaan Anda dulu.", "Write your question first."),
    "need_phone": ("Untuk jawaban lewat SMS, tulis nomor HP Anda.", "For an answer by SMS, write your number."),
}


def ft(key: str, lang: str, **values: str) -> str:
    pair = TEXTS[key]
    s = pair[1] if lang == "en" else pair[0]
    return s.format(**values) if values else s


def routes(w: "WebApp") -> list[Route]:
    async def tanya(request: Request) -> Response:
        lang = w.lang(request)
        question, answer, problem, status = "", None, None, 200
        if request.method == "POST":
            # POST, not GET: a question in the address would be in every access log.
            form, refused = await w.form(request)
            if refused:
                return refused
            question = " ".join(form.get("q", "").split())
            if len(question) > MAX_CHARS:
                problem, status = ft("too_long", lang), 400
            elif question:
                reply = await w.bridge.request("ask", {"question": question}) if w.bridge.available else None
                if reply is None or not reply.ok:
                    problem, status = ft("offline", lang), 503
                else:
                    answer = reply.result.get("answer") or ft("unsure", lang)
        unsure = bool(question) and answer == ft("unsure", lang) and problem is None
        return w.render(request, "tanya.html", status, question=question, answer=answer, problem=problem,
                        ft=lambda key, **v: ft(key, lang, **v), max_chars=MAX_CHARS, unsure=unsure,
                        sms=bool(w.cfg.notify.sms))

    async def send(request: Request) -> Response:
        """"Kirim ke petugas": the question into the staff's inbox; the resident goes to its page."""
        lang = w.lang(request)
        form, refused = await w.form(request)
        if refused:
            return refused
        question = " ".join(form.get("q", "").split())
        phone = "".join(ch for ch in form.get("phone", "") if ch.isdigit() or ch == "+")[:20]
        notify = form.get("sms") == "1" and bool(w.cfg.notify.sms)
        problem = None
        if not question:
            # Nothing to send (the hidden field came back empty): the plain question form, no "not sure" answer.
            return w.render(request, "tanya.html", 400, question="", answer=None, problem=ft("empty", lang),
                            ft=lambda key, **v: ft(key, lang, **v), max_chars=MAX_CHARS, unsure=False,
                            sms=bool(w.cfg.notify.sms))
        if len(question) > MAX_CHARS:
            problem = ft("too_long", lang)
        elif notify and not phone:
            problem = ft("need_phone", lang)
        elif not w.bridge.available:
            problem = ft("offline", lang)
        if problem is None:
            args = {"question": question, "channel": "web", "address": w.client_ip(request)}
            if phone and notify:
                args |= {"phone": phone, "notify": True}
            reply = await w.bridge.request("question_submit", args, request_id=w.request_id(form))
            if reply.ok:
                # ?sms=1 only says the opt-in was taken (the page confirms it in words); it gives nothing away.
                sms = "&sms=1" if reply.result.get("sms") else ""
                return RedirectResponse(f"/tanya/{reply.result['code']}?baru=1{sms}", status_code=303)
            problem = {"too_many_questions": ft("too_many", lang), "invalid_argument": ft("bad_phone", lang),
                       "invalid_phone": ft("bad_phone", lang)}.get(reply.code, ft("offline", lang))
        return w.render(request, "tanya.html", 400, question=question, answer=ft("unsure", lang), problem=problem,
                        ft=lambda key, **v: ft(key, lang, **v), max_chars=MAX_CHARS, unsure=True,
                        sms=bool(w.cfg.notify.sms))

    async def status(request: Request) -> Response:
        """The resident's question and, once given, the staff's answer (whoever holds the code)."""
        lang = w.lang(request)
        code = clean_question_code(request.path_params["code"][:24])
        reply = await w.bridge.request("question_status", {"code": code, "address": w.client_ip(request)}) \
            if code else None
        if reply is not None and reply.code == "too_many_attempts":
            # This address spent the code budget it shares with the other followed codes (not "not found": a
            # resident behind the same NAT may hold this very code).
            response = w.render(request, "tanya_status.html", 429, item=None,
                                ft=lambda key, **v: ft(key, lang, **v),
                                problem=follow_ft("cek_too_many", lang, minutes=GUESS_MINUTES))
            response.headers["Retry-After"] = str(GUESS_MINUTES * 60)
            return response
        if reply is None or not reply.ok:
            status = 503 if reply is not None and reply.code != "question_not_found" else 404
            return w.render(request, "tanya_status.html", status, item=None, ft=lambda key, **v: ft(key, lang, **v),
                            problem=ft("not_found" if status == 404 else "offline", lang))
        item = reply.result | {"code_text": format_question_code(reply.result["code"])}
        return w.render(request, "tanya_status.html", item=item, ft=lambda key, **v: ft(key, lang, **v),
                        fresh=request.query_params.get("baru"), sms=request.query_params.get("sms") == "1",
                        problem=None)

    return [Route("/tanya", tanya, methods=["GET", "POST"]), Route("/tanya/kirim", send, methods=["POST"]),
            Route("/tanya/{code}", status)]
