"""Village information (kabar desa): announcements (pengumuman) and news (berita) the kasi writes in the console.

A plug-in of :class:`~antre.rules.queue.QueueService`. An item is public from ``publish_on`` (office date)
to ``expires_on`` (inclusive; none: until withdrawn). Its body is plain text with a few marks (paragraphs,
``*emphasis*``, lists, links), turned into HTML only by the website with markdown-it-py, raw HTML off
(``web/news.py``); the service stores what was typed. ``ticker``: the title may run on the TV's ticker.
Changes are audited (``news.save``, ``news.withdraw``, ``news.slides``).

A picture is optional: the website checks and re-encodes it (``web/photos.py``) and writes three files into
:func:`picture_folder`, named by the SHA-256 of the cleaned JPEG: ``<sha>.jpg`` (at most 1280 px),
``<sha>.s.jpg`` (the portal's small one) and ``<sha>.tv.jpg`` (the devices' one, at most
:data:`DEVICE_PICTURE_BYTES`, small enough for one MQTT message); the service stores only the name.
:meth:`NewsRules.devices` is what the TV and the kiosk get (``{base}/news``, docs/protocol.md).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import func, or_, select

from antre.errors import CommandError, NotFound
from antre.rules.outcome import Outcome, fit_rows
from antre.rules.staff import audit, authenticate, web_device
from antre.storage.models import Meta, NewsItem

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from antre.rules.queue import QueueService

log = logging.getLogger(__name__)

KINDS = ("pengumuman", "berita")
WRITERS = ("kasi",)
MAX_TITLE = 120
MAX_BODY = 4000
PUBLIC_LIMIT = 30
EXCERPT_MAX = 500
#: A news picture as the website names it (the SHA-256 of the cleaned JPEG).
PICTURE_NAME = re.compile(r"[0-9a-f]{64}\.jpg")
#: The devices' copy of a picture fits one MQTT message under the broker's max_packet_size (64 KiB).
DEVICE_PICTURE_BYTES = 60_000
#: What the devices get: the newest items, each text cut to this many characters.
DEVICE_LIMIT = 10
DEVICE_TEXT = 600
SLIDES_KEY = "news.slides"
SLIDE_SECONDS = (5, 60)


#: ``meta``: the names of pictures items stopped naming (replaced or removed), deleted at the next business day.
FORGET_KEY = "news.pictures_to_forget"


def picture_folder(cfg: Any) -> Path:
    """``[news] picture_dir``, or ``news-pictures`` next to the SQLite database (the website writes there, the
    service reads the devices' copy from there)."""
    if cfg.news.picture_dir:
        return Path(cfg.news.picture_dir)
    url = cfg.database.effective_url
    if url.startswith("sqlite:///"):
        return Path(url[len("sqlite:///"):]).parent / "news-pictures"
    return Path("/var/lib/antre/news-pictures")


def variant(name: str, kind: str) -> str:
    """``<sha>.jpg`` -> ``<sha>.s.jpg`` (``kind`` ``s``: the portal's small copy) or ``<sha>.tv.jpg`` (devices)."""
    return f"{name[:-4]}.{kind}.jpg"


def plain_text(body: str, limit: int = DEVICE_TEXT) -> str:
    """The kasi's text without its marks, for a TV or kiosk screen: links keep their words, ``*`` and ``**``
    go, list items start with a bullet; cut at ``limit`` characters with an ellipsis."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", body)
    text = re.sub(r"\*{1,3}([^*\n]+)\*{1,3}", r"\1", text)
    text = re.sub(r"(?m)^\s*[-+*]\s+", "• ", text)
    text = re.sub(r"\n{2,}", "\n", text).strip()
    if len(text) > limit:
        head = text[:limit - 1]
        space = max(head.rfind(" "), head.rfind("\n"))
        if not text[limit - 1].isspace() and space > limit // 3:
            head = head[:space]     # after a whole word: "pukul 07.0…" read as a wrong time
        text = head.rstrip().rstrip(",.;:").rstrip() + "…"
    return text


def iso(dt: datetime | None) -> str | None:
    return dt.astimezone(timezone.utc).isoformat(timespec="seconds") if dt else None


def _clean(text: str, limit: int, what: str, lines: bool) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    keep = "\n" if lines else ""
    text = "".join(c for c in text if c in keep or c == "\t" or (ord(c) >= 32 and ord(c) != 127))
    text = re.sub(r"\n{3,}", "\n\n", text).strip() if lines else " ".join(text.split())
    if not text:
        raise CommandError("empty_text", f"the {what} is empty")
    if len(text) > limit:
        raise CommandError("text_too_long", f"the {what} has at most {limit} characters")
    return text


class NewsRules:
    def __init__(self, q: "QueueService"):
        self.q = q

    def handlers(self) -> dict[str, Callable[..., Outcome]]:
        return {"news_save": self.save, "news_withdraw": self.withdraw, "news_list": self.list,
                "news_public": self.public, "news_slides": self.set_slides}

    @staticmethod
    def row(n: NewsItem) -> dict[str, Any]:
        return {"id": n.id, "kind": n.kind, "title": n.title, "body": n.body, "publish_on": n.publish_on.isoformat(),
                "expires_on": n.expires_on.isoformat() if n.expires_on else None, "ticker": bool(n.ticker),
                "picture": n.picture, "updated_at": iso(n.updated_at)}

    def save(self, s: "Session", now: datetime, session: str, kind: str, title: str, body: str, publish_on: str,
             expires_on: str | None = None, ticker: bool = False, item: int | None = None,
             picture: str | None = None, address: str | None = None) -> Outcome:
        """``picture``: a name the website wrote (``<sha256>.jpg``) to set it, ``""`` to remove it, absent to
        keep the item's picture."""
        who = authenticate(s, now, session, WRITERS)
        if picture:
            self._check_picture(picture)
        if kind not in KINDS:
            raise CommandError("invalid_argument", f"'kind' must be one of {', '.join(KINDS)}")
        title = _clean(title, MAX_TITLE, "title", False)
        body = _clean(body, MAX_BODY, "text", True)
        try:
            start = date.fromisoformat(publish_on)
            end = date.fromisoformat(expires_on) if expires_on else None
        except ValueError:
            raise CommandError("invalid_argument", "dates are YYYY-MM-DD") from None
        if end is not None and end < start:
            raise CommandError("invalid_dates", "the expiry date is before the publishing date")
        if item is not None:
            n = s.get(NewsItem, item)
            if n is None or n.withdrawn_at is not None:
                raise NotFound("news_not_found", f"no news item {item}")
        else:
            n = NewsItem(author=who.name, created_at=now)
            s.add(n)
        n.kind, n.title, n.body, n.publish_on, n.expires_on, n.ticker = kind, title, body, start, end, int(bool(ticker))
        if picture is not None:
            if n.picture and n.picture != (picture or None):
                self._forget_later(s, n.picture)     # replaced or removed: off the disk at the next business day
            n.picture = picture or None
        n.updated_at = now
        s.flush()
        audit(s, who.name, "news.save", f"news {n.id}", web_device(address),
              {"title": title[:80], "publish_on": publish_on, "picture": n.picture}, now=now)
        return Outcome(self.row(n), changed=False)

    def withdraw(self, s: "Session", now: datetime, session: str, item: int, address: str | None = None) -> Outcome:
        who = authenticate(s, now, session, WRITERS)
        n = s.get(NewsItem, item)
        if n is None:
            raise NotFound("news_not_found", f"no news item {item}")
        if n.withdrawn_at is None:
            n.withdrawn_at = n.updated_at = now
            audit(s, who.name, "news.withdraw", f"news {n.id}", web_device(address), now=now)
        return Outcome({"id": n.id, "withdrawn": True}, changed=False)

    def list(self, s: "Session", now: datetime, session: str, address: str | None = None) -> Outcome:
        authenticate(s, now, session, WRITERS)
        today = self.q.business_date(now)
        rows = list(s.scalars(select(NewsItem).where(NewsItem.withdrawn_at.is_(None))
                              .order_by(NewsItem.publish_on.desc(), NewsItem.id.desc()).limit(200)))
        # The newest that fit in one reply (texts are up to 4 000 characters each).
        items = fit_rows(self.row(n) | {"state": "scheduled" if n.publish_on > today else
                                        "expired" if n.expires_on is not None and n.expires_on < today
                                        else "published", "author": n.author} for n in rows)
        return Outcome({"items": items, "today": today.isoformat(), "slides": self.slides(s),
                        "more": len(rows) - len(items)}, changed=False)

    def public(self, s: "Session", now: datetime, item: int | None = None, excerpt: int | None = None,
               offset: int = 0, limit: int = PUBLIC_LIMIT, picture: str | None = None) -> Outcome:
        """What residents read today: published, not expired, not withdrawn; newest first. With ``excerpt``,
        each body is its plain text cut at that many characters (the portal's list pages). ``offset`` and
        ``limit`` (at most ``PUBLIC_LIMIT``) give one page of them, ``total`` says how many there are in all
        (so every item is reachable however many are published); ``picture`` only those showing that picture."""
        today = self.q.business_date(now)
        query = select(NewsItem).where(NewsItem.withdrawn_at.is_(None), NewsItem.publish_on <= today,
                                       or_(NewsItem.expires_on.is_(None), NewsItem.expires_on >= today))
        if item is not None:
            n = s.scalars(query.where(NewsItem.id == item)).first()
            if n is None:
                raise NotFound("news_not_found", "no such published news item")
            return Outcome({"items": [self.row(n)]}, changed=False)
        if picture is not None:
            query = query.where(NewsItem.picture == picture)
        total = s.scalar(select(func.count()).select_from(query.subquery()))
        rows = list(s.scalars(query.order_by(NewsItem.publish_on.desc(), NewsItem.id.desc())
                              .offset(offset).limit(min(limit, PUBLIC_LIMIT))))
        ticker = " · ".join(n.title for n in rows if n.ticker)
        cut = min(excerpt, EXCERPT_MAX) if excerpt else None
        items = fit_rows((r | {"body": plain_text(r["body"], cut)}) if cut else r
                         for r in map(self.row, rows))   # the newest that fit in one reply
        return Outcome({"items": items, "ticker": ticker, "today": today.isoformat(),
                        "more": len(rows) - len(items), "total": total}, changed=False)

    def _check_picture(self, name: str) -> None:
        """The name must be one the website wrote, with the devices' copy beside it, small enough for MQTT."""
        if not PICTURE_NAME.fullmatch(name):
            raise CommandError("invalid_picture", "a picture is named by the website after its content")
        folder = picture_folder(self.q.cfg)
        try:
            ok = (folder / name).is_file() and 0 < (folder / variant(name, "tv")).stat().st_size <= DEVICE_PICTURE_BYTES
        except OSError:
            ok = False
        if not ok:
            raise CommandError("invalid_picture", f"no picture {name} (with its copy for the devices) in the "
                                                  f"picture folder")

    # ------------------------------------------------------------------ slides on the TV (an office setting)

    def slides(self, s: "Session") -> dict[str, Any]:
        """``{"on", "seconds"}``: the kasi's setting, else ``[news] slides`` and ``slide_seconds``."""
        conf = self.q.cfg.news
        value = {"on": bool(conf.slides), "seconds": int(conf.slide_seconds)}
        meta = s.get(Meta, SLIDES_KEY)
        if meta is not None:
            try:
                stored = json.loads(meta.value)
                value = {"on": bool(stored["on"]), "seconds": int(stored["seconds"])}
            except (ValueError, KeyError, TypeError):
                log.warning("meta %s unreadable; using the configuration's slides", SLIDES_KEY)
        return value

    def set_slides(self, s: "Session", now: datetime, session: str, on: bool | None = None,
                   seconds: int | None = None, address: str | None = None) -> Outcome:
        """The kasi turns the TV's slides on or off and sets how long each stays (5-60 seconds)."""
        who = authenticate(s, now, session, WRITERS)
        value = self.slides(s)
        if seconds is not None:
            if isinstance(seconds, bool) or not isinstance(seconds, int) or not SLIDE_SECONDS[0] <= seconds <= SLIDE_SECONDS[1]:
                raise CommandError("invalid_argument", f"'seconds' must be {SLIDE_SECONDS[0]}-{SLIDE_SECONDS[1]}")
            value["seconds"] = seconds
        if on is not None:
            value["on"] = bool(on)
        s.merge(Meta(key=SLIDES_KEY, value=json.dumps(value, sort_keys=True)))
        audit(s, who.name, "news.slides", "tv", web_device(address), value, now=now)
        return Outcome(value, changed=False)

    def forget_pictures(self, s: "Session", now: datetime) -> int:
        """At a new business day: the picture files of withdrawn items, and the pictures items stopped naming
        (replaced or removed), that no item still shown or editable names are deleted (all three copies), and
        the withdrawn items forget the name. Returns how many."""
        kept = {p for (p,) in s.execute(select(NewsItem.picture).where(NewsItem.withdrawn_at.is_(None),
                                                                      NewsItem.picture.is_not(None)))}
        rows = list(s.scalars(select(NewsItem).where(NewsItem.withdrawn_at.is_not(None),
                                                     NewsItem.picture.is_not(None))))
        later = s.get(Meta, FORGET_KEY)
        names = ({n.picture for n in rows} | set(json.loads(later.value) if later else ())) - kept
        if later is not None:
            s.delete(later)
        folder = picture_folder(self.q.cfg)
        for name in sorted(names):
            for path in (folder / name, folder / variant(name, "s"), folder / variant(name, "tv")):
                try:
                    path.unlink(missing_ok=True)
                except OSError as exc:
                    log.warning("news picture %s not deleted: %s", path.name, exc)
        for n in rows:
            n.picture = None
        if names:
            audit(s, "system", "news.purge", "", "service", {"pictures": len(names)}, now=now)
        return len(names)

    @staticmethod
    def _forget_later(s: "Session", name: str) -> None:
        """A picture an item no longer names (replaced, removed): :meth:`forget_pictures` deletes its files at
        the next business day unless an item names it again by then."""
        row = s.get(Meta, FORGET_KEY)
        names = set(json.loads(row.value)) if row else set()
        names.add(name)
        s.merge(Meta(key=FORGET_KEY, value=json.dumps(sorted(names))))

    # ------------------------------------------------------------------ what the devices show

    def devices(self, s: "Session", now: datetime) -> tuple[dict[str, Any], dict[int, bytes]]:
        """The retained ``{base}/news`` document and the pictures by item id (the devices' copies).

        Today is the service's business day (:meth:`QueueService.business_date`): on a doubted clock the open
        day is held, so nothing expires or appears because of a clock that jumped.
        """
        today = self.q.business_date(now)
        rows = list(s.scalars(select(NewsItem).where(
            NewsItem.withdrawn_at.is_(None), NewsItem.publish_on <= today,
            or_(NewsItem.expires_on.is_(None), NewsItem.expires_on >= today))
            .order_by(NewsItem.publish_on.desc(), NewsItem.id.desc()).limit(DEVICE_LIMIT)))
        folder = picture_folder(self.q.cfg)
        items, pictures = [], {}
        for n in rows:
            picture = None
            if n.picture:
                try:
                    data = (folder / variant(n.picture, "tv")).read_bytes()
                except OSError as exc:
                    log.warning("news %s: picture %s not readable (%s); sent without it", n.id, n.picture, exc)
                    data = b""
                if 0 < len(data) <= DEVICE_PICTURE_BYTES:
                    picture = hashlib.sha256(data).hexdigest()[:16]
                    pictures[n.id] = data
            items.append({"id": n.id, "kind": n.kind, "title": n.title, "text": plain_text(n.body),
                          "picture": picture, "publish_on": n.publish_on.isoformat(),
                          "expires_on": n.expires_on.isoformat() if n.expires_on else None})
        return {"business_date": today.isoformat(), "slides": self.slides(s), "items": items}, pictures


def handlers(q: "QueueService") -> dict[str, Callable[..., Outcome]]:
    rules = NewsRules(q)
    q.read_only.update({"news_list", "news_public"})
    q.plugins["news"] = rules
    q.new_day_hooks.append(rules.forget_pictures)   # withdrawn items' pictures leave the disk
    return rules.handlers()


__all__ = ["handlers", "NewsRules", "KINDS", "picture_folder", "variant", "plain_text", "PICTURE_NAME",
           "DEVICE_PICTURE_BYTES"]
