"""A letter (surat) as PDF: the office's letterhead (kop surat), the number, the holder's details, the
Indonesian date, the signer, and a QR code that opens the letter's verification page.

Templates are Jinja2 HTML with CSS, looked up first in ``[letters] templates`` (the office's folder: copy
``surat.html`` / ``surat.css`` / ``register.html`` there and edit them; a type may name its own template) and
then in the built-in ``templates/`` folder. They run in Jinja2's sandbox with autoescaping, so what a
resident typed is always text, never markup. WeasyPrint fetches nothing from the network: the logo and the QR
code are embedded as ``data:`` URLs, and every other URL is refused.

>>> pdf = render_letter_pdf(cfg, letter, verify_url="https://sukamaju.desa.id/surat/cek/...")  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import io
import re
import socket
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

from antre.config import Config, LetterTypeConfig
from antre.wording import day_month_year

HERE = Path(__file__).with_name("templates")
PAPER = {"A4": "210mm 297mm", "F4": "215mm 330mm"}


class TemplateError(ValueError):
    """The office's template cannot be used (missing, or broken Jinja2)."""


def environment(cfg: Config):
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    folders = [cfg.letters.templates] if cfg.letters.templates else []
    return SandboxedEnvironment(loader=jinja2.FileSystemLoader(folders + [str(HERE)]),
                                autoescape=True, undefined=jinja2.StrictUndefined)


def data_url(data: bytes, media_type: str) -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"


def qr_png(payload: str) -> bytes:
    import qrcode

    code = qrcode.QRCode(border=2, box_size=8, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(payload)
    code.make(fit=True)
    buf = io.BytesIO()
    code.make_image(fill_color="black", back_color="white").save(buf, format="PNG")
    return buf.getvalue()


def site_url(cfg: Config) -> str:
    """Where residents reach the website: ``[web] public_url``, else this machine's name and the web port."""
    if cfg.web.public_url:
        return cfg.web.public_url.rstrip("/")
    host = cfg.web.host if cfg.web.host not in ("0.0.0.0", "::", "") else socket.gethostname()
    return f"http://{host}:{cfg.web.port}"


def verify_url(cfg: Config, token: str) -> str:
    return f"{site_url(cfg)}/surat/cek/{token}"


def _label(text: str) -> str:
    """A form label as the letter writes it: ``"NIK (16 angka)"`` -> ``"NIK"``."""
    return re.sub(r"\s*\([^)]*\)\s*$", "", text).strip() or text


def _display(t: LetterTypeConfig | None, values: dict[str, str]) -> dict[str, str]:
    """Field values as a letter writes them: dates in Indonesian."""
    out = dict(values)
    for f in (t.fields if t else ()):
        if f.type in ("date", "past_date") and f.name in out:
            try:
                out[f.name] = day_month_year(date.fromisoformat(out[f.name]))
            except ValueError:
                pass
    return out


def letter_context(cfg: Config, letter: dict[str, Any], *, verify: str, today: date) -> dict[str, Any]:
    """What a letter template gets. ``letter`` is the service's ``letter_get`` result."""
    from markupsafe import Markup, escape

    t = cfg.letters.type(letter["type"])
    values = _display(t, letter.get("fields") or {})
    rows = [(_label(f.label), values[f.name]) for f in (t.fields if t else ()) if values.get(f.name)]
    body = ""
    if t and t.body:
        filled = defaultdict(lambda: "-", {k: escape(v) for k, v in values.items()})
        body = Markup(str(escape(t.body)).format_map(filled))
    signer = next((s for s in cfg.letters.signers if s.id == letter.get("signer")), cfg.letters.signers[0])
    signed = letter.get("signed_at")
    signed_on = datetime.fromisoformat(signed).astimezone(cfg.office.tz).date() if signed else today
    logo = ""
    if cfg.office.logo and Path(cfg.office.logo).is_file():
        logo = data_url(Path(cfg.office.logo).read_bytes(), "image/png")
    valid_until = letter.get("valid_until")
    return {
        "letters": cfg.letters, "office": cfg.office, "type": t, "type_name": letter.get("type_name"),
        "title": (t.name if t else letter.get("type_name", "")).upper(), "number": letter.get("number") or "",
        "rows": rows, "values": values, "body": body, "signer": signer, "logo": logo,
        "date_line": f"{cfg.letters.place}, {day_month_year(signed_on)}",
        "valid_until": day_month_year(date.fromisoformat(valid_until)) if valid_until else "",
        "draft": not signed, "revoked": bool(letter.get("revoked_at")),
        "qr": data_url(qr_png(verify), "image/png"), "verify_url": verify,
        "paper": PAPER[cfg.letters.paper], "paper_name": cfg.letters.paper,
    }


def _css(env, name: str) -> str:
    import jinja2

    try:
        source, _, _ = env.loader.get_source(env, name)
    except jinja2.TemplateNotFound:
        raise TemplateError(f"letter stylesheet {name!r} not found") from None
    return source


def render_letter_html(cfg: Config, letter: dict[str, Any], *, verify: str, today: date) -> str:
    import jinja2

    env = environment(cfg)
    t = cfg.letters.type(letter["type"])
    name = (t.template if t and t.template else "surat.html")
    try:
        template = env.get_template(name)
        ctx = letter_context(cfg, letter, verify=verify, today=today)
        return template.render(ctx | {"css": _css(env, "surat.css")})
    except jinja2.TemplateError as exc:
        raise TemplateError(f"letter template {name}: {exc}") from None


def html_to_pdf(html: str) -> bytes:
    """HTML to PDF with WeasyPrint, fetching nothing but ``data:`` URLs."""
    import weasyprint
    from weasyprint.urls import URLFetcher

    return weasyprint.HTML(string=html, base_url=None,
                           url_fetcher=URLFetcher(allowed_protocols=("data",))).write_pdf()


def render_letter_pdf(cfg: Config, letter: dict[str, Any], *, verify: str, today: date) -> bytes:
    return html_to_pdf(render_letter_html(cfg, letter, verify=verify, today=today))


__all__ = ["render_letter_pdf", "render_letter_html", "letter_context", "verify_url", "site_url", "html_to_pdf",
           "TemplateError", "qr_png", "environment", "PAPER"]
