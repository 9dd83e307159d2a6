"""The district dashboard: a Starlette app over the hub's PostgreSQL, read-only, behind district staff accounts.

Pages (Bahasa Indonesia first, English second): ``/`` every office (online and last heard, waiting now, tickets
today, mean wait, IKM this month and its category, letters signed this month and open, complaints open and
overdue), sorted by any column (``?urut=ikm``: rank and compare); ``/kantor/{office}`` one office (its services
today, its last 14 days); ``/ekspor.csv`` and ``/ekspor.pdf`` the overview as a file. Accounts:
``antre district-web adduser NAME``; sessions are random tokens whose SHA-256 is kept in PostgreSQL; sign-ins,
views and exports are written to ``district_audit``. The forms carry the office console's double-submit CSRF
token (antre_web.security). Each request uses one PostgreSQL connection, on a worker thread
(:meth:`Dashboard._in_thread`): the event loop never waits on the database, argon2 or WeasyPrint.
"""

from __future__ import annotations

import csv
import hashlib
import io
import secrets
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from antre.reports.ikm import classify
from antre.rules.staff import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, hash_password, verify_password
from antre.storage import district_store
from antre_web.security import LoginThrottle, csrf_token, form_csrf_ok, set_csrf_cookie

COOKIE = "antre_district"
SESSION_HOURS = 10
ONLINE_SECONDS = 180   # an office's head comes every 60 s: three missed is offline
SORTS = {
    "kantor": (lambda r: r["office"], False),
    "menunggu": (lambda r: r["waiting"], True),
    "tiket": (lambda r: r["tickets_today"], True),
    "tunggu": (lambda r: r["avg_wait"] if r["avg_wait"] is not None else -1, True),
    "ikm": (lambda r: r["ikm"] if r["ikm"] is not None else -1, True),
    "surat": (lambda r: r["letters_signed"], True),
    "aduan": (lambda r: r["complaints"].get("overdue", 0), True),
}
_env = Environment(loader=FileSystemLoader(Path(__file__).with_name("templates")),
                   autoescape=select_autoescape(["html"]))


# checked against when the name has no account, so a wrong name costs the same argon2 time as a wrong password
_NO_ACCOUNT = "$argon2id$v=19$m=19456,t=2,p=1$ot5A4dIc8WJXSzDRUMmq5Q$K/Q+2Y8cVGvbZ8O6E3khUzdK8gcPA/2XV90mwxpzndQ"


def add_staff(db_url: str, name: str, full_name: str, password: str) -> None:
    if not (3 <= len(name) <= 32 and name.replace("-", "").replace("_", "").isalnum() and name.islower()):
        raise ValueError("name: 3-32 characters of a-z, 0-9, '-' or '_'")
    if not PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH:
        raise ValueError(f"password: {PASSWORD_MIN_LENGTH}-{PASSWORD_MAX_LENGTH} characters")
    conn = district_store.connect(db_url)
    try:
        district_store.create_staff_schema(conn)
        with conn.transaction():
            conn.execute("INSERT INTO district_staff (name, full_name, password_hash) VALUES (%s, %s, %s) "
                         "ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash, "
                         "full_name = excluded.full_name, disabled = false", (name, full_name, hash_password(password)))
            conn.execute("DELETE FROM district_sessions WHERE name = %s", (name,))
            conn.execute("INSERT INTO district_audit (actor, action, subject) VALUES ('cli', 'staff.add', %s)", (name,))
    finally:
        conn.close()


def ikm_of(elements: list[float] | None) -> tuple[float | None, str, str]:
    """``(index, category letter, label)`` from the nine elements' means (1-4), as PermenPANRB 14/2017."""
    if not elements:
        return None, "", ""
    value = Decimal(str(round(sum(elements) / len(elements) * 25, 2)))
    cat = classify(value)
    return float(value), cat.letter, f"{cat.label} / {cat.label_en}"


def hhmm(dt: datetime | None, tz: ZoneInfo) -> str:
    return dt.astimezone(tz).strftime("%d-%m %H.%M") if dt else "—"


class Dashboard:
    def __init__(self, db_url: str, timezone_name: str = "Asia/Jakarta", clock=None):
        self.db_url = db_url
        self.tz = ZoneInfo(timezone_name)
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        # Wrong passwords slow every address down (the console's throttle): guessing is not free here either.
        self.throttle = LoginThrottle()
        conn = district_store.connect(db_url)
        try:
            district_store.create_staff_schema(conn)
        finally:
            conn.close()
        self.app = Starlette(routes=[
            Route("/", self.overview), Route("/kantor/{office}", self.office),
            Route("/ekspor.csv", self.export_csv), Route("/ekspor.pdf", self.export_pdf),
            Route("/masuk", self.login, methods=["GET", "POST"]), Route("/keluar", self.logout, methods=["POST"]),
        ])

    async def _in_thread(self, page, request: Request, *args):
        """``page(conn, request, *args)`` on a worker thread with one connection of its own, closed after:
        a page view is one connection, and PostgreSQL's waits never hold up the event loop. The page's
        response (or the response of a ``(…, response)`` it returns) gets the CSRF cookie it needs."""
        def run():
            conn = district_store.connect(self.db_url)
            try:
                return page(conn, request, *args)
            finally:
                conn.close()
        result = await run_in_threadpool(run)
        set_csrf_cookie(request, result[-1] if isinstance(result, tuple) else result)
        return result

    def _render(self, request: Request, name: str, status: int = 200, **ctx) -> HTMLResponse:
        return HTMLResponse(_env.get_template(name).render(csrf=csrf_token(request), **ctx), status_code=status)

    # ------------------------------------------------------------------ accounts

    def _who(self, conn, request: Request) -> str | None:
        token = request.cookies.get(COOKIE, "")
        if not 32 <= len(token) <= 128:
            return None
        row = conn.execute("SELECT s.name FROM district_sessions s JOIN district_staff a ON a.name = s.name "
                           "WHERE s.token_hash = %s AND s.expires_at > now() AND NOT a.disabled",
                           (hashlib.sha256(token.encode()).hexdigest(),)).fetchone()
        conn.rollback()
        return row[0] if row else None

    @staticmethod
    def _audit(conn, actor: str, action: str, subject: str = "") -> None:
        conn.rollback()   # end any reading transaction: the one below is then a real one, not a savepoint
        with conn.transaction():
            conn.execute("INSERT INTO district_audit (actor, action, subject) VALUES (%s, %s, %s)",
                         (actor, action, subject[:120]))

    async def login(self, request: Request) -> Response:
        if request.method != "POST":
            return self._login_page(request)
        address = request.client.host if request.client else ""
        wait = self.throttle.wait(address)
        if wait > 0:   # not checked, not counted: the password is never tried while waiting
            seconds = int(wait) + 1
            response = self._login_page(
                request, f"Terlalu banyak percobaan yang salah. Coba lagi dalam {seconds} detik. / "
                         f"Too many wrong attempts. Try again in {seconds} seconds.", 429)
            response.headers["Retry-After"] = str(seconds)
            return response
        form = await request.form(max_files=0, max_fields=10)
        if not form_csrf_ok(request, form):
            # A sign-in from another site's page (login CSRF): refused, the password not tried.
            return self._login_page(request, "Formulir kedaluwarsa, silakan coba lagi. / "
                                             "The form expired, please try again.", 403)
        name, password = str(form.get("name", ""))[:64], str(form.get("password", ""))[:256]
        ok, response = await self._in_thread(self._sign_in, request, name, password, address)
        if not ok:
            self.throttle.failed(address)
        return response

    def _login_page(self, request: Request, error: str = "", status: int = 200) -> Response:
        response = self._render(request, "district_login.html", status, error=error)
        set_csrf_cookie(request, response)
        return response

    def _sign_in(self, conn, request: Request, name: str, password: str, address: str) -> tuple[bool, Response]:
        row = conn.execute("SELECT password_hash FROM district_staff WHERE name = %s AND NOT disabled",
                           (name,)).fetchone()
        ok = verify_password(row[0] if row else _NO_ACCOUNT, password) and row is not None
        conn.rollback()   # end the reading transaction: the one below is then a real one, not a savepoint
        with conn.transaction():
            conn.execute("INSERT INTO district_audit (actor, action, subject) VALUES (%s, %s, %s)",
                         (name or "?", "staff.login" if ok else "staff.login_failed", address))
            if ok:
                token = secrets.token_urlsafe(32)
                conn.execute("INSERT INTO district_sessions (token_hash, name, expires_at) VALUES "
                             "(%s, %s, now() + make_interval(hours => %s))",
                             (hashlib.sha256(token.encode()).hexdigest(), name, SESSION_HOURS))
        if not ok:
            return False, self._render(request, "district_login.html", 401,
                                       error="Nama atau kata sandi salah. / Wrong name or password.")
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/",
                            max_age=SESSION_HOURS * 3600, secure=request.url.scheme == "https")
        return True, response

    async def logout(self, request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=10)
        if not form_csrf_ok(request, form):
            return Response("Formulir kedaluwarsa. / The form expired.", status_code=403)
        return await self._in_thread(self._sign_out, request)

    def _sign_out(self, conn, request: Request) -> Response:
        token = request.cookies.get(COOKIE, "")
        with conn.transaction():
            conn.execute("DELETE FROM district_sessions WHERE token_hash = %s",
                         (hashlib.sha256(token.encode()).hexdigest(),))
        response = RedirectResponse("/masuk", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    # ------------------------------------------------------------------ pages

    def _rows(self, conn, sort: str) -> tuple[list[dict], date]:
        now = self.clock()
        today = now.astimezone(self.tz).date()
        rows = district_store.offices_overview(conn, today, today.replace(day=1))
        conn.rollback()
        for r in rows:
            r["online"] = bool(r["last_heard"] and (now - r["last_heard"]).total_seconds() <= ONLINE_SECONDS)
            r["heard"] = hhmm(r["last_heard"], self.tz)
            r["ikm"], r["ikm_letter"], r["ikm_label"] = ikm_of(r["elements"])
        key, reverse = SORTS.get(sort, SORTS["kantor"])
        rows.sort(key=key, reverse=reverse)
        for i, r in enumerate(rows, 1):
            r["rank"] = i
        return rows, today

    @staticmethod
    def _sort(request: Request) -> str:
        sort = request.query_params.get("urut", "kantor")
        return sort if sort in SORTS else "kantor"

    async def overview(self, request: Request) -> Response:
        return await self._in_thread(self._overview, request)

    def _overview(self, conn, request: Request) -> Response:
        who = self._who(conn, request)
        if who is None:
            return RedirectResponse("/masuk", status_code=303)
        sort = self._sort(request)
        rows, today = self._rows(conn, sort)
        self._audit(conn, who, "district.view", f"overview {sort}")
        return self._render(request, "district_overview.html", rows=rows, today=today.strftime("%d-%m-%Y"),
                            sort=sort, who=who, online=sum(r["online"] for r in rows), total=len(rows))

    async def office(self, request: Request) -> Response:
        return await self._in_thread(self._office, request)

    def _office(self, conn, request: Request) -> Response:
        who = self._who(conn, request)
        if who is None:
            return RedirectResponse("/masuk", status_code=303)
        office = request.path_params["office"]
        rows, today = self._rows(conn, "kantor")
        row = next((r for r in rows if r["office"] == office), None)
        if row is None:
            return self._render(request, "district_missing.html", 404, office=office, who=who)
        days = district_store.office_days(conn, office, today - timedelta(days=13), today)
        services = district_store.office_services(conn, office, today)
        self._audit(conn, who, "district.view", office)
        return self._render(request, "district_office.html", r=row, services=services, who=who,
                            days=[(d.strftime("%d-%m"), i, c, s) for d, i, c, s in days],
                            today=today.strftime("%d-%m-%Y"))

    def _table(self, conn, sort: str) -> tuple[list[str], list[list], date]:
        rows, today = self._rows(conn, sort)
        head = ["peringkat/rank", "kantor/office", "online", "terakhir/last heard", "menunggu/waiting",
                "tiket hari ini/tickets today", "rata-rata tunggu (menit)/mean wait (min)", "IKM", "kategori/category",
                "penilaian/ratings", "surat ditandatangani bulan ini/letters signed this month", "surat terbuka/letters open",
                "pengaduan terbuka/complaints open", "pengaduan terlambat/complaints overdue"]
        body = [[r["rank"], r["office"], "ya" if r["online"] else "tidak", r["heard"], r["waiting"],
                 r["tickets_today"], "" if r["avg_wait"] is None else f"{r['avg_wait']:.1f}",
                 "" if r["ikm"] is None else f"{r['ikm']:.2f}", r["ikm_letter"], r["ratings"], r["letters_signed"],
                 r["letters"].get("open", ""), r["complaints"].get("open", ""), r["complaints"].get("overdue", "")]
                for r in rows]
        return head, body, today

    async def export_csv(self, request: Request) -> Response:
        return await self._in_thread(self._export_csv, request)

    def _export_csv(self, conn, request: Request) -> Response:
        who = self._who(conn, request)
        if who is None:
            return RedirectResponse("/masuk", status_code=303)
        head, body, today = self._table(conn, self._sort(request))
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow(head)
        for line in body:
            # A cell starting with = + - @ would be a formula in a spreadsheet: office ids never do, but be sure.
            w.writerow(["'" + c if isinstance(c, str) and c[:1] in "=+-@" else c for c in line])
        self._audit(conn, who, "district.export", "csv")
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="antre-kabupaten-{today.isoformat()}.csv"'})

    async def export_pdf(self, request: Request) -> Response:
        return await self._in_thread(self._export_pdf, request)

    def _export_pdf(self, conn, request: Request) -> Response:
        who = self._who(conn, request)
        if who is None:
            return RedirectResponse("/masuk", status_code=303)
        head, body, today = self._table(conn, self._sort(request))
        conn.rollback()   # not held open while WeasyPrint lays out the page
        from weasyprint import HTML
        html = _env.get_template("district_pdf.html").render(head=head, body=body, today=today.strftime("%d-%m-%Y"))
        pdf = HTML(string=html).write_pdf()
        self._audit(conn, who, "district.export", "pdf")
        return Response(pdf, media_type="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="antre-kabupaten-{today.isoformat()}.pdf"'})
