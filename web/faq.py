"""The residents' question page (``/tanya``): the office's FAQ assistant, the same one that answers SMS.

A plain form (POST, so no question lands in an access log; no JavaScript, nothing stored): the question goes to the service as the read-only command
``ask`` (antre/rules/faq.py) and the answer is shown; when the assistant is not sure, the page says how to
reach a person instead of guessing. Questions are never logged here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

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
}


def ft(key: str, lang: str) -> str:
    pair = TEXTS[key]
    return pair[1] if lang == "en" else pair[0]


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
        return w.render(request, "tanya.html", status, question=question, answer=answer, problem=problem,
                        ft=lambda key: ft(key, lang), max_chars=MAX_CHARS)

    return [Route("/tanya", tanya, methods=["GET", "POST"])]
