"""The waiting-room TV board (Kivy). It only listens; it never sends a command.

Subscriptions (see docs/protocol.md):

- ``{base}/state`` (retained): the whole board, at once on start and after a reconnect;
- ``{base}/event/ticket_called`` (not retained): flash the "now calling" panel and
  announce the call -- so a restart or reconnect never repeats an announcement;
- ``{base}/status/+`` (retained presence): the service's online flag, and counter
  devices that list the counters they drive (``"counters": ["loket-1"]``);
- ``{base}/ticker`` (retained ``{"text": "..."}``): the staff's running text;
- ``{base}/news`` and ``{base}/news/picture/+`` (retained): announcement slides between calls
  (:mod:`antre_display.slides`), shown over the "previous calls" panel, never while a call is held.

Import this module only after Kivy has been configured (:func:`antre_display.cli.run`
does that: window size, fullscreen, logging).

For tests and diagnosis, ``ANTRE_UI_DUMP=/path/ui.json`` makes the board write what
it shows (every text, plus the window size) to that file whenever it changes.
"""

from __future__ import annotations

import json
import logging
import os
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.stencilview import StencilView
from kivy.uix.widget import Widget

from antre.apps.pictures import PictureTextures
from antre.config import Config
from antre.link.mqtt import MqttLink, client_id_for
from antre.link.protocol import Topics, read_object, read_presence

from .board import BoardModel, CallView, format_clock, format_date
from .slides import KIND_TEXT, Slide, SlideShow

log = logging.getLogger("antre.display")

KV_FILE = Path(__file__).with_name("display.kv")
UI_DUMP_ENV = "ANTRE_UI_DUMP"
RECENT_CALLS = 4
TICKER_SPEED = 0.07   # window widths per second: about 5 characters a second
FLASH_PERIOD = 0.5    # seconds per on/off half-cycle


class CounterRow(BoxLayout):
    name = StringProperty("")
    number = StringProperty("")
    status = StringProperty("idle")
    status_text = StringProperty("")
    row_height = NumericProperty(50)


class WaitingRow(BoxLayout):
    """One service on the board: its prefix, name, how many wait and for how long."""

    prefix = StringProperty("")
    name = StringProperty("")
    waiting_text = StringProperty("")
    wait_text = StringProperty("")
    note = StringProperty("")
    row_height = NumericProperty(50)


class CallRow(BoxLayout):
    number = StringProperty("")
    counter_name = StringProperty("")
    no_show = BooleanProperty(False)
    time_text = StringProperty("")
    row_height = NumericProperty(50)


class NowCalling(BoxLayout):
    number = StringProperty("")
    counter_name = StringProperty("")
    recall = BooleanProperty(False)
    no_show = BooleanProperty(False)
    flash_on = BooleanProperty(False)


class Ticker(StencilView):
    """A line of text that runs from right to left, for ever. A new text starts at the left edge,
    readable at once; later passes come in from the right."""
    text = StringProperty("")
    offset = NumericProperty(0)

    def restart(self) -> None:
        self.offset = App.get_running_app().vh * 2

    def step(self, dt: float) -> None:
        label = self.ids.text
        self.offset -= max(1.0, self.width * TICKER_SPEED * dt)
        if self.offset < -label.width:
            self.offset = self.width


class Board(FloatLayout):
    pass


class SlidePanel(BoxLayout):
    """One announcement over the "previous calls" panel: its picture on the left, kind, title and text."""
    kind_text = StringProperty("")
    title = StringProperty("")
    text = StringProperty("")
    has_picture = BooleanProperty(False)


class DisplayApp(App):
    """The board. ``cfg`` is the whole configuration; ``announcer`` plays calls (None: silent)."""

    vh = NumericProperty(10.8)
    office_name = StringProperty("")
    office_address = StringProperty("")
    logo_path = StringProperty("")
    clock_text = StringProperty("")
    date_text = StringProperty("")
    ticker_text = StringProperty("")
    banner_title = StringProperty("")
    banner_detail = StringProperty("")
    attention_text = StringProperty("")

    def __init__(self, cfg: Config, announcer=None, **kwargs: Any):
        super().__init__(**kwargs)
        self.kv_file = str(KV_FILE)  # loaded by App.load_kv() before build()
        self.cfg = cfg
        self.title = f"Antre - {cfg.office.name}"
        self.announcer = announcer
        self.tz = cfg.office.tz
        self.model = BoardModel(ticker=cfg.display.ticker, recent_calls=RECENT_CALLS,
                                staff_alerts=cfg.display.staff_alerts)
        self.topics = Topics(cfg.office.id)
        self.link = MqttLink(cfg.mqtt, self.topics, client_id_for(cfg, "display"), "display")
        self._flash_ev = None
        self._flash_stop = None
        self._dump_path = os.environ.get(UI_DUMP_ENV) or None
        self._last_dump = ""
        self._shown: dict[str, Any] = {"now": {}, "counters": [], "services": [], "last_calls": []}
        self.slides = SlideShow()
        self._slide: Slide | None = None
        self._textures = PictureTextures()
        self._call_log: list[dict[str, Any]] = []   # for the UI dump: what each call found and did

    # ------------------------------------------------------------------ Kivy life cycle

    def build(self) -> Board:
        self.office_name = self.cfg.office.name
        self.office_address = self.cfg.office.address
        logo = self.cfg.office.logo
        if logo and Path(logo).is_file():
            self.logo_path = logo
        elif logo:
            log.warning("[office] logo %s does not exist; showing no logo", logo)
        self.ticker_text = self.model.ticker_text()
        Window.bind(size=self._resized)
        self._resized(Window, Window.size)
        return Board()

    def on_start(self) -> None:
        self.link.subscribe(self.topics.state, self._from_mqtt(self._got_state))
        self.link.subscribe(self.topics.event("ticket_called"), self._from_mqtt(self._got_call))
        self.link.subscribe(self.topics.statuses, self._from_mqtt(self._got_status))
        self.link.subscribe(self.topics.ticker, self._from_mqtt(self._got_ticker))
        self.link.subscribe(self.topics.news, self._from_mqtt(self._got_news))
        self.link.subscribe(self.topics.news_pictures, self._from_mqtt(self._got_picture))
        self.link.on_connect(lambda: Clock.schedule_once(lambda dt: self._link_changed(True)))
        self.link.on_disconnect(lambda: Clock.schedule_once(lambda dt: self._link_changed(False)))
        self.link.start()
        self.root.ids.ticker.restart()
        relayout = Clock.create_trigger(lambda dt: self.refresh())
        for name in ("counters", "services", "calls"):
            self.root.ids[name].bind(height=lambda *a: relayout())
        Clock.schedule_interval(self.root.ids.ticker.step, 1 / 30)
        Clock.schedule_interval(self._every_second, 1.0)
        Clock.schedule_interval(lambda dt: self._show_slide(), 0.25)
        self._every_second(0)
        self.refresh()
        log.info("display started for %s (%s), broker %s", self.cfg.office.name, self.topics.base, self.cfg.mqtt.url)

    def on_stop(self) -> None:
        self.link.stop()
        if self.announcer is not None:
            self.announcer.close(timeout=5)

    def _resized(self, window, size) -> None:
        self.vh = size[1] / 100.0
        Clock.schedule_once(lambda dt: self.refresh(), 0)

    # ------------------------------------------------------------------ MQTT -> main thread

    @staticmethod
    def _from_mqtt(handler):
        """paho calls on its own thread; only the main thread may touch widgets."""
        def on_message(topic: str, payload: bytes) -> None:
            Clock.schedule_once(lambda dt: handler(topic, payload))
        return on_message

    def _got_state(self, topic: str, payload: bytes) -> None:
        if self.model.apply_state(payload):
            self.model.tick(self._now())
            self.refresh()

    def _got_status(self, topic: str, payload: bytes) -> None:
        # Trusted by its topic: the component is the role of the login that wrote it (docs/security.md).
        presence = read_presence(self.topics, topic, payload)
        if presence is not None:
            self.model.apply_status(presence[1], presence[2] or b"")
        self.refresh()

    def _got_ticker(self, topic: str, payload: bytes) -> None:
        self.model.apply_ticker(payload)
        self.refresh()

    def _got_news(self, topic: str, payload: bytes) -> None:
        if self.slides.apply_news(payload):
            self._show_slide()

    def _got_picture(self, topic: str, payload: bytes) -> None:
        item = self.topics.news_item_of(topic)
        if item is not None:
            self.slides.apply_picture(item, payload)
            self._show_slide()

    def _got_call(self, topic: str, payload: bytes) -> None:
        call = self.model.apply_call(payload)
        if call is None:
            return
        log.info("call: %s to %s%s", call.number, call.counter_name, " (recall)" if call.recall else "")
        # The call takes over at once: the voice is handed the call first, and the slide goes in this same
        # step, before the board is redrawn; nothing about slides is waited for.
        covering = self._slide.id if self._slide else None
        self._announce(call, payload)     # the voice's thread starts on it while the board is redrawn
        self.slides.hold(time.monotonic() + self.cfg.display.highlight_seconds)
        self._show_slide()
        self._flash()
        self.refresh()
        self._call_log = (self._call_log + [{"number": call.number, "slide_before": covering,
                                             "slide_after": self._slide.id if self._slide else None,
                                             "announce_handed": self.announcer is not None}])[-10:]
        self._dump()

    # ------------------------------------------------------------------ slides

    def _show_slide(self) -> None:
        """Puts the slide due now over the previous calls panel, or takes it away."""
        if self.root is None:
            return
        busy = bool(self.announcer is not None and self.announcer.busy) or self._flash_ev is not None
        slide = self.slides.current(time.monotonic(), busy)
        if slide == self._slide:
            return
        self._slide = slide
        panel = self.root.ids.slide
        if slide is None:
            panel.opacity, panel.disabled = 0, True
        else:
            panel.kind_text, panel.title, panel.text = KIND_TEXT.get(slide.kind, ""), slide.title, slide.text
            texture = self._textures.texture(slide)
            panel.ids.picture.texture = texture
            panel.has_picture = texture is not None
            panel.opacity, panel.disabled = 1, False
        self._dump()

    def _link_changed(self, connected: bool) -> None:
        self.model.set_connected(connected, self._now())
        self.refresh()

    # ------------------------------------------------------------------ voice

    def _announce(self, call: CallView, payload: bytes) -> None:
        if self.announcer is None:
            return
        try:
            counter = (read_object(payload, "call event") or {}).get("counter") or {}
            number = counter.get("number") if isinstance(counter.get("number"), int) else None
        except AttributeError:
            number = None
        try:
            self.announcer.announce(call.number, call.counter_name, number, called_at=call.at, recall=call.recall)
        except Exception:  # a voice problem must never take the board down
            log.exception("cannot announce %s", call.number)

    # ------------------------------------------------------------------ showing

    def _now(self) -> datetime:
        return datetime.now(timezone.utc)

    def _every_second(self, dt: float) -> None:
        now = self._now()
        local = now.astimezone(self.tz)
        self.clock_text = format_clock(local)
        self.date_text = format_date(local.date())
        self.model.tick(now)
        self._show_banner(now)
        self.attention_text = self.model.attention_text()
        self._dump()

    def _show_banner(self, now: datetime) -> None:
        banner = self.model.banner(now)
        self.banner_title, self.banner_detail = banner if banner else ("", "")

    def _flash(self) -> None:
        """Highlight the "now calling" panel for ``[display] highlight_seconds``."""
        now = self.root.ids.now
        if self._flash_ev is not None:
            self._flash_ev.cancel()
            self._flash_stop.cancel()
        now.flash_on = True

        def toggle(dt: float) -> None:
            now.flash_on = not now.flash_on

        def stop(dt: float) -> None:
            self._flash_ev.cancel()
            self._flash_ev = None
            now.flash_on = False

        self._flash_ev = Clock.schedule_interval(toggle, FLASH_PERIOD)
        self._flash_stop = Clock.schedule_once(stop, self.cfg.display.highlight_seconds)

    def refresh(self) -> None:
        """Puts the model on the screen."""
        if self.root is None:
            return
        m = self.model
        ids = self.root.ids
        self.office_name = m.office_name or self.cfg.office.name
        text = m.ticker_text()
        if text != self.ticker_text:
            self.ticker_text = text
            ids.ticker.restart()
        now = m.now_calling()
        ids.now.number = now.number if now else ""
        ids.now.counter_name = now.counter_name if now else ""
        ids.now.recall = bool(now and now.recall)
        ids.now.no_show = bool(now and now.no_show)

        counters = m.counters()
        box = ids.counters
        row_h = min(self.vh * 12, box.height / max(1, len(counters))) if box.height > 1 else self.vh * 10
        _fill(box, CounterRow, [dict(name=c.name, number=c.number or "", status=c.status,
                                     status_text=c.status_text, row_height=row_h) for c in counters])
        services = m.services()
        box = ids.services
        row_h = min(self.vh * 8, box.height / max(1, len(services))) if box.height > 1 else self.vh * 7
        _fill(box, WaitingRow, [dict(prefix=s.prefix, name=s.name, waiting_text=f"{s.waiting} orang",
                                     wait_text=s.note or s.wait_text, note=s.note, row_height=row_h)
                                for s in services])
        calls = m.recent_calls()
        box = ids.calls
        row_h = min(self.vh * 6.4, box.height / RECENT_CALLS) if box.height > 1 else self.vh * 6
        _fill(box, CallRow, [dict(number=c.number, counter_name=c.counter_name, row_height=row_h, no_show=c.no_show,
                                  time_text=format_clock(c.at.astimezone(self.tz)) if c.at else "")
                             for c in calls])
        self._show_banner(self._now())
        self.attention_text = m.attention_text()
        self._shown = {
            "now": {"number": ids.now.number, "counter_name": ids.now.counter_name, "recall": ids.now.recall,
                    "no_show": ids.now.no_show},
            "counters": [{"id": c.id, "name": c.name, "number": c.number, "status": c.status,
                          "status_text": c.status_text} for c in counters],
            "services": [{"code": s.code, "prefix": s.prefix, "name": s.name, "waiting": s.waiting,
                          "wait_text": s.note or s.wait_text} for s in services],
            "last_calls": [{"number": c.number, "counter_name": c.counter_name, "no_show": c.no_show} for c in calls],
        }
        self._dump()

    def _dump(self) -> None:
        """Writes what is shown to ``$ANTRE_UI_DUMP`` (atomically) when it changed, and at least every
        second with the number of frames drawn so far: once that number has moved on by two, what the
        previous dump said is on the screen."""
        if not self._dump_path or self.root is None:
            return
        data = dict(self._shown, office_name=self.office_name, clock=self.clock_text, date=self.date_text,
                    ticker=self.ticker_text, banner={"title": self.banner_title, "detail": self.banner_detail},
                    attention=self.attention_text,
                    flashing=self._flash_ev is not None, window=list(Window.size),
                    connected=self.model.connected, logo=self.logo_path, frames=Clock.frames_displayed,
                    slide=None if self._slide is None else {
                        "id": self._slide.id, "kind": self._slide.kind, "title": self._slide.title,
                        "text": self._slide.text, "picture": self._slide.picture is not None},
                    slides={"on": self.slides.on, "seconds": self.slides.seconds, "items": len(self.slides.items)},
                    calls=self._call_log, rects={name: _rect(self.root.ids[name]) for name in
                                                 ("slide", "now", "counters_panel", "calls_panel", "services_panel")})
        text = json.dumps(data, ensure_ascii=False, sort_keys=True)
        if text == self._last_dump:
            return
        tmp = f"{self._dump_path}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, self._dump_path)
        self._last_dump = text


def _rect(widget) -> list[int]:
    """A widget's rectangle in window pixels, top-left origin: ``[x, y, width, height]``."""
    x, y = widget.to_window(*widget.pos)
    return [round(x), round(Window.height - y - widget.height), round(widget.width), round(widget.height)]


def _fill(box, cls, rows: list[dict[str, Any]]) -> None:
    """Makes ``box`` hold one ``cls`` widget per row (reusing widgets), top to bottom, then a spacer
    that keeps the rows at the top of their panel."""
    rows_now = [c for c in reversed(box.children) if isinstance(c, cls)]
    box.clear_widgets()
    for i, values in enumerate(rows):
        widget = rows_now[i] if i < len(rows_now) else cls()
        for k, v in values.items():
            setattr(widget, k, v)
        box.add_widget(widget)
    box.add_widget(Widget())
