"""The website's table of antre.toml, ``[web]``: declared here, next to the code that reads it.

The ``[web]`` table has two owners. The rules the queue service applies to what comes from the
website (web share, phone limit, bookings, check-in window, retention, ``[[web.appointments]]``) are
the core's, :class:`antre.config.WebRulesConfig`; :class:`WebConfig` adds the website's own options
(address, staff login, rate limits) to them. ``antre.config`` finds :data:`SECTION` through the
``antre.config`` entry point in pyproject.toml (docs/architecture.md says where a new option goes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from antre.config import Section, WebRulesConfig, checked, in_range, positive


def optional_url(value: str) -> str | None:
    if value and not re.match(r"^https?://[^\s/]+", value):
        return "must be empty or an address such as 'https://antre.sukamaju.desa.id'"
    return None


@dataclass(frozen=True)
class WebConfig(WebRulesConfig):
    """The resident website and the staff page (``antre web``), with the service's rules for them."""
    host: str = checked("0.0.0.0", doc="address to listen on")
    port: int = checked(8080, check=in_range(1, 65535))
    client_id: str = checked("", doc="empty: 'web-' plus the host name")
    public_url: str = checked("", check=optional_url,
                              doc="address residents reach the site at; when set, ticket QR codes open the status page")
    staff_password_hash: str = checked("", secret=True,
                                       doc="the staff password's hash, from 'antre web --hash-password' "
                                           "(12 characters or more); empty: staff_pin_hash, or no staff page")
    staff_pin_hash: str = checked("", secret=True,
                                  doc="older, a short PIN's hash ('antre web --hash-pin'): still accepted, with "
                                      "a warning; replace it with staff_password_hash")
    secret_key: str = checked("", secret=True,
                              doc="not used any more (staff sessions are kept by antre web); accepted so "
                                  "older files still load")
    form_limit_per_minute: int = checked(10, check=in_range(1, 10000), doc="form submissions per IP address")
    request_limit_per_minute: int = checked(240, check=in_range(10, 100000), doc="page requests per IP address")
    request_timeout: float = checked(5.0, check=positive, doc="seconds to wait for the queue service")
    web_tickets_per_minute: int = checked(10, check=in_range(1, 10000),
                                          doc="tickets and bookings from the web per service per minute, all "
                                              "addresses together")
    streams_per_address: int = checked(20, check=in_range(1, 10000),
                                       doc="live status pages (event streams) open at once per IP address")
    streams_total: int = checked(10000, check=in_range(1, 1000000), doc="live status pages open at once in all")


def _weak_secrets(web: WebConfig) -> list[str]:
    if web.staff_pin_hash and not web.staff_password_hash:
        return ["[web] staff_pin_hash is a short PIN, easy to guess: make a password of at least 12 characters "
                "with 'antre web --hash-password', set [web] staff_password_hash and remove staff_pin_hash"]
    return []


SECTION = Section("web", WebConfig, position=40, weak_secrets=_weak_secrets)
