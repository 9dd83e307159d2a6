"""What a Kasi Pelayanan changes week to week: the TV's running text, and the website's switches per service.

Each change is audited with the person who made it: the switches by the service in the same transaction
(``set_web`` carries the session), the running text (a retained message the website publishes itself) by an
audit row the service writes first: no row, no change.
"""

from __future__ import annotations

import logging

from starlette.requests import Request

from .auth import SHARED, audit_view, current_account

log = logging.getLogger(__name__)


async def audit_ticker(request: Request, text: str) -> bool:
    """Records the new running text in the audit log before it is published; False if it cannot be recorded."""
    account = current_account(request)
    if account is None:
        return False
    if account is SHARED:   # the older shared password has no account: the web's log is all there is
        log.info("ticker text changed with the shared staff password")
        return True
    return await audit_view(request, account, "office.ticker", subject="ticker", detail=text)
