"""The touchscreen kiosk (Kivy): take a number, see it printed, rate the service.

Layout lives in ``kiosk.kv``; this module holds the small screen classes and the
:class:`KioskApp`, which wires plain objects to the screens:

- an :class:`~antre.link.mqtt.MqttLink` (retained state, the service's presence,
  events) and a :class:`~antre_kiosk.logic.CommandGate` (one command per touch);
- a :class:`~antre_kiosk.printer.TicketPrinter` (prints on its own thread);
- :func:`~antre_kiosk.logic.availability`, which decides what can work right now;
- the flows in :mod:`antre_kiosk.flows` (start screen, issuing, check-in, rating, staff
  PIN, printer status), which hold the decisions and send the commands.

Only the main thread touches widgets: MQTT and printer callbacks hand over with
``Clock.schedule_once``. The kiosk never touches the database.

Import this module only after Kivy's configuration is set (``antre_kiosk.cli`` does it).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.properties import (
    BooleanProperty,
    ColorProperty,
    ListProperty,
    NumericProperty,
    StringProperty,
)
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label
from kivy.uix.screenmanager import NoTransition, Screen, ScreenManager
from kivy.utils import escape_markup

from antre.apps.pictures import PictureTextures
from antre.config import Config
from antre.link.mqtt import MqttLink, Reply, Requester, client_id_for
from antre.link.protocol import Topics, read_object, read_presence
from antre.wording import clock_time

from . import logic, texts
from .assets import ASSETS, ensure_assets
from .flows import Message
from .flows.checkin import MISTYPED, SEND, CheckinFlow
from .flows.guidance import Guidance, typed_number
from .flows.letter_form import CHOICE, DATE, DIGITS, KEYBOARD, CatalogueReader, LetterFormFlow, slip
from .flows.callback import CallbackFlow, ComplaintFlow
from .flows.callback import slip as report_slip
from .flows.faq import MAX_BUTTONS, AskFlow, common_questions
from .flows.letters import LetterPickupFlow
from .flows.scan import LookupFlow, ScanReader, Scanned, read_code
from .flows.home import can_issue, home, service_subtext
from .flows.idle_news import IdleNews, may_show
from .flows.issuing import IssuingFlow, print_state, rating_code, ticket_number, ticket_view
from .flows.printer_status import PrinterStatus
from .flows.rating import ASK_MORE, RATING_CODE_DIGITS, NumberKeypad, RatingFlow
from .flows.staff import StaffPin
from .layout import metrics
from .printer import PrintResult, TicketPrinter
from .speech import Speaker

log = logging.getLogger(__name__)

KV = Path(__file__).with_name("kiosk.kv")
STAFF_HOLD_SECONDS = 3.0
THANKS_SECONDS = 6.0
MESSAGE_SECONDS = 12.0
#: Screens on which a scan shows its code's status; elsewhere (a form half filled, the rating, a ticket being
#: printed, the staff PIN) a scan is ignored.
SCAN_SCREENS = ("home", "news", "info", "message", "scan", "help", "faq", "answer", "checkin")
SCAN_SECONDS = 30.0
#: The on-screen keyboard's groups (:meth:`KioskApp._grouped_keys`): two touches a letter, each key 20 mm.
KEY_GROUPS = {"ABCDE": "ABCDE", "FGHIJ": "FGHIJ", "KLMNO": "KLMNO", "PQRST": "PQRST", "UVWXYZ": "UVWXYZ",
              "0-9": "1234567890", ".,?": ".,?-/"}
REQUEST_TIMEOUT = 3.0
#: The letter catalogue (kiosk_form) is read again from the service at most this often while the kiosk is idle.
CATALOGUE_SECONDS = 60.0


def asset(name: str) -> str:
    return str(ASSETS / name)


# ---------------------------------------------------------------------- widgets

#: A one-character key's font size as a share of the key's height: capitals about half the key's height.
GLYPH = 0.62
#: Background of secondary buttons (Info, priority): lighter than the panels, clearly touchable.
SECONDARY = (0.16, 0.30, 0.48, 1)


def _word_width(word: str, size: float) -> float:
    """The width of one bold word at ``size`` px."""
    from kivy.uix.label import Label

    probe = Label(text=word, bold=True, font_size=size)
    probe.texture_update()
    return probe.texture_size[0]


class EllipsisLabel(Label):
    """A wrapping label that ends with "…" where its text is cut at ``max_lines`` (Kivy's ``max_lines``
    cuts silently, and its ``shorten`` works on one line only). Set ``full_text``; ``text`` is what fits:
    the longest run of whole words that fits in ``max_lines`` lines at the label's width, then "…"."""

    full_text = StringProperty("")

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._fit_ev = Clock.create_trigger(self._fit)
        self.bind(full_text=self._fit_ev, width=self._fit_ev, max_lines=self._fit_ev, font_size=self._fit_ev)

    def _lines(self, text: str) -> int:
        from kivy.core.text import Label as CoreLabel

        def height(t: str) -> float:
            core = CoreLabel(text=t, font_size=self.font_size, font_name=self.font_name, bold=self.bold,
                             halign=self.halign, padding=self.padding, text_size=(self.width, None))
            return core.render()[1] - self.padding[1] - self.padding[3]
        return round(height(text) / max(1.0, height("Ag")))

    def _fit(self, *_: Any) -> None:
        text, limit = self.full_text, self.max_lines
        if not limit or self.width <= 1 or not text or self._lines(text) <= limit:
            self.text = text
            return
        words = text.split(" ")
        lo, hi = 0, len(words)          # words[:lo] + "…" fits; words[:hi] + "…" does not (hi = all)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self._lines(" ".join(words[:mid]).rstrip() + "…") <= limit:
                lo = mid
            else:
                hi = mid
        self.text = " ".join(words[:lo]).rstrip(" ,.;:") + "…"


class BigButton(ButtonBehavior, BoxLayout):
    """A large rounded touch target: an icon beside one or two lines of text."""

    tag = StringProperty("")
    icon = StringProperty("")
    text = StringProperty("")
    subtext = StringProperty("")
    bg = ColorProperty([0.08, 0.40, 0.75, 1])
    fg = ColorProperty([1, 1, 1, 1])
    font_size = NumericProperty(30)
    sub_size = NumericProperty(22)
    icon_size = NumericProperty(64)
    halign = StringProperty("left")
    selected = BooleanProperty(False)
    markup_text = StringProperty("")
    fit_size = NumericProperty(30)   # the font size the words are drawn at: shrunk to fit, never below min
    fits = BooleanProperty(True)     # False: even the smallest text overflows; the name (first) stays shown
    #: A key of one character (a letter, a digit): its font size is this share of the key's height, so the
    #: character is large on every panel (0: ``font_size`` as given). Still shrunk to fit a narrow key.
    glyph = NumericProperty(0)

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._fit_ev = None
        self.bind(height=self._glyph_size, glyph=self._glyph_size)
        self._glyph_size()
        self.bind(size=self._refit, font_size=self._refit, text=self._refit, subtext=self._refit,
                  sub_size=self._refit, icon_size=self._refit, icon=self._refit, padding=self._refit)

    #: Buttons whose words are still to be fitted (the UI is not settled until they are drawn).
    pending: "set[BigButton]" = set()

    def _glyph_size(self, *_: Any) -> None:
        if self.glyph:
            self.font_size = self.height * self.glyph

    def _refit(self, *_: Any) -> None:
        if self._fit_ev is None:
            BigButton.pending.add(self)
            self._fit_ev = Clock.schedule_once(self._fit)

    def _fit(self, *_: Any) -> None:
        """Shrinks the words until the name and its detail line fit the button, down to the kiosk's
        smallest text: a long service name is never cut off at the top."""
        from kivy.uix.label import Label

        self._fit_ev = None
        BigButton.pending.discard(self)
        app = App.get_running_app()
        floor = getattr(app, "min_font", 0)
        size = max(self.font_size, floor)
        width = self.width - self.padding[0] - self.padding[2] - (self.icon_size + self.spacing if self.icon else 0)
        height = self.height - self.padding[1] - self.padding[3]
        fits = True
        if width > 10 and height > 10 and (self.text or self.subtext):
            while True:
                markup = self._markup_for(size, floor)
                probe = Label(text=markup, markup=True, font_size=size, text_size=(width, None), line_height=1.05)
                probe.texture_update()
                tall = probe.texture_size[1] > height
                wide = any(_word_width(w, size) > width for w in self.text.split())   # no word broken
                if not (tall or wide) or size <= floor:
                    fits = not (tall or wide)
                    break
                size = max(floor, size - 2)
        self.fit_size = size
        self.fits = fits
        self.markup_text = self._markup_for(size, floor)

    def _markup_for(self, size: float, floor: float) -> str:
        text = f"[b]{escape_markup(self.text)}[/b]" if self.text else ""
        if self.subtext:
            scale = size / max(self.font_size, floor, 1)
            sub = max(self.sub_size * scale, floor)
            text += f"\n[size={int(sub)}]{escape_markup(self.subtext)}[/size]"
        return text

    def _markup(self) -> None:
        self._refit()


class FaceButton(ButtonBehavior, BoxLayout):
    """One face of the 4-point satisfaction scale: a drawn face above its word."""

    tag = StringProperty("")
    score = NumericProperty(4)
    text = StringProperty("")


class StaffCorner(BoxLayout):
    """The office name area; holding it for a few seconds opens the staff PIN pad."""

    __events__ = ("on_long_press",)

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._hold = None

    def on_touch_down(self, touch):
        if self.collide_point(*touch.pos):
            touch.grab(self)
            self._hold = Clock.schedule_once(lambda dt: self.dispatch("on_long_press"), STAFF_HOLD_SECONDS)
            return True
        return super().on_touch_down(touch)

    def on_touch_up(self, touch):
        if touch.grab_current is self:
            touch.ungrab(self)
            if self._hold is not None:
                self._hold.cancel()
                self._hold = None
            return True
        return super().on_touch_up(touch)

    def on_long_press(self) -> None:
        pass


class Keypad(GridLayout):
    """Digits 1-9, 0, delete and OK as big buttons. Dispatches ``on_key(key)``."""

    uid_prefix = StringProperty("key")
    ok_enabled = BooleanProperty(True)
    with_ok = BooleanProperty(True)   # False: no OK key (the screen's own Kirim / Lanjut does the same)
    letters = ListProperty([])   # ticket letters shown among the keys (the rating keypad on a short screen)
    __events__ = ("on_key",)

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.cols = 3
        self._ok: BigButton | None = None
        # Deferred for a Keypad declared in kiosk.kv (its rule's properties come after __init__); a pad made
        # in code is built at once by place_keys(), which cancels this.
        self._build_ev = Clock.schedule_once(self._build)
        self.bind(letters=lambda *_: self._build(0))

    def _build(self, dt: float) -> None:
        """Three rows of keys on a short (7-inch) screen, so each is 20 mm; four on a larger one."""
        self._build_ev.cancel()
        app = App.get_running_app()
        self.clear_widgets()
        keys = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "del", "0", "ok")
        if not self.with_ok:
            keys = keys[:-1]
        if self.letters:
            keys = (*self.letters, *keys)
        self.cols = -(-len(keys) // 3) if app.compact else 3
        for key in keys:
            if key.isalpha() and len(key) == 1:
                b = BigButton(tag=f"prefix:{key}", text=key, halign="center", glyph=GLYPH,
                              bg=(0.16, 0.30, 0.48, 1))
                b.bind(on_release=lambda _b, k=key: self.dispatch("on_key", k))
                self.add_widget(b)
                continue
            b = BigButton(tag=f"{self.uid_prefix}:{key}", halign="center", font_size=app.u * 46)
            if key == "del":
                b.bg = (0.35, 0.38, 0.45, 1)
                b.font_size = app.u * 28
            elif key == "ok":
                b.bg = (0.12, 0.55, 0.24, 1)
                b.icon = asset("check.png")
                b.icon_size = app.u * 44
                b.font_size = app.u * 34
                self._ok = b
            else:
                b.text = key
                b.glyph = GLYPH
            b.bind(on_release=lambda _b, k=key: self.dispatch("on_key", k))
            self.add_widget(b)
        self._label(app)
        if not getattr(self, "_bound", False):
            self._bound = True
            app.bind(lang=lambda *_: self._label(app))
            self.bind(ok_enabled=lambda *_: self._label(app))
            app.bind(compact=lambda *_: Clock.schedule_once(self._build))

    def _label(self, app: "KioskApp") -> None:
        for b in self.children:
            if b.tag.endswith(":del"):
                b.text = app.t("delete")
            elif b.tag.endswith(":ok"):
                b.text = app.t("ok")
                b.disabled = not self.ok_enabled

    def on_key(self, key: str) -> None:
        pass


def place_keys(box: Any) -> None:
    """Lays out ``box`` and everything in it now, before the kiosk returns to its event loop.

    Kivy places a layout's new children only at its next frame (``do_layout`` runs from a trigger); touches
    that reach the kiosk in the same batch as the one that rebuilt the keys would otherwise fall on keys
    not yet placed -- lost, or pressing a fresh key still at (0, 0), the bottom-left corner where Kembali
    is. The parents come first: each ``do_layout`` gives its children their final size and place."""
    from kivy.uix.layout import Layout

    for pad in [w for w in box.walk(restrict=True) if isinstance(w, Keypad)]:
        if pad._build_ev.is_triggered:       # a pad made just now: its keys now, not a frame later
            pad._build(0)
    for widget in box.walk(restrict=True):     # depth-first, parents before their children
        if isinstance(widget, Layout):
            widget.do_layout()
    # Their words too: a new button's are fitted a frame after it is drawn (BigButton._refit), so the first
    # frame would show it empty -- or, for a button given another text, the old words.
    for widget in box.walk(restrict=True):
        if isinstance(widget, BigButton) and widget._fit_ev is not None:
            widget._fit_ev.cancel()
            widget._fit()


# ---------------------------------------------------------------------- screens

class HomeScreen(Screen):
    pass


class InfoScreen(Screen):
    code = StringProperty("")
    quota_reached = BooleanProperty(False)
    title = StringProperty("")
    body = StringProperty("")


class TicketScreen(Screen):
    number = StringProperty("")
    service_label = StringProperty("")
    priority_label = StringProperty("")
    ahead_text = StringProperty("")
    estimate_text = StringProperty("")
    print_text = StringProperty("")
    rating_text = StringProperty("")  # "Kode penilaian: 0387" (issue_ticket's rating_code), "" without one
    rating_code = StringProperty("")
    print_state = StringProperty("printing")  # printing, printed, failed, none


class MessageScreen(Screen):
    icon = StringProperty("")
    title = StringProperty("")
    body = StringProperty("")


class RatePickScreen(Screen):
    empty_text = StringProperty("")


class RateKeypadScreen(Screen):
    typed = StringProperty("")
    shown = StringProperty("")
    prompt_key = StringProperty("rate_type_prompt")   # or "rate_code_prompt": the ticket's rating code


class RateFaceScreen(Screen):
    title = StringProperty("")
    subtitle = StringProperty("")
    element = StringProperty("")     # an IKM question's official element name, small under the question
    answers = ListProperty([])       # the words under the faces 4..1 for an IKM question; empty: Puas etc.


class RateMoreScreen(Screen):
    pass


class RateWaitScreen(Screen):
    pass


class PinScreen(Screen):
    entered = StringProperty("")
    error = StringProperty("")


class CheckinScreen(Screen):
    """A code typed on a big keypad: a booking code (janji temu from the website), or a letter's tracking
    code ("Ambil surat", :mod:`antre_kiosk.flows.letters`); ``prompt_key`` says which."""
    typed = StringProperty("")
    shown = StringProperty("")
    prompt_key = StringProperty("checkin_prompt")


class LetterTypesScreen(Screen):
    """Ajukan surat: the letters a resident may request (buttons filled by the app)."""


class NewsIdleScreen(Screen):
    """The village's announcements while nobody uses the kiosk (kiosk/flows/idle_news.py)."""
    kind_text = StringProperty("")
    title = StringProperty("")
    text = StringProperty("")
    position = StringProperty("")
    has_picture = BooleanProperty(False)


class LetterFormScreen(Screen):
    """Ajukan surat: one question of the form, its answer as typed, the problem, and the keys for it."""
    step = StringProperty("")
    prompt = StringProperty("")
    shown = StringProperty("")
    problem = StringProperty("")
    hint = BooleanProperty(False)       # ``problem`` holds the question's example, not a problem: not in red
    next_text = StringProperty("")


class EntryButton(BigButton):
    """Another way in on the start screen (kiosk.kv's ``entries``): placed there while ``shown``."""
    shown = BooleanProperty(True)


class HelpScreen(Screen):
    """Tanya & lapor: the FAQ, a complaint, or "minta petugas menghubungi saya", as three big buttons."""


class ReportScreen(Screen):
    """A complaint or a call-back request (:mod:`antre_kiosk.flows.callback`): one question, the answer as
    typed, the problem, and the keys for it."""
    step = StringProperty("")
    prompt = StringProperty("")
    shown = StringProperty("")
    problem = StringProperty("")
    next_text = StringProperty("")


class FaqScreen(Screen):
    """Tanya jawab: the office's most common questions as buttons (filled by the app), and *Tanya sendiri*."""


class AnswerScreen(Screen):
    """The assistant's answer, large; when it was not sure, the offer of a call back."""
    question = StringProperty("")
    answer = StringProperty("")
    detail = StringProperty("")
    unsure = BooleanProperty(False)


class ScanScreen(Screen):
    """The live status of a scanned (or typed-in) code, as the portal's ``/cek`` shows it, and the one thing
    to do next: a booking's check-in, a ready letter's pickup ticket (``action``)."""
    title = StringProperty("")
    status = StringProperty("")
    body = StringProperty("")
    action = StringProperty("")
    action_text = StringProperty("")
    code = StringProperty("")


class KioskRoot(BoxLayout):
    pass


# ---------------------------------------------------------------------- the app

class KioskApp(App):
    """The kiosk. ``cfg`` is the loaded configuration; ``printer`` a :class:`TicketPrinter`."""

    lang = StringProperty("id")
    u = NumericProperty(1.0)             # layout unit: 1.0 on a 1280x800 screen
    tp = NumericProperty(90)             # the smallest touch target in px: 20 mm on this panel (antre_kiosk.layout)
    min_font = NumericProperty(20)       # the smallest text in px
    portrait = BooleanProperty(False)    # taller than wide: the portrait layout
    compact = BooleanProperty(False)     # a short (7-inch) screen
    row_h = NumericProperty(120)         # a row of the start screen: a service, or another way in
    entry_cols = NumericProperty(1)      # columns of the start screen's other ways in (2 when one is too tall)
    entry_h = NumericProperty(120)       # the height of their rows
    side_priority = BooleanProperty(False)   # the priority choice is a column at the right (7-inch landscape)
    office_name = StringProperty("")
    date_text = StringProperty("")
    clock_text = StringProperty("")
    banner = StringProperty("")
    availability = StringProperty(logic.BROKER_DOWN)
    busy = BooleanProperty(False)
    priority = StringProperty("")
    home_title = StringProperty("")
    can_rate = BooleanProperty(False)
    logo = StringProperty("")
    rateable = ListProperty([])
    has_bookings = BooleanProperty(False)
    has_letters = BooleanProperty(False)
    has_letter_form = BooleanProperty(False)
    has_help = BooleanProperty(False)    # "Tanya & lapor": questions, complaints, call back
    can_listen = BooleanProperty(True)   # the "Dengarkan" button ([kiosk] voice)
    idle_shown = BooleanProperty(False)  # the idle screen is up: no "Dengarkan" nor "English" (a touch only goes back)

    def __init__(self, cfg: Config, printer: TicketPrinter | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.cfg = cfg
        self.kcfg = cfg.kiosk
        self.title = "Antre Kiosk"
        self.kv_file = str(KV)
        self.lang = cfg.office.language
        self.office_name = cfg.office.name
        self.topics = Topics(cfg.office.id)
        self.client_id = client_id_for(cfg, "kiosk")
        self.link = MqttLink(cfg.mqtt, self.topics, self.client_id, "kiosk")
        self.requester = Requester(self.link)
        self.gate = logic.CommandGate(self.requester, timeout=REQUEST_TIMEOUT, attempts=3)
        self.printer = printer or TicketPrinter.from_config(self.kcfg, lang=self.lang, check_on_start=False)
        self.issuing = IssuingFlow(self.gate, public_url=cfg.web.public_url,
                                   whatsapp_number=cfg.notify.whatsapp_number, office_name=cfg.office.name)
        self.checkin = CheckinFlow(self.gate)
        self.letter_pickup = LetterPickupFlow(self.gate)
        # The letter types come from the service (the office's catalogue with the kasi's changes), not from
        # this kiosk's configuration file: read when the service comes online and again between residents.
        self.letter_form = LetterFormFlow(self.gate, [],
                                          today=lambda: datetime.now(timezone.utc).astimezone(cfg.office.tz).date())
        self.catalogue = CatalogueReader(self.requester, timeout=REQUEST_TIMEOUT)
        self._catalogue_asked_at: float | None = None   # monotonic time the last reading began
        self._letter_types_asked: object | None = None  # the latest "Ajukan surat" tap awaiting the list
        self._letter_keys_for: tuple[str, tuple[str, ...], str] | None = None
        self.callback = CallbackFlow(self.gate, cfg.complaints.topics)
        self.complaint = ComplaintFlow(self.gate, cfg.complaints.topics)
        self._report: CallbackFlow | AskFlow = self.complaint     # the flow the report screen asks for
        self._report_keys_for: tuple[str, int, str] | None = None
        self._key_group = ""                            # the letter group open on the grouped keyboard
        self.asking = AskFlow(self.gate)
        self.scan_reader = ScanReader()
        self.lookup = LookupFlow(self.gate)
        self.scans = {"read": 0, "ignored": 0, "unknown": 0, "typed": 0}
        self.faq_questions: list[str] = []   # the buttons, from the service each time the screen opens
        self._faq_pool: list[BigButton] = []  # the question buttons, kept (see _faq_buttons)
        self._faq_ask: str | None = None      # the latest faq_common's request id (older replies are dropped)
        self.faq_replies = {"ok": 0, "failed": 0}   # faq_common replies (the tests wait on them)
        self.catalogue_reads = {"ok": 0, "failed": 0}   # whole catalogue reads (the tests wait on them)
        self._code_flow: CheckinFlow | LetterPickupFlow = self.checkin   # whose code the keypad types
        self.rating = RatingFlow(self.gate)
        self.number_keypad = NumberKeypad()
        self._code_for: str | None = None   # the number whose rating code the keypad is typing
        self.staff_pin = StaffPin(self.kcfg.staff_pin)
        self.speaker = Speaker(self.kcfg.voice, audio_player=self.kcfg.audio_player, volume=self.kcfg.volume)
        self.can_listen = self.speaker.enabled
        self.speech = {"asked": 0, "done": 0, "text": "", "error": "", "screen": "", "lang": "", "screens": {}}
        self._auto_speak = None
        self.printer_status = PrinterStatus(self.printer, self.link,
                                            check_seconds=self.kcfg.printer_check_seconds)
        self.state: dict[str, Any] | None = None
        self.service_online: bool | None = None
        self.rows: list[logic.ServiceRow] = []
        self._row_widgets: dict[str, tuple[BigButton, BigButton]] = {}
        self._last_touch = time.monotonic()
        self._ticket_timer = None
        self._message_timer = None
        self._ticket_number = ""
        self._render: Callable[[], None] | None = None
        self._ticket: tuple[dict[str, Any], logic.ServiceRow] | None = None
        self._leaving = False
        self._sound = None
        self._dump_path = os.environ.get("ANTRE_UI_DUMP", "")
        self.unfinished_frames: dict[str, int] = {}     # see _check_drawn (tests only)
        self._late_tap_until = 0.0       # touches on the start screen are ignored until then (monotonic)
        self.ignored_taps = 0
        self._after_choice = False       # the last tap was a choice that went on by itself (see _touched)
        self._last_dump = ""
        self._seen_dump = ""
        self.rating_mode = self.kcfg.mode == "rating"
        counter = cfg.counter_by_id(self.kcfg.rating_counter) if self.rating_mode else None
        self.rating_counter_name = counter.name if counter else self.kcfg.rating_counter
        self.logo = cfg.office.logo if cfg.office.logo and Path(cfg.office.logo).is_file() else ""
        # "Saya sudah daftar" is offered when the office takes appointments (antre web).
        self.has_bookings = bool(cfg.web.appointments) and not self.rating_mode
        self.has_letters = bool(cfg.letters.pickup_service) and not self.rating_mode
        self.has_letter_form = False    # until the service's catalogue is read (_read_catalogue)
        # The idle screen's announcements (kiosk/flows/idle_news.py), from the service's retained news topics.
        self.idle_news = IdleNews()
        self._news_textures = PictureTextures()
        self._news_shown: tuple | None = None
        self.has_help = not self.rating_mode

    # ------------------------------------------------------------------ text

    def t(self, key: str, lang: str | None = None, **values: Any) -> str:
        """The text for ``key`` in the current language (kv passes ``app.lang`` to re-bind)."""
        return texts.text(key, lang or self.lang, **values)

    # ------------------------------------------------------------------ start and stop

    def build(self):
        ensure_assets()
        self._scale()
        Window.bind(size=lambda *_: self._scale())
        Window.bind(on_touch_down=self._touched)
        Window.bind(on_request_close=self._request_close)
        # The USB scanner types like a keyboard: characters arrive as text input, then Enter.
        Window.bind(on_textinput=self._scan_text, on_key_down=self._scan_key)
        # kiosk.kv (next to this file) is loaded by Kivy itself: its name follows the class name KioskApp.
        root = KioskRoot()
        self.sm: ScreenManager = root.ids.sm
        self.sm.transition = NoTransition()
        self.home_name = "rate_wait" if self.rating_mode else "home"
        self.sm.current = self.home_name
        self.sm.bind(current=lambda _sm, name: setattr(self, "idle_shown", name == "news"))
        self.bind(lang=lambda *_: self._refresh(), busy=lambda *_: self._refresh(),
                  priority=lambda *_: self._refresh())
        root.ids.corner.bind(on_long_press=lambda *_: self.open_pin())
        home_ids = self.sm.get_screen("home").ids
        home_ids.services_scroll.bind(height=lambda *_: self._refresh_services())
        # The other ways in, in kiosk.kv's order; only the shown ones are placed in the grid.
        self._entries = [w for w in reversed(home_ids.entries.children) if isinstance(w, EntryButton)]
        for b in self._entries:
            b.bind(shown=self._place_entries)
        home_ids.entries_scroll.bind(size=self._place_entries)
        self.bind(tp=self._place_entries, row_h=self._place_entries)
        self._place_entries()
        if self.kcfg.speak_screens and self.speaker.enabled:
            self.sm.bind(current=lambda *_: self._speak_soon())
        return root

    def on_start(self) -> None:
        self._load_sound()
        self.link.subscribe(self.topics.state, self._on_state)
        self.link.subscribe(self.topics.service_statuses, self._on_status)
        if self.rating_mode:
            self.link.subscribe(self.topics.event("ticket_completed"), self._on_completed)
        else:
            self.link.subscribe(self.topics.news, lambda t, p: Clock.schedule_once(lambda dt: self._on_news(p)))
            self.link.subscribe(self.topics.news_pictures,
                                lambda t, p: Clock.schedule_once(lambda dt: self._on_news_picture(t, p)))
        self.link.on_connect(lambda: Clock.schedule_once(lambda dt: self._refresh()))
        self.link.on_disconnect(lambda: Clock.schedule_once(lambda dt: self._refresh()))
        self.printer_status.publish_current()
        self.link.start()
        self._check_printer()
        self._tick(0)
        Clock.schedule_interval(self._tick, 1.0)
        if self._dump_path:
            Clock.schedule_interval(lambda dt: self.dump_ui(), 0.2)
            Window.bind(on_draw=self._check_drawn)
        self._refresh()
        log.info("kiosk %s started (%s mode, printer %s)", self.client_id, self.kcfg.mode, self.kcfg.printer)

    def on_stop(self) -> None:
        try:
            self.speaker.close()
            self.link.stop()
        finally:
            self.printer.close(timeout=2)

    def leave(self, why: str) -> None:
        """Stops the kiosk (staff PIN, or a signal from systemd). Safe to call from a signal handler."""
        log.info("leaving kiosk mode: %s", why)
        self._leaving = True
        Clock.schedule_once(lambda dt: self.stop())

    def _request_close(self, *args: Any, **kwargs: Any) -> bool:
        # Closing the window (or Alt-F4) is refused: leaving needs the staff PIN.
        return not self._leaving

    def _scale(self) -> None:
        w, h = Window.size
        m = metrics(int(w), int(h), self.kcfg.screen_inches)
        self.tp, self.min_font = m.target_px, m.min_font_px
        self.portrait, self.compact = m.portrait, m.compact
        self.side_priority = m.compact and not m.portrait
        # A portrait panel is laid out for 830x1476 (1.3 at 1080x1920): narrower than the landscape design.
        base = (830.0, 1476.0) if m.portrait else (1280.0, 800.0)
        self.u = max(0.6, min(2.5, min(w / base[0], h / base[1])))
        self.row_h = max(self.tp, self.u * (170 if m.portrait else 120))
        if hasattr(self, "sm"):
            self._refresh_services()

    # ------------------------------------------------------------------ sound

    def _load_sound(self) -> None:
        if not self.kcfg.touch_sound:
            return
        try:
            from kivy.core.audio import SoundLoader
            self._sound = SoundLoader.load(asset("click.wav"))
        except Exception as exc:  # noqa: BLE001 - no audio device must not stop the kiosk
            log.warning("touch sound unavailable: %s", exc)
            self._sound = None
        if self._sound is None:
            log.warning("touch sound unavailable (no audio output?)")

    def _touched(self, window, touch) -> bool:
        now = time.monotonic()
        if self.sm.current == "news":
            # Any touch on the announcements goes back to the start screen and nothing else: the touch
            # stops here, and the rest of the gesture (or a second quick tap) is a late tap.
            self._last_touch = now
            self._late_tap_until = now + self.kcfg.late_tap_seconds
            log.info("touch on the idle screen: back to the start screen")
            self.sm.current = self.home_name
            self._refresh()
            return True
        after_choice, self._after_choice = self._after_choice, False
        if after_choice and getattr(touch, "is_double_tap", False) and self.sm.current in ("letterform", "report"):
            # The second tap of a double tap on a choice that went on by itself: it would press what the
            # next question put under the finger (a topic, a letter). Swallowed.
            self.ignored_taps += 1
            log.info("the second tap of a double tap on a choice ignored")
            return True
        if now < self._late_tap_until and self.sm.current == self.home_name:
            # A finger meant for the screen that just timed out (its "Selesai" button) must not land on
            # the start screen's buttons: swallowed.
            self.ignored_taps += 1
            log.info("late tap ignored on the start screen")
            return True
        self._last_touch = now
        if self._sound is not None:
            try:
                self._sound.stop()
                self._sound.play()
            except Exception as exc:  # noqa: BLE001
                log.debug("click sound failed: %s", exc)
        return False

    # ------------------------------------------------------------------ spoken guidance ("Dengarkan")

    def listen(self) -> None:
        """Reads the screen's question and choices aloud (the "Dengarkan" button)."""
        if not self.speaker.enabled:
            return
        guide = self.guidance()
        self.speech["asked"] += 1
        self.speech["text"] = guide.text()
        self.speech["screen"] = self.sm.current
        self.speech["screens"][self.sm.current] = self.speech["screens"].get(self.sm.current, 0) + 1
        self.speech["lang"] = self.lang
        log.info("speaking the %s screen", self.sm.current)
        self.speaker.say(guide.phrases(self.lang), self.lang,
                         on_done=lambda error: Clock.schedule_once(lambda dt: self._spoken(error)))

    def _spoken(self, error: str | None) -> None:
        self.speech["done"] += 1
        self.speech["error"] = error or ""

    def _speak_soon(self) -> None:
        # [kiosk] speak_screens: once the new screen's texts are filled in (same frame's callbacks first).
        # Not the idle screen: nobody is there to hear it.
        if self._auto_speak is not None:
            self._auto_speak.cancel()
            self._auto_speak = None
        if self.sm.current == "news":
            return
        self._auto_speak = Clock.schedule_once(lambda dt: self.listen() if self.sm.current != "news" else None, 0.3)

    def guidance(self) -> Guidance:
        """The current screen's question, facts and choices, in the current language. The choices are the
        buttons the screen shows (:meth:`_choices`), so "Dengarkan" never offers what is hidden or off."""
        name = self.sm.current
        scr = self.sm.get_screen(name)
        t = self.t
        choices = self._choices(scr)
        if name == "home":
            return Guidance(self.home_title, [self.banner] if self.banner else [], choices)
        if name == "info":
            return Guidance(scr.title, [f"{t('requirements')}: {scr.body}"], choices)
        if name == "ticket":
            # The rating code is read digit by digit ("nol tiga delapan tujuh"), as it is typed.
            code = t("ticket_rating_code", code=" ".join(scr.rating_code)) if scr.rating_code else ""
            return Guidance(f"{t('your_number')}: {scr.number}",
                            [scr.service_label, scr.priority_label, scr.ahead_text, scr.estimate_text,
                             scr.print_text, code], choices)
        if name == "message":
            return Guidance(scr.title, [scr.body] if scr.body else [], choices)
        if name == "rate_pick":
            return Guidance(t("rate_pick"), [scr.empty_text] if scr.empty_text else [], choices)
        if name == "rate_keypad" and self._code_for is not None:
            return Guidance(t("rate_code_prompt"), [" ".join(scr.typed)] if scr.typed else [], choices)
        if name == "rate_keypad":
            return Guidance(t("rate_type_prompt"), [scr.shown] if scr.typed else [], choices)
        if name == "rate_face":
            return Guidance(scr.title, [d for d in (scr.element, scr.subtitle) if d], choices)
        if name == "rate_more":
            return Guidance(t("more_question"), [], choices)
        if name == "rate_wait":
            return Guidance(t("rate_wait"), [t("rate_wait_sub", counter=self.rating_counter_name)], choices)
        if name == "checkin":
            return Guidance(t(scr.prompt_key), [scr.shown] if scr.typed else [], choices)
        if name == "pin":
            return Guidance(t("staff_pin"), [], choices)
        if name == "scan":
            return Guidance(scr.title, [d for d in (scr.status, scr.body) if d], choices)
        if name == "answer":
            return Guidance(scr.answer, [scr.detail] if scr.detail else [], choices)
        if name == "faq":
            return Guidance(t("faq_title"), [], choices)
        if name == "report":
            flow = self._report
            choices = [self._choice_label(flow.step, o) for o in flow.choices] if flow.kind == CHOICE else []
            # A phone number is not read aloud in the waiting room: its length and last two digits.
            shown = typed_number(flow.typed, self.lang) if flow.kind == DIGITS and flow.typed else scr.shown
            facts = [d for d in (scr.step, shown, scr.problem) if d]
            return Guidance(scr.prompt, facts, [*choices, *([scr.next_text] if scr.next_text else []), t("back")])
        guide = self._guidance_from(scr)
        if name == "letterform" and self.letter_form.type is not None and \
                self.letter_form.field.type in ("nik", "kk", "phone") and self.letter_form.typed:
            # A NIK, family card or phone number: not read aloud (see the report screen above).
            said = typed_number(self.letter_form.typed, self.lang)
            guide = Guidance(guide.question, [said if d == scr.shown else d for d in guide.details], guide.choices)
        return guide

    def _choices(self, scr: Screen) -> list[str]:
        """The words of the buttons ``scr`` shows and that can be pressed, in the layout's order (kiosk.kv's:
        the services, then the other ways in, then the priorities), each once; a keypad's digits are left
        out (the prompt says what to type)."""
        out: list[str] = []
        for w in scr.walk(restrict=True):
            if not isinstance(w, (BigButton, FaceButton)) or w.disabled or not w.text:
                continue
            if not self._shown(w) or w.width <= 1 or w.height <= 1 or w.text.isdigit():
                continue
            words = f"{w.text}, {w.subtext}" if getattr(w, "subtext", "") else w.text
            if words not in out:
                out.append(words)
        return out

    def _guidance_from(self, scr: Screen) -> Guidance:
        """A screen without words of its own for "Dengarkan" (a newer flow's): its title or prompt labels
        (tags ending in ``:title``, ``:prompt`` or ``:question``), its other tagged words, top to bottom,
        and its buttons (:meth:`_choices`)."""
        from kivy.uix.label import Label

        question, details = [], []
        widgets = [w for w in scr.walk(restrict=True) if self._shown(w) and w.width > 1 and w.height > 1]
        widgets.sort(key=lambda w: (-w.to_window(w.x, w.y)[1] - w.height, w.to_window(w.x, w.y)[0]))
        for w in widgets:
            tag = getattr(w, "tag", "")
            if isinstance(w, Label) and tag and w.text.strip() and not isinstance(w.parent, (BigButton, FaceButton)):
                (question if tag.endswith((":title", ":prompt", ":question")) else details).append(w.text)
        return Guidance(" ".join(question) or self.home_title, details, self._choices(scr))

    # ------------------------------------------------------------------ MQTT (paho's thread)

    def _on_state(self, topic: str, payload: bytes) -> None:
        state = read_object(payload, "state message")
        if state is not None:
            Clock.schedule_once(lambda dt: self._set_state(state))

    def _on_status(self, topic: str, payload: bytes) -> None:
        presence = read_presence(self.topics, topic, payload)
        if presence is not None and presence[0] == "service":
            online = bool((presence[2] or {}).get("online"))
            Clock.schedule_once(lambda dt: self._set_service_online(online))

    def _on_completed(self, topic: str, payload: bytes) -> None:
        event = read_object(payload, "ticket_completed event")
        if event is None:
            return
        counter = (event.get("counter") or {}).get("id")
        if counter == self.kcfg.rating_counter and event.get("number"):
            Clock.schedule_once(lambda dt: self.rating_prompt(event["number"]))

    # ------------------------------------------------------------------ state → screen

    def _set_state(self, state: dict[str, Any]) -> None:
        self.state = state
        self._refresh()

    def _set_service_online(self, online: bool) -> None:
        came_back = online and not self.service_online
        self.service_online = online
        self._refresh()
        if came_back:
            self._read_catalogue()

    def _read_catalogue(self, older_than: float = 0.0, then: Callable[[], None] | None = None) -> None:
        """Reads the office's letter types for "Ajukan surat" (kiosk_form), unless the last reading began
        less than ``older_than`` seconds ago. The button shows while there is at least one type. ``then``
        runs on Kivy's thread once the reading is over, whether it succeeded or not."""
        if not self.cfg.letters.kiosk_form or self.rating_mode:
            return
        now = time.monotonic()
        if then is None and older_than and self._catalogue_asked_at is not None and \
                now - self._catalogue_asked_at < older_than:
            return
        self._catalogue_asked_at = now
        self.catalogue.read(lambda types: Clock.schedule_once(lambda dt: self._catalogue_arrived(types, then)))

    def _catalogue_arrived(self, types: list | None, then: Callable[[], None] | None) -> None:
        self.catalogue_reads["ok" if types is not None else "failed"] += 1
        if types is not None:   # None: the service did not answer; the last list stays, asked again later
            self.letter_form.set_types(types)
            self.has_letter_form = bool(self.letter_form.types)
        if then is not None:
            then()

    def _refresh(self) -> None:
        """Recomputes availability, the banner and the home screen from what is known now."""
        if not hasattr(self, "sm"):
            return
        availability = logic.availability(self.link.connected.is_set(), self.service_online, self.state)
        view = home(availability, self.state, busy=self.busy, priority=self.priority, lang=self.lang,
                    office_name=self.cfg.office.name)
        self.availability = view.availability
        self.office_name = view.office_name
        self.banner = view.banner
        self.can_rate = view.can_rate
        self.rateable = view.rateable
        self.home_title = view.title
        self._refresh_services()
        if self.sm.current == "news" and (self.availability != logic.OK or self.busy):
            self.sm.current = self.home_name   # the start screen's band has something to say
        if self.sm.current == "rate_pick":
            self._fill_rate_pick()

    def _row_height(self, room: float, rows: int, gap: float, most: float) -> float:
        """Rows share ``room`` (px), up to ``most`` each; when even 20 mm rows do not all fit (a 7-inch
        panel with many services) the list scrolls, and its rows are stretched so that whole rows fill the
        view: none is cut by the scroll area's edge, and the bar beside says there is more."""
        rows = max(1, rows)
        if room <= 1:
            return max(self.tp, most)
        share = (room - gap * (rows - 1)) / rows
        if share >= self.tp:
            return min(max(most, self.tp), share)
        whole = max(1, int((room + gap) // (self.tp + gap)))
        return max(self.tp, (room - gap * (whole - 1)) / whole)

    def _service_row_height(self) -> float:
        scroll = self.sm.get_screen("home").ids.services_scroll
        gap = self.u * (8 if self.compact else 14)
        return self._row_height(scroll.height, len(self.rows), gap, self._most_row_height())

    def _most_row_height(self) -> float:
        # On the 7-inch panel rows take the room there is: a name and its line need four lines there.
        return self.u * (230 if self.portrait else 200 if self.compact else 170)

    def _place_entries(self, *_: Any) -> None:
        """Puts the shown ways in into the start screen's grid: one column when its rows fit at 20 mm, else
        two side by side when the column is wide enough (all entries on, at 1280x800), else one that
        scrolls (the 7-inch panel)."""
        if not hasattr(self, "_entries"):
            return
        ids = self.sm.get_screen("home").ids
        grid, scroll = ids.entries, ids.entries_scroll
        shown = [b for b in self._entries if b.shown]
        if list(reversed(grid.children)) != shown:
            grid.clear_widgets()
            for b in shown:
                grid.add_widget(b)
        gap = self.u * (8 if self.compact else 14)
        n = max(1, len(shown))
        cols = 1
        if not self.portrait and n > 1 and (self.tp * n + gap * (n - 1) > scroll.height > 1) \
                and (scroll.width - gap) / 2 >= self.tp:
            cols = 2
        if self.portrait and n > 4:
            cols = 2          # five ways in, one under another, would push the services off a portrait panel
        self.entry_cols = cols
        self.entry_h = self.row_h if self.portrait else \
            self._row_height(scroll.height, -(-n // cols), gap, self.row_h if cols == 1 else self._most_row_height())

    def _refresh_services(self) -> None:
        self.rows = logic.service_rows(self.state, self.cfg.services)
        box = self.sm.get_screen("home").ids.services
        codes = [r.code for r in self.rows]
        if codes != list(self._row_widgets):
            box.clear_widgets()
            self._row_widgets.clear()
            for r in self.rows:
                line = BoxLayout(spacing=self.u * 14, size_hint_y=None)
                b = BigButton(tag=f"service:{r.code}", icon=asset("ticket.png"))
                b.bind(on_release=lambda _b, c=r.code: self.issue(c))
                info = BigButton(tag=f"info:{r.code}", icon=asset("info.png"), size_hint_x=None,
                                 bg=SECONDARY)
                info.bind(on_release=lambda _b, c=r.code: self.show_info(c))
                line.add_widget(b)
                line.add_widget(info)
                box.add_widget(line)
                self._row_widgets[r.code] = (b, info)
        height = self._service_row_height()
        for r in self.rows:
            b, info = self._row_widgets[r.code]
            b.parent.height = height
            b.text = r.label(self.lang)
            b.font_size = self.u * 32
            b.sub_size = self.u * 27
            b.icon_size = self.u * 64
            b.icon = "" if self.compact else asset("ticket.png")   # the 7-inch panel's words need the room
            b.subtext = service_subtext(r, self.availability, self.lang, self.state)
            b.disabled = not can_issue(r, self.availability, self.busy)
            info.text = self.t("info")
            info.width = self.u * 190
            info.font_size = self.u * 28
            info.icon_size = self.u * 52
            info.disabled = self.busy

    # ------------------------------------------------------------------ clock and idle

    def _tick(self, dt: float) -> None:
        now = datetime.now(timezone.utc).astimezone(self.cfg.office.tz)
        self.date_text = texts.long_date(now, self.lang)
        self.clock_text = clock_time(now, "id")   # 08.30 in both languages (EYD), as the TV does
        if self.sm.current not in (self.home_name, "ticket", "pin", "news") and \
                time.monotonic() - self._last_touch > self.kcfg.idle_seconds:
            log.info("idle for %.0fs on %s; back to the start screen", self.kcfg.idle_seconds, self.sm.current)
            self.go_home(idle=True)
        elif self.sm.current == "pin" and time.monotonic() - self._last_touch > self.kcfg.idle_seconds:
            self.go_home()
        elif not self.busy and time.monotonic() - self._last_touch > self.kcfg.idle_seconds:
            # A priority or a language chosen by someone who then walked away must not carry over to the
            # next person.
            self.priority = ""
            if self.sm.current == self.home_name:
                self._reset_language()
        if self.sm.current in (self.home_name, "news") and self.service_online:
            self._read_catalogue(older_than=CATALOGUE_SECONDS)   # the kasi's changes, while nobody is here
        self._idle_news()

    # ------------------------------------------------------------------ the idle screen's announcements

    def _on_news(self, payload: bytes) -> None:
        if self.idle_news.feed.apply_news(payload):
            self._news_shown = None
            self._idle_news()

    def _on_news_picture(self, topic: str, payload: bytes) -> None:
        item = self.topics.news_item_of(topic)
        if item is not None:
            self.idle_news.feed.apply_picture(item, payload)
            self._news_shown = None
            self._idle_news()

    def _idle_news(self) -> None:
        """Shows the idle screen, turns its page, or leaves it (kiosk/flows/idle_news.py says when)."""
        if not hasattr(self, "sm"):
            return
        now = time.monotonic()
        show = may_show(self.sm.current, self.home_name, self.availability, self.busy, now - self._last_touch,
                        self.kcfg.idle_seconds, self.idle_news.has_items, self.rating_mode)
        if not show:
            if self.sm.current == "news":
                self.sm.current = self.home_name
            return
        if self.sm.current != "news":
            log.info("idle for %.0fs: showing the announcements", self.kcfg.idle_seconds)
            self.idle_news.start(now)
            self._news_shown = None
            self._reset_language()
            self.sm.current = "news"
        item = self.idle_news.current(now)
        key = (item, self.idle_news.position(now), self.lang)
        if item is None or key == self._news_shown:
            return
        self._news_shown = key
        scr: NewsIdleScreen = self.sm.get_screen("news")
        scr.kind_text = self.t(f"news_kind_{item.kind}")
        scr.title, scr.text = item.title, item.text
        n = len(self.idle_news.feed.items)
        scr.position = self.t("news_position", i=self.idle_news.position(now) + 1, n=n) if n > 1 else ""
        texture = self._news_textures.texture(item)
        scr.ids.picture.texture = texture
        scr.has_picture = texture is not None

    def go_home(self, *_: Any, idle: bool = False) -> None:
        """Back to the start screen. ``idle`` (or a timer's call, which passes its delay): the resident has
        left, so the next one finds the office's language and no late tap lands on the start screen."""
        timed = idle or bool(_)
        if self.rating.has_score and self.sm.current in ("rate_more", "rate_face"):
            # Left during the detailed questions (walked away, or "Kembali"): the overall score still counts.
            self.rating.send_quietly()
        self._cancel_timers()
        self.rating.reset()
        self.callback.reset()      # what a resident typed is forgotten when they leave
        self.complaint.reset()
        self.asking.reset()
        self.letter_form.reset()
        self._key_group = ""
        self.priority = ""
        if timed:
            self._late_tap_until = time.monotonic() + self.kcfg.late_tap_seconds
            self._reset_language()
        self.sm.current = self.home_name
        self._refresh()

    def _reset_language(self) -> None:
        if self.lang != self.cfg.office.language:
            log.info("back to %s for the next resident", self.cfg.office.language)
            self.lang = self.cfg.office.language
            self.printer.lang = self.lang
            self._tick(0)

    def _cancel_timers(self) -> None:
        for ev in (self._ticket_timer, self._message_timer):
            if ev is not None:
                ev.cancel()
        self._ticket_timer = self._message_timer = None

    def toggle_language(self) -> None:
        self.lang = "en" if self.lang == "id" else "id"
        self.printer.lang = self.lang
        self._tick(0)
        if self._render is not None and self.sm.current not in (self.home_name, "rate_pick", "pin"):
            self._render()

    def toggle_priority(self, kind: str) -> None:
        self.priority = "" if self.priority == kind else kind

    # ------------------------------------------------------------------ issuing

    def row(self, code: str) -> logic.ServiceRow | None:
        return next((r for r in self.rows if r.code == code), None)

    def issue(self, code: str) -> None:
        """One touch on a service button: at most one issue_ticket in flight."""
        row = self.row(code)
        rid = self.issuing.issue(row, self.availability, self.busy, self.priority,
                                 lambda reply: Clock.schedule_once(lambda dt: self._issued(reply, row)))
        if rid is None:
            return
        self.busy = True
        if self.sm.current != "home":
            self.sm.current = "home"

    def _issued(self, reply: Reply, row: logic.ServiceRow) -> None:
        self.busy = False
        self.priority = ""
        if not reply.ok:
            self._show_refusal(self.issuing.refusal(reply))
            return
        self.show_ticket(reply.result or {}, row)

    def show_ticket(self, result: dict[str, Any], row: logic.ServiceRow) -> None:
        self._cancel_timers()
        number = ticket_number(result)
        self._ticket_number = number
        self._ticket = (result, row)
        self.sm.get_screen("ticket").print_state = "printing"
        self._show("ticket", self._render_ticket)
        # Until the printer answers (within print_timeout), keep the number up.
        self._ticket_timer = Clock.schedule_once(
            self.go_home, self.kcfg.ticket_screen_seconds + self.kcfg.print_timeout)
        try:
            info = self.issuing.ticket_info(result, row)
        except ValueError as exc:
            log.error("ticket %s cannot be printed: %s", number, exc)
            self._printed(PrintResult(False, "error", str(exc), number))
            return
        self.printer.submit(info, self._office(), on_done=lambda res: Clock.schedule_once(
            lambda dt: self._printed(res)), lang=self.lang)

    def _render_ticket(self) -> None:
        result, row = self._ticket
        scr: TicketScreen = self.sm.get_screen("ticket")
        view = ticket_view(result, row, scr.print_state, self.lang)
        scr.number = self._ticket_number
        scr.service_label = view.service_label
        scr.priority_label = view.priority_label
        scr.ahead_text = view.ahead_text
        scr.estimate_text = view.estimate_text
        scr.print_text = view.print_text
        scr.rating_text = view.rating_text
        scr.rating_code = rating_code(result)

    def _show(self, screen: str, render: Callable[[], None]) -> None:
        """Fills ``screen``'s texts with ``render`` (again when the language changes) and shows it."""
        self._render = render
        render()
        self.sm.current = screen

    def _office(self):
        office = (self.state or {}).get("office") or {}
        return dataclasses.replace(self.cfg.office, name=office.get("name") or self.cfg.office.name,
                                   address=office.get("address", self.cfg.office.address))

    def _printed(self, result: PrintResult) -> None:
        self.printer_status.printed(result)
        if result.number != self._ticket_number or self.sm.current != "ticket":
            return
        scr: TicketScreen = self.sm.get_screen("ticket")
        scr.print_state = print_state(result, self.printer.enabled)
        seconds = self.kcfg.ticket_screen_seconds if result.ok else self.kcfg.ticket_screen_seconds_no_print
        self._render_ticket()
        if self._ticket_timer is not None:
            self._ticket_timer.cancel()
        self._ticket_timer = Clock.schedule_once(self.go_home, seconds)

    # ------------------------------------------------------------------ check-in of a booking

    def open_checkin(self, flow: CheckinFlow | LetterPickupFlow | None = None) -> None:
        if self.availability != logic.OK or self.busy:
            return
        self._cancel_timers()
        self._code_flow = flow or self.checkin
        self._code_flow.reset()
        self.sm.get_screen("checkin").prompt_key = ("letter_prompt" if self._code_flow is self.letter_pickup
                                                     else "checkin_prompt")
        self._code_changed()
        self.sm.current = "checkin"

    def open_letter_pickup(self) -> None:
        """Ambil surat: the same keypad, for a ready letter's tracking code."""
        self.open_checkin(self.letter_pickup)

    def code_key(self, key: str) -> None:
        flow = self._code_flow
        action = flow.key(key)
        if action == SEND:
            self.send_code(flow, flow.typed)
        elif action == MISTYPED:
            self._show_refusal(flow.mistyped)
        if key != "ok":
            self._code_changed()

    def _code_changed(self) -> None:
        scr: CheckinScreen = self.sm.get_screen("checkin")
        scr.typed = self._code_flow.typed
        scr.shown = self._code_flow.shown
        scr.ids.keypad.ok_enabled = self._code_flow.complete

    def send_code(self, flow: CheckinFlow | LetterPickupFlow, code: str) -> None:
        """Sends ``code`` with ``flow``'s command (``check_in`` of a booking, ``letter_pickup`` of a ready
        letter); the ticket it makes is shown and printed like any other, a refusal is said in words."""
        if self.busy:
            return
        rid = flow.send(code, lambda reply: Clock.schedule_once(lambda dt: self._code_sent(flow, reply)))
        if rid is not None:
            self.busy = True

    def _code_sent(self, flow: CheckinFlow | LetterPickupFlow, reply: Reply) -> None:
        self.busy = False
        if not reply.ok:
            self._show_refusal(flow.refusal(reply))
            return
        result = reply.result or {}
        self.show_ticket(result, self.checkin.row_for(result, self.rows))

    # ------------------------------------------------------------------ Ajukan surat (kiosk/flows/letter_form.py)

    def open_letter_form(self) -> None:
        if self.availability != logic.OK or self.busy:
            return
        if not self.has_letter_form:
            if self.sm.current != self.home_name:
                self.go_home()   # the form's Kembali after every type was switched off
            return
        self._cancel_timers()
        # The list as the office has it this minute (a type the kasi just switched off is not offered),
        # read afresh; shown when it is in, or the last list if the service does not answer in time.
        token = self._letter_types_asked = object()
        origin = self.sm.current      # the start screen, or the form's first question (its Kembali)
        self._read_catalogue(then=lambda: self._show_letter_types(token, origin))

    def _show_letter_types(self, token: object, origin: str) -> None:
        if token is not self._letter_types_asked or self.sm.current != origin or self.busy:
            return      # the resident has gone on (or tapped again): this answer is old
        if not self.letter_form.types:
            self.go_home()   # every type switched off meanwhile: the start screen, where the button has gone
            return
        self.letter_form.reset()
        self._letter_type_buttons()
        self._open_now("lettertypes")

    def _letter_type_buttons(self) -> None:
        grid = self.sm.get_screen("lettertypes").ids.grid
        # As the start screen's service rows: the buttons are made once and kept (rebuilt only if the letters
        # change), their words changed in place; then laid out and fitted before the first frame.
        codes = [t.code for t in self.letter_form.types]
        if [b.tag for b in reversed(grid.children)] != [f"lettertype:{c}" for c in codes]:
            grid.clear_widgets()
            for t in self.letter_form.types:
                b = BigButton(tag=f"lettertype:{t.code}", halign="left")
                b.bind(on_release=lambda _b, c=t.code: self.choose_letter(c))
                grid.add_widget(b)
        for t, b in zip(self.letter_form.types, reversed(grid.children)):
            b.text = t.name_en if self.lang == "en" and t.name_en else t.name
            b.font_size = self.u * 24
        if self.sm.current == "lettertypes":      # the catalogue's answer: the new words whole at once
            place_keys(self.sm.get_screen("lettertypes"))

    def _open_now(self, name: str) -> None:
        """Shows screen ``name`` with everything on it laid out and its buttons' words fitted now, so its
        first frame is whole (a screen never shown yet has no size of its own until the next layout pass)."""
        self.sm.current = name
        self.sm.do_layout()
        place_keys(self.sm.get_screen(name))

    def choose_letter(self, code: str) -> None:
        self.letter_form.start(code)
        self._letter_keys_for = None
        self.sm.current = "letterform"      # first: its keys are laid out in the screen's own size
        self._render_letter_field()
        self._open_now("letterform")

    def _render_letter_field(self) -> None:
        flow = self.letter_form
        scr: LetterFormScreen = self.sm.get_screen("letterform")
        f = flow.field
        n, total = flow.step
        name = (flow.type.name_en if self.lang == "en" and flow.type.name_en else flow.type.name) if flow.type else ""
        step = self.t('lf_step', n=n, total=total)
        scr.step = step if self.compact else f"{name} · {step}"     # the 7-inch panel: one line, as the report form
        scr.prompt = (f.label_en if self.lang == "en" and f.label_en else f.label) + \
            ("" if f.required else f" ({self.t('lf_optional')})")
        scr.shown = flow.shown
        scr.problem = self.t(flow.problem) if flow.problem else (f.hint or "")
        scr.hint = not flow.problem
        # One way on at each step: on a choice the resident's tap goes on by itself (the last step's Kirim
        # stays, so a tap never sends); the digit pad has no OK of its own beside Lanjut.
        next_text = scr.next_text
        scr.next_text = self.t("lf_send") if flow.last else "" if flow.kind == CHOICE else self.t("lf_next")
        # The keys stay when the next question takes the same ones: rebuilt keys are not laid out until the
        # next frame, and a quick resident's taps after Lanjut that reach a busy kiosk in the same frame
        # would fall on them and be lost.
        keys = ("pad" if flow.kind in (DIGITS, DATE) else flow.kind, tuple(f.choices), self.lang)
        if self._letter_keys_for != keys:
            self._letter_keys_for = keys
            self._letter_keys(scr.ids.keyarea, flow.kind, f.choices)
            place_keys(scr.ids.keyarea)     # changed keys: placed before a tap can reach them
        if scr.next_text != next_text:      # Lanjut back after a choice, or Kirim: its words at once, not a
            place_keys(scr)                 # frame late (an empty green key, or Lanjut where Kirim is)
        if flow.kind == CHOICE:             # the answer given (coming back to it): marked
            for b in scr.ids.keyarea.walk(restrict=True):
                if isinstance(b, BigButton) and b.tag.startswith("choice:"):
                    b.selected = b.tag == f"choice:{flow.typed}"

    def _letter_keys(self, box: Any, kind: str, choices: list[str]) -> None:
        box.clear_widgets()
        if kind in (DIGITS, DATE):
            # One way on: the screen's Lanjut / Kirim (a green OK on the pad beside it did the same).
            pad = Keypad(uid_prefix="lf", spacing=self.u * 12, with_ok=False)
            pad.bind(on_key=lambda _p, k: self.letter_key(k))
            box.add_widget(pad)
            return
        if kind == CHOICE:
            column = BoxLayout(orientation="vertical", spacing=self.u * 12)
            for option in choices:
                b = BigButton(tag=f"choice:{option}", text=option, font_size=self.u * 30, halign="center")
                b.bind(on_release=lambda _b, o=option: self.letter_choose(o))
                column.add_widget(b)
            box.add_widget(column)
            return
        rows = BoxLayout(orientation="vertical", spacing=self.u * 8)
        for line in KEYBOARD:
            row = BoxLayout(spacing=self.u * 8)
            for ch in line:
                b = BigButton(tag=f"kb:{ch}", text=ch, glyph=GLYPH, halign="center", padding=(0, 0), spacing=0)
                b.padding = (0, 0)      # BigButton's kv rule (app.u * 12) overrides the argument
                b.bind(on_release=lambda _b, k=ch: self.letter_key(k))
                row.add_widget(b)
            rows.add_widget(row)
        last = BoxLayout(spacing=self.u * 8)
        space = BigButton(tag="kb:space", text=self.t("kb_space"), font_size=self.u * 26, halign="center", size_hint_x=3)
        space.bind(on_release=lambda _b: self.letter_key("space"))
        delete = BigButton(tag="kb:del", text=self.t("delete"), font_size=self.u * 24, halign="center",
                           bg=(0.35, 0.38, 0.45, 1))
        delete.bind(on_release=lambda _b: self.letter_key("del"))
        last.add_widget(space)
        last.add_widget(delete)
        rows.add_widget(last)
        box.add_widget(rows)

    def letter_key(self, key: str) -> None:
        self.letter_form.key(key)
        self._render_letter_field()

    def letter_choose(self, option: str) -> None:
        """A choice: marked, and on to the next question at once (Kembali comes back to it, marked); on the
        last question it is only marked, and Kirim sends."""
        self.letter_form.choose(option)
        if not self.letter_form.last and self.letter_form.typed == option:
            self.letter_next()
            self._after_choice = True
            return
        self._render_letter_field()

    def letter_next(self) -> None:
        if self.busy:
            return
        outcome = self.letter_form.next()
        if outcome == "done":
            rid = self.letter_form.submit(lambda reply: Clock.schedule_once(lambda dt: self._letter_sent(reply)))
            if rid is not None:
                self.busy = True
            return
        self._render_letter_field()

    def letter_back(self) -> None:
        if not self.letter_form.back():
            self.open_letter_form()
            return
        self._render_letter_field()

    def _letter_sent(self, reply: Reply) -> None:
        self._filed(reply, self.letter_form.sent(reply), lambda: slip(
            reply.result, self.cfg.office, public_url=self.cfg.web.public_url, lang=self.lang))

    def _filed(self, reply: Reply, message: Message, slip_blocks: Callable[[], list[Any]]) -> None:
        """A form's answer (a letter request, a report): its slip printed when the service took it, and the
        message with the code on screen long enough to note it."""
        self.busy = False
        if reply.ok:
            self.printer.submit_blocks(slip_blocks())
        self._show_refusal(message, seconds=max(MESSAGE_SECONDS, 30))

    # ------------------------------------------------------------------ Tanya & lapor (kiosk/flows/callback.py)

    def open_help(self) -> None:
        if self.busy or not self.has_help:
            return
        self._cancel_timers()
        self.sm.current = "help"

    def open_faq(self) -> None:
        """Tanya jawab: the common questions as buttons, and a button to type one's own."""
        if self.busy or self.availability == logic.BROKER_DOWN:
            return
        self._cancel_timers()
        self._faq_buttons([])      # nothing until the service says (never an older list)
        self._open_now("faq")
        # Not through the gate: a lookup, so a touch on *Tanya sendiri* is never refused while it is out.
        rid = self.requester.send("faq_common", {"limit": MAX_BUTTONS},
                                  lambda reply: Clock.schedule_once(lambda dt: self._faq_common(reply)),
                                  timeout=REQUEST_TIMEOUT)
        self._faq_ask = rid

    def _faq_common(self, reply: Reply) -> None:
        self.faq_replies["ok" if reply.ok else "failed"] += 1
        if reply.request_id != self._faq_ask or self.sm.current != "faq":
            return          # the screen was left, or opened again since
        self._faq_buttons(common_questions(reply))

    def _faq_buttons(self, questions: list[str]) -> None:
        """The common questions as buttons. As the start screen's: kept (one per place, made when first
        needed) and given the new words in place; laid out and fitted before the frame that shows them."""
        self.faq_questions = questions
        grid = self.sm.get_screen("faq").ids.questions
        while len(self._faq_pool) < len(questions):
            i = len(self._faq_pool)
            b = BigButton(tag=f"faq:{i}", halign="left", bg=SECONDARY, icon=asset("info.png"))
            b.bind(on_release=lambda _b, i=i: self.ask_question(self.faq_questions[i]))
            self._faq_pool.append(b)
        shown = self._faq_pool[:len(questions)]
        if list(reversed(grid.children)) != shown:
            grid.clear_widgets()
            for b in shown:
                grid.add_widget(b)
        for b, q in zip(shown, questions):
            b.text, b.font_size, b.icon_size = q, self.u * 28, self.u * 44
        if self.sm.current == "faq":
            place_keys(self.sm.get_screen("faq"))

    def open_ask_keys(self) -> None:
        """Tanya sendiri: the question typed on the kiosk's keys (the report screen, one step)."""
        if self.busy:
            return
        self._report = self.asking
        self.asking.reset()
        self._report_keys_for = None
        self._key_group = ""
        self.sm.current = "report"          # first: its keys are laid out in the screen's own size
        self._render_report()
        self._open_now("report")

    def ask_question(self, question: str) -> None:
        if self.busy:
            return
        rid = self.asking.ask(question, lambda reply: Clock.schedule_once(lambda dt: self._asked(reply)))
        if rid is not None:
            self.busy = True

    def _asked(self, reply: Reply) -> None:
        self.busy = False
        got = self.asking.answered(reply)
        scr: AnswerScreen = self.sm.get_screen("answer")
        self._cancel_timers()

        def render() -> None:
            scr.question = got.question
            scr.unsure = got.text is None
            if got.failed:
                scr.answer, scr.detail = self.t("answer_failed"), ""
            elif got.text is None:
                scr.answer, scr.detail = self.t("answer_unsure"), self.t("answer_unsure_sub")
            else:
                scr.answer, scr.detail = got.text, ""
        self._show("answer", render)

    def open_report(self, which: str) -> None:
        """The complaint form (``complaint``) or the call-back request (``callback``), first question."""
        if self.availability != logic.OK or self.busy:
            return
        self._cancel_timers()
        self._report = self.callback if which == "callback" else self.complaint
        self._report.reset()
        self._report_keys_for = None
        self.sm.current = "report"          # first: its keys are laid out in the screen's own size
        self._render_report()
        self._open_now("report")

    def _report_label(self, step: str) -> str:
        return {"category": "cb_category", "topic": "cb_topic", "name": "cb_name", "phone": "cb_phone",
                "note": "cb_note", "text": "cp_text", "contact": "cp_contact", "question": "ask_prompt"}[step]

    def _choice_label(self, step: str, option: str) -> str:
        if step == "category":
            return self.t(f"cb_cat_{option}")
        if step == "contact":
            return self.t(f"cp_contact_{option}")
        return option.replace("_", " ").replace("-", " ").capitalize()

    def _render_report(self) -> None:
        flow = self._report
        scr: ReportScreen = self.sm.get_screen("report")
        title = self.t("cb_title" if flow is self.callback else "ask" if flow is self.asking else "cp_title")
        done_next = flow.last or (flow.step == "contact" and flow.typed == "anonim")
        # Anonymous ends the complaint form a question early: "Langkah 4 dari 4" beside Kirim, not "dari 5".
        step = self.t("cb_step", n=flow.index + 1, total=flow.index + 1 if done_next else len(flow.steps))
        scr.step = step if self.compact else f"{title} \u00b7 {step}"     # the 7-inch panel: one line
        scr.prompt = self.t(self._report_label(flow.step))
        scr.shown = self._choice_label(flow.step, flow.typed) if flow.kind == CHOICE and flow.typed else flow.shown
        scr.problem = self.t(flow.problem) if flow.problem else ""
        # A choice goes on by itself (report_choose); Kirim stays where the step ends the form.
        next_text = scr.next_text
        scr.next_text = self.t(("ask_send" if flow is self.asking else "cb_send")) if done_next else \
            "" if flow.kind == CHOICE else self.t("cb_next")
        keys = (flow.step, flow.index, self._key_group)
        if self._report_keys_for != keys:
            self._report_keys_for = keys
            self._report_keys(scr.ids.keyarea, flow)
            place_keys(scr.ids.keyarea)     # a group's keys change at each touch: placed before the next
        if scr.next_text != next_text:      # Lanjut / Kirim come or change: their words at once
            place_keys(scr)
        if flow.kind == CHOICE:             # the chosen one marked in place (rebuilt keys draw a frame late)
            for b in scr.ids.keyarea.walk(restrict=True):
                if isinstance(b, BigButton) and b.tag.startswith("rchoice:"):
                    b.selected = b.tag == f"rchoice:{flow.typed}"

    def _report_keys(self, box: Any, flow: CallbackFlow | AskFlow) -> None:
        box.clear_widgets()
        if flow.kind == DIGITS:
            # One way on: the screen's Kirim / Lanjut (a green OK beside it did the same).
            pad = Keypad(uid_prefix="rk", spacing=self.u * 12, with_ok=False)
            pad.bind(on_key=lambda _p, k: self.report_key(k))
            box.add_widget(pad)
            return
        if flow.kind == CHOICE:
            options = flow.choices
            rows = 3 if self.compact else 4
            grid = GridLayout(cols=max(1 if len(options) <= rows else 2, -(-len(options) // rows)),
                              spacing=self.u * 10)
            for option in options:
                b = BigButton(tag=f"rchoice:{option}", text=self._choice_label(flow.step, option),
                              font_size=self.u * 30, halign="center", padding=(self.u * 8, self.u * 4),
                              selected=flow.typed == option)
                b.bind(on_release=lambda _b, o=option: self.report_choose(o))
                grid.add_widget(b)
            box.add_widget(grid)
            return
        box.add_widget(self._grouped_keys(lambda key: self.report_key(key)))

    def _grouped_keys(self, on_key: Callable[[str], None]) -> GridLayout:
        """The on-screen keyboard in two touches a letter, each key 20 mm on every panel: first a group
        (``ABCDE`` ... ``0-9``), then the group's letters; after a letter the groups come back."""
        group = self._key_group
        grid = GridLayout(cols=3 if not group or len(KEY_GROUPS[group]) <= 6 else 4, spacing=self.u * 10)

        def key(tag: str, text: str, action: Callable[[], None], bg: Any = None, size: float = 34) -> None:
            b = BigButton(tag=f"tk:{tag}", text=text, font_size=self.u * size, halign="center",
                          padding=(self.u * 6, self.u * 4), bg=bg or (0.08, 0.40, 0.75, 1),
                          glyph=GLYPH if len(text) == 1 else 0)
            b.bind(on_release=lambda _b: action())
            grid.add_widget(b)

        if not group:
            for name in KEY_GROUPS:
                key(name, name, lambda n=name: self._open_group(n, on_key), SECONDARY)
            key("space", self.t("kb_space"), lambda: on_key("space"), size=28)
            key("del", self.t("delete"), lambda: on_key("del"), (0.35, 0.38, 0.45, 1), size=28)
            return grid
        for ch in KEY_GROUPS[group]:
            key(ch, ch, lambda c=ch: self._group_key(c, on_key), size=40)
        key("groups", self.t("kb_back"), lambda: self._open_group("", on_key), (0.20, 0.36, 0.56, 1), size=24)
        return grid

    def _open_group(self, group: str, on_key: Callable[[str], None]) -> None:
        self._key_group = group
        on_key("")        # re-render with the group's keys (an empty key types nothing)

    def _group_key(self, ch: str, on_key: Callable[[str], None]) -> None:
        self._key_group = ""
        on_key(ch)

    def report_key(self, key: str) -> None:
        if key:
            self._report.key(key)
        self._render_report()

    def report_choose(self, option: str) -> None:
        """A choice: on to the next question at once (Kembali comes back to it, marked). A choice that ends
        the form (the last step, or *anonim*) is only marked: Kirim sends, never a tap on a choice."""
        flow = self._report
        flow.choose(option)
        ends = flow.last or (flow.step == "contact" and flow.typed == "anonim")
        if not ends and flow.typed == option:
            self.report_next()
            self._after_choice = True
            return
        self._render_report()

    def report_next(self) -> None:
        if self.busy:
            return
        flow = self._report
        outcome = flow.next()
        self._key_group = ""
        if outcome == "done":
            rid = flow.submit(lambda reply: Clock.schedule_once(lambda dt: self._report_sent(flow, reply)))
            if rid is not None:
                self.busy = True
            return
        self._render_report()

    def report_back(self) -> None:
        self._key_group = ""
        if not self._report.back():
            self.open_faq() if self._report is self.asking else self.open_help()
            return
        self._render_report()

    def _report_sent(self, flow: CallbackFlow | AskFlow, reply: Reply) -> None:
        if flow is self.asking:
            self._asked(reply)
            return
        self._filed(reply, flow.sent(reply), lambda: report_slip(
            reply.result, self.cfg.office, public_url=self.cfg.web.public_url, lang=self.lang,
            note_key=flow.slip_note))

    # ------------------------------------------------------------------ the QR/barcode reader (kiosk/flows/scan.py)

    def _scan_text(self, window: Any, text: str) -> None:
        self.scan_reader.char(text, time.monotonic())

    def _scan_key(self, window: Any, key: int, scancode: int, codepoint: str, modifiers: list[str]) -> bool:
        if key not in (13, 271):          # Enter, keypad Enter
            return False
        payload = self.scan_reader.enter(time.monotonic())
        if payload is None:
            self.scans["typed"] += 1      # typed by hand (or nothing): not a scan
            return True
        self.scanned(payload)
        return True

    def scanned(self, payload: str) -> None:
        """A scanner's payload: its code's live status, where a scan makes sense now."""
        if self.rating_mode or self.busy or self.sm.current not in SCAN_SCREENS:
            self.scans["ignored"] += 1
            log.info("a scan ignored on the %s screen", self.sm.current)
            return
        self._last_touch = time.monotonic()
        item = read_code(payload, office_id=self.cfg.office.id, public_url=self.cfg.web.public_url,
                         width=self._width())
        if item is None:
            self.scans["unknown"] += 1
            log.info("a scan that names nothing of this office's")
            self._show_refusal(Message("warning.png", "scan_unknown", "scan_unknown_body"))
            return
        self.scans["read"] += 1
        rid = self.lookup.look_up(item, lambda reply: Clock.schedule_once(lambda dt: self._looked_up(item, reply)))
        if rid is not None:
            self.busy = True

    def _looked_up(self, item: Scanned, reply: Reply) -> None:
        self.busy = False
        self._show_status(item, reply)

    def _show_status(self, item: Scanned, reply: Reply) -> None:
        self._cancel_timers()
        scr: ScanScreen = self.sm.get_screen("scan")

        def render() -> None:
            names = {row.code: row.label(self.lang) for row in logic.service_rows(self.state, self.cfg.services)}
            names |= {f"letter:{t.code}": t.name_en if self.lang == "en" and t.name_en else t.name
                      for t in self.letter_form.types}
            view = self.lookup.view(item, reply, self.lang, can_pick_up=self.has_letters,
                                    today=(self.state or {}).get("business_date"), names=names)
            scr.title, scr.status, scr.body = view.title, view.status, view.body
            scr.action, scr.code = view.action or "", view.code
            scr.action_text = self.t(view.action_key) if view.action_key else ""
        self._show("scan", render)
        self._message_timer = Clock.schedule_once(self.go_home, SCAN_SECONDS)

    def scan_action(self) -> None:
        """The status screen's green button: a booking's check-in, or a ready letter's pickup ticket."""
        scr: ScanScreen = self.sm.get_screen("scan")
        if scr.action == "check_in":
            self.send_code(self.checkin, scr.code)
        elif scr.action == "letter_pickup":
            self.send_code(self.letter_pickup, scr.code)

    # ------------------------------------------------------------------ printer status

    def _check_printer(self, *_: Any) -> None:
        self.printer_status.check(on_done=lambda res: Clock.schedule_once(lambda dt: self._checked(res)))

    def _checked(self, result: PrintResult) -> None:
        Clock.schedule_once(self._check_printer, self.printer_status.checked(result))

    # ------------------------------------------------------------------ info and messages

    def show_info(self, code: str) -> None:
        row = self.row(code)
        if row is None:
            return
        scr: InfoScreen = self.sm.get_screen("info")
        scr.code = code
        scr.quota_reached = row.quota_reached

        def render() -> None:
            scr.title = row.label(self.lang)
            if row.requirements:
                scr.body = "\n".join(f"\u2022  {r}" for r in row.requirements)
            else:
                scr.body = self.t("no_requirements")
        self._show("info", render)

    def show_message(self, icon: str, title: Callable[[], str], body: Callable[[], str] | None,
                     seconds: float) -> None:
        """A full-screen message; ``title`` and ``body`` give the text in the current language."""
        self._cancel_timers()
        scr: MessageScreen = self.sm.get_screen("message")
        scr.icon = icon

        def render() -> None:
            scr.title = title()
            scr.body = body() if body else ""
        self._show("message", render)
        self._message_timer = Clock.schedule_once(self.go_home, seconds)

    def _show_refusal(self, message: Message, seconds: float = MESSAGE_SECONDS) -> None:
        """A flow's :class:`~antre_kiosk.flows.Message`, in the current language (again when it changes)."""
        body_key = message.body_key
        self.show_message(asset(message.icon), lambda: self.t(message.title_key, **message.values),
                          (lambda: self.t(body_key, **message.values)) if body_key else None, seconds)

    # ------------------------------------------------------------------ rating

    def start_rating(self) -> None:
        if not self.can_rate:
            return
        self.rating.reset()
        self._code_for = None
        self._fill_rate_pick()
        self.sm.current = "rate_pick"

    def _fill_rate_pick(self) -> None:
        scr: RatePickScreen = self.sm.get_screen("rate_pick")
        grid = scr.ids.numbers
        grid.clear_widgets()
        for number in self.rateable:
            b = BigButton(tag=f"rate:{number}", text=number, halign="center", font_size=self.u * 54,
                          bg=(0.16, 0.30, 0.48, 1))
            b.bind(on_release=lambda _b, n=number: self.chosen_to_rate(n))
            grid.add_widget(b)
        scr.empty_text = "" if self.rateable else self.t("rate_pick_none")

    def chosen_to_rate(self, number: str) -> None:
        """A resident chose ``number`` (from the list or typed): the faces, or first the ticket's rating code
        where the service needs it ([queue] rating_code_required; not for the counter's own prompt)."""
        if not self.cfg.queue.rating_code_required:
            self.rating_prompt(number)
            return
        self._code_for = number
        self.number_keypad.reset()
        scr: RateKeypadScreen = self.sm.get_screen("rate_keypad")
        scr.prompt_key = "rate_code_prompt"
        scr.ids.keypad.letters = []
        scr.ids.prefixes.clear_widgets()
        self._typed_changed()
        self.sm.current = "rate_keypad"

    def open_keypad(self) -> None:
        self._code_for = None
        self.sm.get_screen("rate_keypad").prompt_key = "rate_type_prompt"
        self.number_keypad.reset()
        self._typed_changed()
        scr: RateKeypadScreen = self.sm.get_screen("rate_keypad")
        prefixes = scr.ids.prefixes
        prefixes.clear_widgets()
        letters = sorted({r.prefix for r in self.rows if r.prefix})
        # On a short screen the letters join the keypad (three rows of 20 mm keys); else a row of their own.
        scr.ids.keypad.letters = letters if self.compact else []
        for p in ([] if self.compact else letters):
            b = BigButton(tag=f"prefix:{p}", text=p, halign="center", glyph=GLYPH,
                          bg=(0.16, 0.30, 0.48, 1))
            b.bind(on_release=lambda _b, letter=p: self.type_key(letter))
            prefixes.add_widget(b)
        self.sm.current = "rate_keypad"

    def type_key(self, key: str) -> None:
        if self._code_for is not None:
            typed = self.number_keypad.typed
            if key == "ok":
                if len(typed) == RATING_CODE_DIGITS:
                    number, self._code_for = self._code_for, None
                    self.rating_prompt(number, typed)
                return
            if key == "del":
                self.number_keypad.typed = typed[:-1]
            elif key.isdigit() and len(typed) < RATING_CODE_DIGITS:
                self.number_keypad.typed = typed + key
            self._typed_changed()
            return
        number = self.number_keypad.key(key, self._width())
        if number:
            self.chosen_to_rate(number)
            return
        self._typed_changed()

    def _width(self) -> int:
        return logic.number_width(self.state, self.cfg.queue.number_width)

    def _typed_changed(self) -> None:
        scr: RateKeypadScreen = self.sm.get_screen("rate_keypad")
        scr.typed = self.number_keypad.typed
        if self._code_for is not None:
            scr.shown = self.number_keypad.typed.ljust(RATING_CODE_DIGITS, "_")
            scr.ids.keypad.ok_enabled = len(self.number_keypad.typed) == RATING_CODE_DIGITS
            return
        scr.shown = self.number_keypad.shown(self._width())
        scr.ids.keypad.ok_enabled = self.number_keypad.number(self._width()) is not None

    def rating_prompt(self, number: str, code: str | None = None) -> None:
        """The face scale for ``number`` (also the entry point of rating-only mode, which sends no code: the
        service knows this kiosk's login as its counter's ``rating_kiosk``)."""
        if self.sm.current in ("ticket", "pin"):
            return
        self.rating.start(number, code)
        self._cancel_timers()
        scr: RateFaceScreen = self.sm.get_screen("rate_face")

        def render() -> None:
            scr.title = self.t("rate_question")
            scr.subtitle = self.t("rate_for", number=number)
            scr.element = ""
            scr.answers = []
        self._show("rate_face", render)
        self._last_touch = time.monotonic()

    def face(self, score: int) -> None:
        step = self.rating.face(score)
        if step == ASK_MORE:
            self.sm.current = "rate_more"
        elif step == SEND:
            self._send_rating(with_elements=True)
        elif step is not None:
            self._show_element()

    def rate_details(self) -> None:
        self.rating.details()
        self._show_element()

    def _show_element(self) -> None:
        i = self.rating.element_index
        number = self.rating.number
        scr: RateFaceScreen = self.sm.get_screen("rate_face")

        def render() -> None:
            scr.title = texts.element_question(i, self.lang)
            scr.element = texts.element_name(i, self.lang)
            scr.answers = [texts.element_answer(i, score, self.lang) for score in (4, 3, 2, 1)]
            scr.subtitle = self.t("element_progress", i=i + 1) + "   \u2022   " + self.t("rate_for", number=number)
        self._show("rate_face", render)

    def send_score_only(self) -> None:
        self._send_rating(with_elements=False)

    def _send_rating(self, with_elements: bool) -> None:
        number = self.rating.number
        rid = self.rating.send(with_elements, lambda reply: Clock.schedule_once(
            lambda dt: self._rated(reply, number)))
        if rid is None:
            return
        self.show_message(asset("star.png"), lambda: self.t("sending"), None, MESSAGE_SECONDS + 10)
        self.busy = True

    def _rated(self, reply: Reply, number: str | None) -> None:
        self.busy = False
        self._show_refusal(self.rating.finished(reply, number), THANKS_SECONDS if reply.ok else MESSAGE_SECONDS)

    # ------------------------------------------------------------------ staff

    def open_pin(self) -> None:
        self._cancel_timers()
        self.staff_pin.reset()
        self._pin_changed()
        self.sm.current = "pin"

    def pin_key(self, key: str) -> None:
        if self.staff_pin.key(key):
            self.leave("staff PIN entered")
            return
        self._pin_changed()

    def _pin_changed(self) -> None:
        scr: PinScreen = self.sm.get_screen("pin")
        scr.entered = self.staff_pin.entered
        scr.error = self.t(self.staff_pin.error_key) if self.staff_pin.error_key else ""

    # ------------------------------------------------------------------ introspection for tests

    def _sizes(self) -> dict[str, Any]:
        """What tests check at every screen size: every touch target on the screen shown (window pixels,
        top-left origin) and the smallest text drawn, walked over the real widget tree."""
        from kivy.uix.label import Label

        targets, smallest = [], None
        for w in self.root.walk(restrict=True):
            if not self._shown(w) or w.width <= 1 or w.height <= 1:
                continue
            if isinstance(w, ButtonBehavior) and not w.disabled or isinstance(w, (BigButton, FaceButton)):
                x, y = w.to_window(w.x, w.y)
                top = Window.height - y - w.height
                target = {"tag": getattr(w, "tag", "") or type(w).__name__, "x": round(x), "y": round(top),
                          "w": round(w.width), "h": round(w.height)}
                if isinstance(w, BigButton) and len(w.text.strip()) == 1:
                    target["char"] = round(w.fit_size / w.height, 2)     # drawn font size / key height
                # In a list that scrolls, the part that is drawn (the rest is reached by scrolling).
                clip = self._scroll_clip(w)
                if clip is not None:
                    x0, y0 = max(x, clip[0]), max(top, clip[1])
                    x1, y1 = min(x + w.width, clip[0] + clip[2]), min(top + w.height, clip[1] + clip[3])
                    if x1 <= x0 or y1 <= y0:
                        continue
                    target["visible"] = {"x": round(x0), "y": round(y0), "w": round(x1 - x0), "h": round(y1 - y0)}
                targets.append(target)
            if isinstance(w, Label) and w.text.strip():
                size = w.font_size
                if w.markup and "[size=" in w.text:
                    size = min([size] + [float(s) for s in __import__("re").findall(r"\[size=(\d+)", w.text)])
                if smallest is None or size < smallest["px"]:
                    smallest = {"px": round(size, 1), "text": w.text[:60]}
        return {"tp": self.tp, "min_font": self.min_font, "portrait": self.portrait, "compact": self.compact,
                "targets": targets, "smallest_text": smallest}

    def _scroll_clip(self, w) -> tuple[float, float, float, float] | None:
        """The window rectangle (top-left origin) of the ScrollView ``w`` is in, or None."""
        from kivy.uix.scrollview import ScrollView

        p = w.parent
        while p is not None and p is not self.root:
            if isinstance(p, ScrollView):
                x, y = p.to_window(p.x, p.y)
                return x, Window.height - y - p.height, p.width, p.height
            p = p.parent
        return None

    def _shown(self, w) -> bool:
        """The widget is drawn: it and every parent up to the root are visible, on the screen shown."""
        while w is not None and w is not self.root:
            if getattr(w, "opacity", 1) == 0:
                return False
            if isinstance(w, Screen) and w.manager is not None and w.manager.current != w.name:
                return False
            w = w.parent
        return True

    def _check_drawn(self, *_: Any) -> None:
        """For tests (with ``$ANTRE_UI_DUMP``): counts, per screen, the frames drawn while a button shown
        there had no words or another text's words (its words fitted a frame late), or still sat where Kivy
        puts a new widget before its layout (100 x 100 at (0, 0)). A screen whose buttons are rebuilt must
        show them whole from its first frame: an empty or half-drawn frame flickers."""
        scr = self.sm.current_screen
        if scr is None:
            return
        for w in scr.walk(restrict=True):
            if not isinstance(w, BigButton) or not w.text or not self._shown(w):
                continue
            if escape_markup(w.text) not in w.markup_text or (tuple(w.size) == (100, 100) and tuple(w.pos) == (0, 0)):
                self.unfinished_frames[scr.name] = self.unfinished_frames.get(scr.name, 0) + 1
                return

    def dump_ui(self) -> None:
        """Writes named widgets' rectangles (top-left origin, window pixels) to ``$ANTRE_UI_DUMP`` (called
        every 0.2 s; a screen still being laid out is not written)."""
        widgets: dict[str, Any] = {}
        for w in self.root.walk():
            uid = getattr(w, "tag", "")
            if not uid or w.width <= 1 or w.height <= 1 or getattr(w, "opacity", 1) == 0:
                continue
            x, y = w.to_window(w.x, w.y)
            widgets[uid] = {
                "x": round(x), "y": round(Window.height - y - w.height), "w": round(w.width),
                "h": round(w.height), "text": str(getattr(w, "text", "")), "disabled": bool(w.disabled),
            }
            if getattr(w, "selected", False):
                widgets[uid]["selected"] = True     # a choice made (marked)
            if isinstance(w, Label):
                widgets[uid]["color"] = [round(c, 2) for c in w.color]
            if getattr(w, "subtext", ""):
                widgets[uid]["subtext"] = w.subtext
                widgets[uid]["drawn"] = w.markup_text
        data = {
            "screen": self.sm.current, "lang": self.lang, "sizes": self._sizes(),
            "settled": len(self.sm.children) == 1 and not self.sm.transition.is_active and not BigButton.pending,
            "availability": self.availability, "busy": self.busy,
            "banner": self.banner, "printer": self.printer.status, "rateable": list(self.rateable),
            "ignored_taps": self.ignored_taps, "speech": dict(self.speech) | {"screens": dict(self.speech["screens"])}, "scans": dict(self.scans),
            "faq_replies": dict(self.faq_replies),
            "catalogue_reads": dict(self.catalogue_reads),
            "unfinished_frames": dict(self.unfinished_frames),
            # Which forms still hold what a resident typed (never the words themselves).
            "typed_held": sorted(name for name, flow in (("callback", self.callback), ("complaint", self.complaint),
                                                         ("asking", self.asking), ("letter_form", self.letter_form))
                                 if getattr(flow, "values", None) or flow.typed or getattr(flow, "question", "")),
            # "idle_past": idle for longer than the idle timeout and a tick after it (the idle screen was
            # due, if it may show).
            "news": {"items": len(self.idle_news.feed.items),
                     "idle_past": time.monotonic() - self._last_touch > self.kcfg.idle_seconds + 1.5},
            "window": {"width": Window.width, "height": Window.height,
                       "left": getattr(Window, "left", 0), "top": getattr(Window, "top", 0)},
            "widgets": widgets,
        }
        text = json.dumps(data, ensure_ascii=False, sort_keys=True)
        # Written once the screen has looked the same for a whole interval: buttons made a moment ago
        # (the services when the state arrives, the rating list) sit at Kivy's default 100x100 at (0, 0)
        # until the next layout pass, and a touch aimed there would miss them.
        if text != self._seen_dump:
            self._seen_dump = text
            return
        if text == self._last_dump:
            return
        self._last_dump = text
        tmp = f"{self._dump_path}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, self._dump_path)
