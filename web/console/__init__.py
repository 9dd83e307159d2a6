"""The staff console of ``antre web``: personal accounts, the virtual counter, the office at a glance, the
weekly settings and the audit log. Pages are server-rendered like the residents' site; every change is a
command to the service, which checks the person's session and writes the change with its audit row.

For other console pages (letters, complaints): :func:`require_role` and :func:`audit_view` (see
:mod:`antre_web.console.auth`).
"""

from __future__ import annotations

from antre_web import texts as _site_texts

from .auth import (
    SHARED, ConsoleAuth, RoleRefused, SignInRequired, audit_view, console_command, current_account, require_role,
)
from .texts import TEXTS as _TEXTS

_site_texts.TEXTS.update(_TEXTS)

__all__ = ["ConsoleAuth", "SignInRequired", "RoleRefused", "require_role", "audit_view", "console_command",
           "current_account", "SHARED"]
