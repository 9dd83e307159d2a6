"""Village information (kabar desa): announcements (pengumuman) and news (berita) the kasi writes in the console.

A plug-in of :class:`~antre.rules.queue.QueueService`. An item is public from ``publish_on`` (office date)
to ``expires_on`` (inclusive; none: until withdrawn). Its body is plain text with a few marks (paragraphs,
``*emphasis*``, lists, links), turned into HTML only by the website with markdown-it-py, raw HTML off
(``web/news.py``); the service stores what was typed. ``ticker``: the title may run on the TV's ticker.
Changes are audited (``news.save``, ``news.withdraw``).
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import or_, select

from antre.errors import CommandError, NotFound
from antre.rules.outcome import Outcome
from antre.rules.staff import audit, authenticate, web_device
from antre.storage.models import NewsItem

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from antre.rules.queue import QueueService

log = logging.getLogger(__name__)

KINDS = ("pengumuman", "berita")
WRITERS = ("kasi",)
MAX_TITLE = 120
MAX_BODY = 4000
PUBLIC_LIMIT = 30


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
                "news_public": self.public}

    @staticmethod
    def row(n: NewsItem) -> dict[str, Any]:
        return {"id": n.id, "kind": n.kind, "title": n.title, "body": n.body, "publish_on": n.publish_on.isoformat(),
                "expires_on": n.expires_on.isoformat() if n.expires_on else None, "ticker": bool(n.ticker),
                "updated_at": iso(n.updated_at)}

    def save(self, s: "Session", now: datetime, session: str, kind: str, title: str, body: str, publish_on: str,
             expires_on: str | None = None, ticker: bool = False, item: int | None = None,
             address: str | None = None) -> Outcome:
        who = authenticate(s, now, session, WRITERS)
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
        n.updated_at = now
        s.flush()
        audit(s, who.name, "news.save", f"news {n.id}", web_device(address),
              {"title": title[:80], "publish_on": publish_on}, now=now)
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
        items = []
        for n in s.scalars(select(NewsItem).where(NewsItem.withdrawn_at.is_(None))
                           .order_by(NewsItem.publish_on.desc(), NewsItem.id.desc()).limit(200)):
            state = ("scheduled" if n.publish_on > today else
                     "expired" if n.expires_on is not None and n.expires_on < today else "published")
            items.append(self.row(n) | {"state": state, "author": n.author})
        return Outcome({"items": items, "today": today.isoformat()}, changed=False)

    def public(self, s: "Session", now: datetime, item: int | None = None) -> Outcome:
        """What residents read today: published, not expired, not withdrawn; newest first."""
        today = self.q.business_date(now)
        query = select(NewsItem).where(NewsItem.withdrawn_at.is_(None), NewsItem.publish_on <= today,
                                       or_(NewsItem.expires_on.is_(None), NewsItem.expires_on >= today))
        if item is not None:
            n = s.scalars(query.where(NewsItem.id == item)).first()
            if n is None:
                raise NotFound("news_not_found", "no such published news item")
            return Outcome({"items": [self.row(n)]}, changed=False)
        rows = list(s.scalars(query.order_by(NewsItem.publish_on.desc(), NewsItem.id.desc()).limit(PUBLIC_LIMIT)))
        ticker = " · ".join(n.title for n in rows if n.ticker)
        return Outcome({"items": [self.row(n) for n in rows], "ticker": ticker, "today": today.isoformat()},
                       changed=False)


def handlers(q: "QueueService") -> dict[str, Callable[..., Outcome]]:
    rules = NewsRules(q)
    q.read_only.update({"news_list", "news_public"})
    q.plugins["news"] = rules
    return rules.handlers()


__all__ = ["handlers", "NewsRules", "KINDS"]
