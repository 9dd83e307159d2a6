"""The paper ticket: its layout, and two renderers of that layout.

The layout is a pure function of the ticket and the office settings. It returns a
list of small blocks (:class:`Text`, :class:`Image`, :class:`QR`, :class:`Feed`,
:class:`Cut`), and two renderers draw the *same* blocks:

* :func:`print_ticket` drives any python-escpos printer object (``Usb``,
  ``Network``, ``Dummy`` ...);
* :func:`render_png` / :func:`render_image` draw a preview at the printer's own
  resolution (one pixel per printer dot: 576 px for 80 mm paper, 384 px for 58 mm),
  so what you see is what the resident gets.

Example::

    from escpos.printer import Dummy
    from antre import config
    from antre_kiosk import ticket

    cfg = config.load_defaults()
    info = ticket.TicketInfo.from_result(reply["result"], requirements=cfg.service("adminduk").requirements)
    blocks = ticket.layout(info, cfg.office, paper_width=80)
    p = Dummy()
    ticket.print_ticket(p, blocks, paper_width=80)
    ticket.render_png(blocks, "ticket.png", paper_width=80)

Text is kept to what a thermal printer's code page 437 can print (see
:func:`printable`): typographic dashes and quotes become ASCII, accents that
CP437 lacks are dropped (``ř`` -> ``r``), and anything else becomes ``?``. The
layout already applies this, so the preview shows exactly what prints.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import textwrap
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Sequence, Union

from antre.wording import ask_about_ticket, whatsapp_link
from antre.wording import long_datetime as format_datetime  # ``Senin, 30 November 2026 08.02``

if TYPE_CHECKING:  # pragma: no cover
    from escpos.escpos import Escpos
    from PIL.Image import Image as PILImage

    from antre.config import Config, OfficeConfig

log = logging.getLogger(__name__)

PaperWidth = Literal[58, 80]
Lang = Literal["id", "en"]

#: Printable dots across the paper: 80 mm rolls print 72 mm, 58 mm rolls 48 mm, at 8 dots/mm.
PAPER_DOTS = {80: 576, 58: 384}
#: Characters per line in font A (12 x 24 dots).
PAPER_COLUMNS = {80: 48, 58: 32}
CHAR_W, CHAR_H = 12, 24
#: Default line spacing (ESC 2), in dots.
LINE_PITCH = 30
MAX_SIZE = 8

PRIORITIES = ("lansia", "disabilitas", "ibu_hamil")


# --------------------------------------------------------------------------
# The ticket.
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class TicketInfo:
    """What one printed ticket says. Built from the ``issue_ticket`` reply with :meth:`from_result`."""

    number: str
    service: str
    service_name: str
    issued_at: datetime
    business_date: date
    priority: str | None = None
    channel: str = "kiosk"
    ahead: int = 0
    estimated_wait_minutes: float | None = None
    requirements: tuple[str, ...] = ()
    service_name_en: str = ""
    status_url: str = ""  # the website's status page for this ticket ([web] public_url), for the QR code
    rating_code: str = ""  # the 4 digits that let the ticket's holder rate it (``issue_ticket``'s rating_code)
    chat_url: str = ""  # a wa.me click-to-chat link to the office's WhatsApp ([notify] whatsapp_number)

    @classmethod
    def from_result(cls, result: dict[str, Any], requirements: Sequence[str] = (),
                    service_name_en: str = "") -> "TicketInfo":
        """The ticket in an ``issue_ticket`` reply's ``result``.

        ``requirements`` (documents to bring) and ``service_name_en`` come from the
        kiosk's own configuration (``cfg.service(code)``). Raises :class:`ValueError`
        naming the field when the result is malformed.
        """
        def need(key: str, kind: type | tuple[type, ...]) -> Any:
            if key not in result:
                raise ValueError(f"ticket result has no '{key}'")
            value = result[key]
            if not isinstance(value, kind) or isinstance(value, bool):
                raise ValueError(f"ticket result '{key}' has the wrong type: {value!r}")
            return value

        number = need("number", str)
        try:
            issued_at = datetime.fromisoformat(need("issued_at", str))
            business_date = date.fromisoformat(need("business_date", str))
        except ValueError as exc:
            raise ValueError(f"ticket result has a bad date or time: {exc}") from None
        if issued_at.tzinfo is None:
            raise ValueError("ticket result 'issued_at' must carry a UTC offset")
        priority = result.get("priority")
        if priority is not None and priority not in PRIORITIES:
            raise ValueError(f"ticket result 'priority' is unknown: {priority!r}")
        wait = result.get("estimated_wait_minutes")
        if wait is not None and (isinstance(wait, bool) or not isinstance(wait, (int, float))):
            raise ValueError(f"ticket result 'estimated_wait_minutes' has the wrong type: {wait!r}")
        ahead = result.get("ahead", 0)
        if isinstance(ahead, bool) or not isinstance(ahead, int) or ahead < 0:
            raise ValueError(f"ticket result 'ahead' must be a whole number >= 0: {ahead!r}")
        code = result.get("rating_code")
        if code is not None and not (isinstance(code, str) and len(code) == 4 and code.isascii() and code.isdigit()):
            raise ValueError(f"ticket result 'rating_code' must be 4 digits: {code!r}")
        return cls(
            number=number,
            service=need("service", str),
            service_name=str(result.get("service_name") or result["service"]),
            issued_at=issued_at,
            business_date=business_date,
            priority=priority,
            channel=str(result.get("channel") or "kiosk"),
            ahead=ahead,
            estimated_wait_minutes=wait,
            requirements=tuple(str(r) for r in requirements),
            service_name_en=service_name_en,
            rating_code=code or "",
        )


# --------------------------------------------------------------------------
# Blocks.
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Text:
    """One or more lines (``\\n``-separated, already wrapped) in font A.

    ``width`` and ``height`` are the printer's character multipliers, 1-8.
    """
    text: str
    width: int = 1
    height: int = 1
    align: Literal["left", "center", "right"] = "center"
    bold: bool = False
    invert: bool = False

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n")


@dataclass(frozen=True)
class Image:
    """A picture (the office logo) from a file, scaled to fit ``max_width`` x ``max_height`` dots, centred."""
    path: str
    max_width: int
    max_height: int = 120


@dataclass(frozen=True)
class QR:
    """A QR code; ``size`` is the module size in dots (1-16)."""
    payload: str
    size: int = 6


@dataclass(frozen=True)
class Feed:
    lines: int = 1


@dataclass(frozen=True)
class Cut:
    """Feed the paper past the cutter and cut (a full cut where the printer can)."""


Block = Union[Text, Image, QR, Feed, Cut]


# --------------------------------------------------------------------------
# Text helpers.
# --------------------------------------------------------------------------

_ASCII_FOR = {
    "\u2013": "-", "\u2014": "-", "\u2012": "-", "\u2010": "-", "\u2011": "-", "\u2212": "-",
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"',
    "\u2026": "...", "\u00a0": " ", "\u2007": " ", "\u202f": " ", "\u2009": " ", "\u200b": "",
    "\u2022": "*", "\u00b7": ".", "\u2192": "->", "\u00d7": "x", "\u2122": "TM", "\u00ae": "(R)",
    "\u00a9": "(C)", "\u20ac": "EUR", "\u2116": "No.", "\t": " ",
}


def _cp437(ch: str) -> bool:
    try:
        ch.encode("cp437")
    except UnicodeEncodeError:
        return False
    return True


def printable(text: str, *, keep_nbsp: bool = False) -> str:
    """``text`` reduced to what a thermal printer's code page 437 prints.

    Characters CP437 has (``é``, ``±``, ``─``) stay; typographic punctuation becomes
    ASCII (``–`` -> ``-``, ``…`` -> ``...``); letters lose accents CP437 lacks
    (``ř`` -> ``r``); anything else becomes ``?``. Control characters other than
    newline are dropped.
    """
    out: list[str] = []
    for ch in text:
        if ch == "\n" or (" " <= ch < "\x7f") or (keep_nbsp and ch == "\u00a0"):
            out.append(ch)
        elif ch in _ASCII_FOR:
            out.append(_ASCII_FOR[ch])
        elif unicodedata.category(ch).startswith("C"):
            continue
        elif _cp437(ch):
            out.append(ch)
        else:
            base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
            out.append(base if base and all(_cp437(c) and c >= " " for c in base) else "?")
    return "".join(out)


def wrap(text: str, width: int, max_lines: int | None = None) -> str:
    """Word-wraps ``text`` to ``width`` columns (long words are broken), joined by newlines."""
    lines = textwrap.wrap(text, width=max(1, width), break_on_hyphens=False,
                          max_lines=max_lines, placeholder=" ...") if max_lines else \
        textwrap.wrap(text, width=max(1, width), break_on_hyphens=False)
    return "\n".join(lines) if lines else ""


_TEXTS = {
    "id": {
        "heading": "NOMOR ANTREAN",
        "ahead": "Antrean di depan Anda: {n} orang",
        "ahead_none": "Tidak ada yang di depan Anda.",
        "wait": "Perkiraan waktu tunggu: \u00b1\u00a0{n}\u00a0menit",
        "wait_short": "Perkiraan waktu tunggu: kurang dari 1 menit",
        "bring": "Siapkan: ",
        "thanks": "Terima kasih, silakan menunggu nomor Anda dipanggil.",
        "rating_code": "Kode penilaian layanan: {code}",
        "chat": "Ada pertanyaan? Pindai untuk chat WhatsApp kantor desa.",
        "lansia": "PRIORITAS: LANSIA",
        "disabilitas": "PRIORITAS: DISABILITAS",
        "ibu_hamil": "PRIORITAS: IBU HAMIL",
    },
    "en": {
        "heading": "QUEUE NUMBER",
        "ahead": "People ahead of you: {n}",
        "ahead_none": "Nobody is ahead of you.",
        "wait": "Estimated wait: \u00b1\u00a0{n}\u00a0minutes",
        "wait_short": "Estimated wait: under 1 minute",
        "bring": "Please bring: ",
        "thanks": "Thank you. Please wait until your number is called.",
        "rating_code": "Service rating code: {code}",
        "chat": "Questions? Scan to chat with the office on WhatsApp.",
        "lansia": "PRIORITY: ELDERLY",
        "disabilitas": "PRIORITY: DISABILITY",
        "ibu_hamil": "PRIORITY: PREGNANT",
    },
}


def chat_url(whatsapp_number: str, office_name: str, business_date: "date", number: str) -> str:
    """The ticket's click-to-chat link (``https://wa.me/<number>?text=...``, the ticket's number and day typed
    in), or "" when the office gives no WhatsApp number (``[notify] whatsapp_number``)."""
    if not whatsapp_number:
        return ""
    return whatsapp_link(whatsapp_number, ask_about_ticket(office_name, number, business_date))


def status_url(public_url: str, business_date: "date", number: str, rating_code: str = "") -> str:
    """The website's status page of a ticket (``[web] public_url``), or "" without a public website;
    with the ticket's rating code as ``?kode=`` so a scan can fill it in."""
    if not public_url:
        return ""
    url = f"{public_url.rstrip('/')}/status/{business_date.isoformat()}/{number}"
    return f"{url}?kode={rating_code}" if rating_code else url


def qr_payload(ticket: TicketInfo, office_id: str) -> str:
    """What the QR code says: the ticket's status page when the office's website is public
    (``[web] public_url``), else ``ANTRE|<office>|<business date>|<number>`` (and ``|<rating code>``)."""
    if ticket.status_url:
        return ticket.status_url
    text = f"ANTRE|{office_id}|{ticket.business_date.isoformat()}|{ticket.number}"
    return f"{text}|{ticket.rating_code}" if ticket.rating_code else text


def number_size(number: str, paper_width: PaperWidth) -> tuple[int, int]:
    """(width, height) multipliers that print ``number`` as large as fits on one line."""
    width = max(1, min(MAX_SIZE, PAPER_DOTS[paper_width] // (max(1, len(number)) * CHAR_W)))
    return width, MAX_SIZE


# --------------------------------------------------------------------------
# The layout.
# --------------------------------------------------------------------------

def layout(ticket: TicketInfo, office: "OfficeConfig", *, paper_width: PaperWidth = 80,
           lang: Lang = "id") -> list[Block]:
    """The blocks of one ticket, top to bottom. Pure: reads no files and no clock."""
    if paper_width not in PAPER_DOTS:
        raise ValueError(f"paper_width must be 58 or 80, not {paper_width!r}")
    if lang not in _TEXTS:
        raise ValueError(f"lang must be 'id' or 'en', not {lang!r}")
    t = _TEXTS[lang]
    cols = PAPER_COLUMNS[paper_width]
    dots = PAPER_DOTS[paper_width]
    blocks: list[Block] = []

    def text(s: str, *, width: int = 1, height: int = 1, bold: bool = False, invert: bool = False,
             max_lines: int | None = None, align: Literal["left", "center", "right"] = "center") -> None:
        # A no-break space keeps "± 15 menit" together; it prints as a plain space.
        wrapped = wrap(printable(s, keep_nbsp=True), cols // width, max_lines).replace("\u00a0", " ")
        if wrapped:
            blocks.append(Text(wrapped, width=width, height=height, align=align, bold=bold, invert=invert))

    rule = printable("\u2500") * cols

    if office.logo:
        blocks.append(Image(office.logo, max_width=dots * 2 // 3, max_height=120))
    name = printable(office.name)
    if len(name) <= cols // 2:
        text(name, width=2, height=2, bold=True)
    else:
        text(name, height=2, bold=True)
    if office.address:
        text(office.address, max_lines=3)
    blocks.append(Text(rule))
    text(t["heading"], bold=True)
    w, h = number_size(ticket.number, paper_width)
    text(ticket.number, width=w, height=h, bold=True)
    service = ticket.service_name_en if (lang == "en" and ticket.service_name_en) else ticket.service_name
    text(service, height=2, bold=True, max_lines=3)
    if ticket.priority:
        label = t.get(ticket.priority, ticket.priority.upper())
        blocks.append(Feed(1))
        label = printable(label)[:cols]
        blocks.append(Text(f" {label} " if len(label) + 2 <= cols else label, height=2, bold=True, invert=True))
    blocks.append(Feed(1))
    text(format_datetime(ticket.issued_at.astimezone(office.tz), lang))
    blocks.append(Text(rule))
    text(t["ahead"].format(n=ticket.ahead) if ticket.ahead else t["ahead_none"])
    wait = ticket.estimated_wait_minutes
    if wait is not None:
        text(t["wait"].format(n=int(math.ceil(wait))) if wait >= 1 else t["wait_short"])
    if ticket.requirements:
        text(t["bring"] + ", ".join(ticket.requirements), max_lines=3)
    if ticket.rating_code:
        blocks.append(Feed(1))
        text(t["rating_code"].format(code=ticket.rating_code), bold=True)
    blocks.append(Feed(1))
    blocks.append(QR(qr_payload(ticket, office.id), size=6 if paper_width == 80 else 5))
    if ticket.chat_url:   # answered by a person on the office's WhatsApp: no internet needed at the office
        blocks.append(Feed(1))
        text(t["chat"], max_lines=2)
        blocks.append(QR(ticket.chat_url, size=4 if paper_width == 80 else 3))
    text(t["thanks"])
    blocks.append(Cut())
    return blocks


# --------------------------------------------------------------------------
# Renderer 1: an ESC/POS printer.
# --------------------------------------------------------------------------

def receipt(office_name: str, title: str, code_label: str, code: str, note: str, *, subtitle: str = "",
            qr: str = "", paper_width: PaperWidth = 80) -> list[Block]:
    """A printed receipt of something filed at the kiosk (a letter request, a report): the office, what it is,
    its code large (the resident's key to follow it), a QR code of its status page (``qr``; none without a
    public website) and a note on what to do with the slip. Never personal data: the caller passes none."""
    cols = 48 if paper_width == 80 else 32
    blocks: list[Block] = [Text(wrap(printable(office_name), cols), bold=True), Feed(),
                           Text(wrap(printable(title), cols), bold=True)]
    if subtitle:
        blocks.append(Text(wrap(printable(subtitle), cols)))
    blocks += [Feed(), Text(printable(code_label)), Text(printable(code), width=2, height=2, bold=True), Feed()]
    if qr:
        blocks.append(QR(qr, size=6 if paper_width == 80 else 5))
    blocks += [Text(wrap(printable(note), cols)), Feed(2), Cut()]
    return blocks


def load_image(block: Image) -> "PILImage":
    """The picture exactly as it prints: 1-bit, dithered, scaled to fit the block's box."""
    from PIL import Image as PIL_Image

    with PIL_Image.open(block.path) as src:
        src.load()
        rgba = src.convert("RGBA")
    bg = PIL_Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    grey = PIL_Image.alpha_composite(bg, rgba).convert("L")
    scale = min(block.max_width / grey.width, block.max_height / grey.height)
    size = (max(1, round(grey.width * scale)), max(1, round(grey.height * scale)))
    return grey.resize(size, PIL_Image.LANCZOS).convert("1")


def _ensure_media_width(printer: "Escpos", dots: int) -> None:
    """Tells the printer object its paper width when its profile does not know it.

    python-escpos centres images with the profile's ``media.width.pixels``; the
    default profile says "Unknown" (and prints a warning on every image).
    """
    data = printer.profile.profile_data
    try:
        int(data["media"]["width"]["pixels"])
        return
    except (KeyError, TypeError, ValueError):
        pass
    media = dict(data.get("media") or {})
    media["width"] = {**(media.get("width") or {}), "pixels": dots}
    cls = type(printer.profile)
    derived = type(cls.__name__, (cls,), {"profile_data": {**data, "media": media}})
    printer.profile = derived()


def print_ticket(printer: "Escpos", blocks: Sequence[Block], *, paper_width: PaperWidth = 80) -> None:
    """Sends ``blocks`` to a python-escpos printer object.

    Starts with ESC @ (reset), so the printer's state from an earlier job does not
    leak in. Raises whatever the printer's transport raises.
    """
    from escpos.constants import QR_ECLEVEL_M

    dots = PAPER_DOTS[paper_width]
    _ensure_media_width(printer, dots)
    printer.hw("INIT")
    for block in blocks:
        if isinstance(block, Text):
            printer.set(align=block.align, bold=block.bold, invert=block.invert,
                        custom_size=True, width=block.width, height=block.height)
            for line in block.lines:
                printer.textln(printable(line))
        elif isinstance(block, Image):
            try:
                img = load_image(block)
            except OSError as exc:
                log.warning("logo %s not printed: %s", block.path, exc)
                continue
            printer.image(img, center=True)
        elif isinstance(block, QR):
            printer.set(align="center", custom_size=True, width=1, height=1, bold=False, invert=False)
            if printer.profile.supports("qrCode"):
                printer.qr(block.payload, ec=QR_ECLEVEL_M, size=block.size, native=True)
                printer.ln()
            else:
                printer.qr(block.payload, ec=QR_ECLEVEL_M, size=block.size, native=False, center=True)
        elif isinstance(block, Feed):
            printer.ln(block.lines)
        elif isinstance(block, Cut):
            printer.set(align="left", bold=False, invert=False, custom_size=True, width=1, height=1)
            printer.cut()
        else:
            raise TypeError(f"not a ticket block: {block!r}")


def ticket_bytes(blocks: Sequence[Block], *, paper_width: PaperWidth = 80, profile: Any = None) -> bytes:
    """The exact bytes :func:`print_ticket` sends, recorded with ``escpos.printer.Dummy``."""
    from escpos.printer import Dummy

    dummy = Dummy(profile=profile)
    print_ticket(dummy, blocks, paper_width=paper_width)
    return dummy.output


# --------------------------------------------------------------------------
# Renderer 2: a preview image, one pixel per printer dot.
# --------------------------------------------------------------------------

_FONT_DIRS = (
    "/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/share/fonts/TTF",
    "/usr/share/fonts/truetype/noto", "/usr/local/share/fonts",
)
_FONT_FILES = {
    False: ("DejaVuSansMono.ttf", "NotoSansMono-Regular.ttf", "LiberationMono-Regular.ttf"),
    True: ("DejaVuSansMono-Bold.ttf", "NotoSansMono-Bold.ttf", "LiberationMono-Bold.ttf"),
}


def find_font(bold: bool = False) -> str | None:
    """A monospaced TrueType font for previews: DejaVu Sans Mono, else Noto/Liberation Mono,
    else Kivy's bundled Roboto Mono; ``None`` when there is none (Pillow's own font is used)."""
    for name in _FONT_FILES[bold] + _FONT_FILES[False]:
        for d in _FONT_DIRS:
            p = Path(d) / name
            if p.is_file():
                return str(p)
    spec = importlib.util.find_spec("kivy")
    if spec and spec.submodule_search_locations:
        p = Path(list(spec.submodule_search_locations)[0]) / "data" / "fonts" / "RobotoMono-Regular.ttf"
        if p.is_file():
            return str(p)
    return None


@dataclass
class _Fonts:
    """Fonts by (bold, size), each with whether bold must be faked with a stroke."""
    cache: dict[tuple[bool, int], tuple[Any, bool]] = field(default_factory=dict)

    def get(self, bold: bool, size: int) -> tuple[Any, bool]:
        from PIL import ImageFont

        key = (bold, size)
        if key not in self.cache:
            path = find_font(bold)
            font = ImageFont.truetype(path, size) if path else ImageFont.load_default(size)
            fake_bold = bold and not (path and "Bold" in Path(path).name)
            self.cache[key] = (font, fake_bold)
        return self.cache[key]


def _line_pitch(height: int) -> int:
    return max(LINE_PITCH, CHAR_H * height + 6)


def _draw_text(canvas: "PILImage", y: int, line: str, block: Text, fonts: _Fonts, dots: int) -> None:
    from PIL import Image as PIL_Image, ImageDraw

    cell_w, cell_h = CHAR_W * block.width, CHAR_H * block.height
    font, fake_bold = fonts.get(block.bold, 20 * block.height)
    # Draw at the line's height, then squeeze or stretch to the printer's cell width.
    natural = max(1, math.ceil(font.getlength(line)) + 2)
    advance = font.getlength("0") or (10 * block.height)
    target_w = max(1, min(dots, round(natural * cell_w / advance)))
    ascent, descent = font.getmetrics()
    ink = PIL_Image.new("L", (natural, ascent + descent), 0)
    ImageDraw.Draw(ink).text((1, 0), line, font=font, fill=255, stroke_width=1 if fake_bold else 0,
                             stroke_fill=255)
    ink = ink.resize((target_w, cell_h), PIL_Image.LANCZOS)
    x = {"center": (dots - target_w) // 2, "right": dots - target_w}.get(block.align, 0)
    colour = 0
    if block.invert:
        # The printer inverts whole character cells: a black bar with white letters.
        cells_w = min(dots, len(line) * cell_w)
        cx = {"center": (dots - cells_w) // 2, "right": dots - cells_w}.get(block.align, 0)
        ImageDraw.Draw(canvas).rectangle((cx, y, cx + cells_w - 1, y + cell_h + 5), fill=0)
        colour = 255
    canvas.paste(colour, (x, y + 3, x + target_w, y + 3 + cell_h), mask=ink)


def _qr_matrix(payload: str) -> list[list[bool]]:
    import qrcode

    code = qrcode.QRCode(version=None, border=0, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(payload)
    code.make(fit=True)
    return code.get_matrix()


def render_image(blocks: Sequence[Block], paper_width: PaperWidth = 80) -> "PILImage":
    """The ticket as a greyscale picture, ``PAPER_DOTS[paper_width]`` pixels wide (1 px = 1 dot)."""
    from PIL import Image as PIL_Image, ImageDraw

    dots = PAPER_DOTS[paper_width]
    fonts = _Fonts()
    # First pass: measure; second pass: draw. Heights are small, so just draw on a tall canvas and crop.
    canvas = PIL_Image.new("L", (dots, 20000), 255)
    draw = ImageDraw.Draw(canvas)
    y = 16
    for block in blocks:
        if isinstance(block, Text):
            for line in block.lines:
                _draw_text(canvas, y, printable(line), block, fonts, dots)
                y += _line_pitch(block.height)
        elif isinstance(block, Image):
            try:
                img = load_image(block)
            except OSError as exc:
                log.warning("logo %s not drawn: %s", block.path, exc)
                continue
            canvas.paste(img.convert("L"), ((dots - img.width) // 2, y))
            y += img.height
        elif isinstance(block, QR):
            matrix = _qr_matrix(block.payload)
            n = len(matrix)
            x0 = (dots - n * block.size) // 2
            y += LINE_PITCH // 2
            for r, row in enumerate(matrix):
                for c, dark in enumerate(row):
                    if dark:
                        draw.rectangle((x0 + c * block.size, y + r * block.size,
                                        x0 + (c + 1) * block.size - 1, y + (r + 1) * block.size - 1), fill=0)
            y += n * block.size + LINE_PITCH
        elif isinstance(block, Feed):
            y += LINE_PITCH * block.lines
        elif isinstance(block, Cut):
            y += LINE_PITCH * 2
            for x in range(0, dots, 12):
                draw.line((x, y, x + 6, y), fill=150, width=2)
            y += 2
            break
    return canvas.crop((0, 0, dots, y))


def render_png(blocks: Sequence[Block], path: str | Path, paper_width: PaperWidth = 80) -> Path:
    """Writes the preview of ``blocks`` to ``path`` (PNG) and returns the path."""
    out = Path(path)
    render_image(blocks, paper_width).save(out, format="PNG", optimize=True)
    return out


# --------------------------------------------------------------------------
# A sample ticket from the configuration.
# --------------------------------------------------------------------------

#: The rating code printed on a sample ticket (a real one comes from the service).
SAMPLE_RATING_CODE = "0387"


def sample_ticket(cfg: "Config", *, service: str | None = None, number: int = 12, ahead: int = 3,
                  priority: str | None = None, now: datetime | None = None) -> TicketInfo:
    """A plausible ticket for ``service`` (default: the first service), for previews and test prints."""
    from datetime import timezone

    svc = cfg.service(service) if service else cfg.services[0]
    if svc is None:
        raise ValueError(f"unknown service '{service}' (services: {', '.join(s.code for s in cfg.services)})")
    issued = now or datetime.now(timezone.utc)
    if issued.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    minutes = svc.default_minutes or cfg.queue.default_service_minutes
    day = issued.astimezone(cfg.office.tz).date()
    text = f"{svc.prefix}-{number:0{cfg.queue.number_width}d}"
    return TicketInfo(
        number=text,
        service=svc.code, service_name=svc.name, service_name_en=svc.name_en,
        issued_at=issued, business_date=day,
        priority=priority, ahead=ahead, estimated_wait_minutes=ahead * minutes,
        requirements=tuple(svc.requirements),
        # The same QR code as a printed ticket: the status page when the website is public.
        status_url=status_url(cfg.web.public_url, day, text, SAMPLE_RATING_CODE),
        rating_code=SAMPLE_RATING_CODE,
        chat_url=chat_url(cfg.notify.whatsapp_number, cfg.office.name, day, text),
    )


def preview_ticket(out_path: str | Path, cfg: "Config", *, service: str | None = None,
                   paper_width: PaperWidth | None = None, lang: Lang | None = None,
                   priority: str | None = None, now: datetime | None = None) -> Path:
    """Writes a preview PNG of a sample ticket (``antre kiosk --preview-ticket OUT.png``).

    Paper width and language default to ``cfg.kiosk.paper_width`` and ``cfg.office.language``.
    """
    width = paper_width or cfg.kiosk.paper_width
    info = sample_ticket(cfg, service=service, priority=priority, now=now)
    blocks = layout(info, cfg.office, paper_width=width, lang=lang or cfg.office.language)
    return render_png(blocks, out_path, width)


__all__ = [
    "TicketInfo", "Text", "Image", "QR", "Feed", "Cut", "Block", "layout", "receipt", "print_ticket", "ticket_bytes",
    "render_image", "render_png", "preview_ticket", "sample_ticket", "printable", "format_datetime",
    "qr_payload", "status_url", "chat_url", "number_size", "PAPER_DOTS", "PAPER_COLUMNS",
]
