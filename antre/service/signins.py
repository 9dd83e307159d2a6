"""Staff sign-ins' password checks, off the service's writer thread.

argon2id with 19 MiB and 2 passes takes ~0.1 s on a Raspberry Pi 4. On the single writer thread, each
sign-in (also with an unknown name: a decoy hash of the same cost is checked, so the answer's time tells
nothing) would hold up every counter and kiosk command behind it. Instead, for each ``staff_login``:

1. on the writer thread, :meth:`~antre.rules.staff.StaffRules.password_to_check` reads what to check it
   against -- nothing while a lock or the global wait holds (the command is then answered at once, for a
   name with or without an account alike);
2. a worker thread checks the password (argon2-cffi releases the GIL while it hashes);
3. the command goes back on the writer's queue with ``checked = (hash, verdict)`` and is applied there like
   any other: the locks are checked again (one that came meanwhile wins), the failure count, the lock and
   the audit row are written in its transaction, and it is answered.

At most :data:`PENDING_MAX` sign-ins wait for a check; beyond that one is answered "wait" (5 s) unchecked,
so a flood costs memory and CPU no more than that.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from antre.link.protocol import Request
from antre.rules.staff import verify_password

log = logging.getLogger("antre.service")

PENDING_MAX = 32
COMMAND = "staff_login"


class SignInChecks:
    """``take(req)`` on the writer thread: True when the request went to be checked (it comes back through
    ``put(("signin", req))`` with ``req.args["checked"]`` set), False when it is to be applied now."""

    def __init__(self, queue, put: Callable[[Any], None], workers: int = 1):
        self.queue = queue
        self.put = put
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="antre-signin")
        self.pending = 0   # (the writer thread's: counted up in take, down in back)

    def take(self, req: Request) -> bool:
        if req.command != COMMAND or "checked" in req.args:
            return False
        rules = self.queue.plugins["staff"]
        with self.queue.sessions() as s:
            stored = rules.password_to_check(s, self.queue.clock.now(), req.args["name"])
        if stored is None:
            return False   # locked or waiting: answered at once, with no check
        if self.pending >= PENDING_MAX:
            log.warning("%d sign-ins wait for their password check; this one is asked to wait", self.pending)
            req.args["checked"] = (stored, None)
            return False
        password = req.args["password"]
        self.pending += 1

        def check() -> None:
            try:
                verdict: bool | None = verify_password(stored, password)
            except Exception:  # noqa: BLE001 - answered "wait", never lost
                log.exception("a sign-in's password check failed")
                verdict = None
            req.args["checked"] = (stored, verdict)
            self.put(("signin", req))

        self.pool.submit(check)
        return True

    def back(self, req: Request) -> Request:
        """A checked request, back on the writer thread."""
        self.pending -= 1
        return req

    def stop(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
