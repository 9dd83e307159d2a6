"""The district dashboard: a Starlette app over the hub's PostgreSQL, read-only, behind district staff accounts.

Pages (Bahasa Indonesia first, English second): ``/`` every office (online and last heard, waiting now, tickets
today, mean wait, IKM this month and its category, letters signed this month and open, complaints open and
overdue), sorted by any column (``?urut=ikm``: rank and compare); ``/kantor/{office}`` one office (its services
today, its last 14 days); ``/ekspor.csv`` and ``/ekspor.pdf`` the overview as a file. Accounts:
``antre district-web adduser NAME``; sessions are random tokens whose SHA-256 is kept in PostgreSQL; sign-ins,
views and exports are written to ``district_audit``.
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
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from antre.reports.ikm import classify
from antre.rules.staff import hash_password, verify_password
from antre.storage import district_store
from antre_web.security import LoginThrottle

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
    if not 12 <= len(password) <= 256:
        raise ValueError("password: 12-256 characters")
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

    # ------------------------------------------------------------------ accounts

    def _who(self, request: Request) -> str | None:
        token = request.cookies.get(COOKIE, "")
        if not 32 <= len(token) <= 128:
            return None
        conn = district_store.connect(self.db_url)
        try:
            row = conn.execute("SELECT s.name FROM district_sessions s JOIN district_staff a ON a.name = s.name "
                               "WHERE s.token_hash = %s AND s.expires_at > now() AND NOT a.disabled",
                               (hashlib.sha256(token.encode()).hexdigest(),)).fetchone()
            conn.rollback()
        finally:
            conn.close()
        return row[0] if row else None

    def _audit(self, actor: str, action: str, subject: str = "") -> None:
        conn = district_store.connect(self.db_url)
        try:
            with conn.transaction():
                conn.execute("INSERT INTO district_audit (actor, action, subject) VALUES (%s, %s, %s)",
                             (actor, action, subject[:120]))
        finally:
            conn.close()

    async def login(self, request: Request) -> Response:
        error = ""
        if request.method == "POST":
            address = request.client.host if request.client else ""
            wait = self.throttle.wait(address)
            if wait > 0:   # not checked, not counted: the password is never tried while waiting
                seconds = int(wait) + 1
                return HTMLResponse(_env.get_template("district_login.html").render(
                    error=f"Terlalu banyak percobaan yang salah. Coba lagi dalam {seconds} detik. / "
                          f"Too many wrong attempts. Try again in {seconds} seconds."),
                    status_code=429, headers={"Retry-After": str(seconds)})
            form = await request.form()
            name, password = str(form.get("name", ""))[:64], str(form.get("password", ""))[:256]
            conn = district_store.connect(self.db_url)
            try:
                row = conn.execute("SELECT password_hash FROM district_staff WHERE name = %s AND NOT disabled",
                                   (name,)).fetchone()
                ok = verify_password(row[0] if row else _NO_ACCOUNT, password) and row is not None
                conn.rollback()   # end the reading transaction: the one below is then a real one, not a savepoint
                with conn.transaction():
                    conn.execute("INSERT INTO district_audit (actor, action, subject) VALUES (%s, %s, %s)",
                                 (name or "?", "staff.login" if ok else "staff.login_failed", request.client.host
                                  if request.client else ""))
                    if ok:
                        token = secrets.token_urlsafe(32)
                        conn.execute("INSERT INTO district_sessions (token_hash, name, expires_at) VALUES "
                                     "(%s, %s, now() + make_interval(hours => %s))",
                                     (hashlib.sha256(token.encode()).hexdigest(), name, SESSION_HOURS))
            finally:
                conn.close()
            if ok:
                response = RedirectResponse("/", status_code=303)
                response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/",
                                    max_age=SESSION_HOURS * 3600, secure=request.url.scheme == "https")
                return response
            self.throttle.failed(address)
            error = "Nama atau kata sandi salah. / Wrong name or password."
        return HTMLResponse(_env.get_template("district_login.html").render(error=error),
                            status_code=401 if error else 200)

    async def logout(self, request: Request) -> Response:
        token = request.cookies.get(COOKIE, "")
        conn = district_store.connect(self.db_url)
        try:
            with conn.transaction():
                conn.execute("DELETE FROM district_sessions WHERE token_hash = %s",
                             (hashlib.sha256(token.encode()).hexdigest(),))
        finally:
            conn.close()
        response = RedirectResponse("/masuk", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    # ------------------------------------------------------------------ pages

    def _rows(self, sort: str) -> tuple[list[dict], date]:
        now = self.clock()
        today = now.astimezone(self.tz).date()
        conn = district_store.connect(self.db_url)
        try:
            rows = district_store.offices_overview(conn, today, today.replace(day=1))
            conn.rollback()
        finally:
            conn.close()
        for r in rows:
            r["online"] = bool(r["last_heard"] and (now - r["last_heard"]).total_seconds() <= ONLINE_SECONDS)
            r["heard"] = hhmm(r["last_heard"], self.tz)
            r["ikm"], r["ikm_letter"], r["ikm_label"] = ikm_of(r["elements"])
        key, reverse = SORTS.get(sort, SORTS["kantor"])
        rows.sort(key=key, reverse=reverse)
        for i, r in enumerate(rows, 1):
            r["rank"] = i
        return rows, today

    async def overview(self, request: Request) -> Response:
        who = self._who(request)
        if who is None:
            return RedirectResponse("/masuk", status_code=303)
        sort = request.query_params.get("urut", "kantor")
        sort = sort if sort in SORTS else "kantor"
        rows, today = self._rows(sort)
        self._audit(who, "district.view", f"overview {sort}")
        return HTMLResponse(_env.get_template("district_overview.html").render(
            rows=rows, today=today.strftime("%d-%m-%Y"), sort=sort, who=who,
            online=sum(r["online"] for r in rows), total=len(rows)))

    async def office(self, request: Request) -> Response:
        who = self._who(request)
        if who is None:
            return RedirectResponse("/masuk", status_code=303)
        office = request.path_params["office"]
        rows, today = self._rows("kantor")
        row = next((r for r in rows if r["office"] == office), None)
        if row is None:
            return HTMLResponse(_env.get_template("district_missing.html").render(office=office), status_code=404)
        conn = district_store.connect(self.db_url)
        try:
            days = district_store.office_days(conn, office, today - timedelta(days=13), today)
            services = district_store.office_services(conn, office, today)
            conn.rollback()
        finally:
            conn.close()
        self._audit(who, "district.view", office)
        return HTMLResponse(_env.get_template("district_office.html").render(
            r=row, days=[(d.strftime("%d-%m"), i, c, s) for d, i, c, s in days], services=services,
            today=today.strftime("%d-%m-%Y"), who=who))

    def _table(self, sort: str) -> tuple[list[str], list[list], date]:
        rows, today = self._rows(sort)
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
        who = self._who(request)
        if who is None:
            return RedirectResponse("/masuk", status_code=303)
        sort = request.query_params.get("urut", "kantor")
        head, body, today = self._table(sort if sort in SORTS else "kantor")
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow(head)
        for line in body:
            # A cell starting with = + - @ would be a formula in a spreadsheet: office ids never do, but be sure.
            w.writerow(["'" + c if isinstance(c, str) and c[:1] in "=+-@" else c for c in line])
        self._audit(who, "district.export", "csv")
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="antre-kabupaten-{today.isoformat()}.csv"'})

    async def export_pdf(self, request: Request) -> Response:
        who = self._who(request)
        if who is None:
            return RedirectResponse("/masuk", status_code=303)
        sort = request.query_params.get("urut", "kantor")
        head, body, today = self._table(sort if sort in SORTS else "kantor")
        from weasyprint import HTML
        html = _env.get_template("district_pdf.html").render(head=head, body=body, today=today.strftime("%d-%m-%Y"))
        pdf = HTML(string=html).write_pdf()
        self._audit(who, "district.export", "pdf")
        return Response(pdf, media_type="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="antre-kabupaten-{today.isoformat()}.pdf"'})
