"""Staff sign-ins' password checks (and every other staff command's argon2 work), off the service's writer thread.

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

The other staff commands that check or hash a password -- ``staff_passwd`` (checks the current password,
hashes the new one), ``staff_setup`` (the one-time setup link), ``staff_add`` and ``staff_update`` with a
new password (an admin's reset) -- go the same way (:meth:`~antre.rules.staff.StaffRules.password_work`):
whatever can refuse them (the session, the role, a taken name, a weak password, a finished setup) is checked on
the writer first, so a refused command is answered at once without hashing, and again when it comes back;
``staff_passwd``'s check counts only for the hash it was made against; the change, its audit row and the
ended sessions are written on the writer, in one transaction, as before.

At most :data:`PENDING_MAX` commands wait for their argon2 work; beyond that a sign-in is answered "wait"
(5 s) unchecked and the others are refused with ``busy``, so a flood costs memory and CPU no more than that.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from antre.link.protocol import Request
from antre.rules.staff import hash_password, verify_password

log = logging.getLogger("antre.service")

PENDING_MAX = 32
COMMAND = "staff_login"
#: The commands whose passwords are checked or hashed here.
COMMANDS = frozenset({COMMAND, "staff_passwd", "staff_setup", "staff_add", "staff_update"})


class SignInChecks:
    """``take(req)`` on the writer thread: True when the request went to be checked (it comes back through
    ``put(("signin", req))`` with ``req.args["checked"]`` set), False when it is to be applied now."""

    def __init__(self, queue, put: Callable[[Any], None], workers: int = 1):
        self.queue = queue
        self.put = put
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="antre-signin")
        self.pending = 0   # (the writer thread's: counted up in take, down in back)

    def take(self, req: Request) -> bool:
        if req.command not in COMMANDS or "checked" in req.args:
            return False
        rules = self.queue.plugins["staff"]
        with self.queue.sessions() as s:
            work = rules.password_work(s, self.queue.clock.now(), req.command, req.args)
        if work is None:
            return False   # no password work, or refused before any (locked, waiting, not signed in...): now
        stored, new = work
        if self.pending >= PENDING_MAX:
            log.warning("%d staff commands wait for their password work; this %s is refused unchecked",
                        self.pending, req.command)
            req.args["checked"] = (stored, None)
            return False
        password = req.args["password"]
        self.pending += 1

        def check() -> None:
            hashed = None
            try:
                verdict: bool | None = True if stored is None else verify_password(stored, password)
                if verdict and new is not None:
                    hashed = hash_password(new)
            except Exception:  # noqa: BLE001 - answered "wait"/"busy", never lost
                log.exception("the password work of a %s failed", req.command)
                verdict = None
            req.args["checked"] = (stored, verdict)
            if hashed is not None:
                req.args["hashed"] = hashed
            self.put(("signin", req))

        self.pool.submit(check)
        return True

    def back(self, req: Request) -> Request:
        """A checked request, back on the writer thread."""
        self.pending -= 1
        return req

    def stop(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
