"""antre backup / antre restore, through the CLI, while the service is running."""

import sqlite3
import subprocess
import sys

from tests.support import ROOT


def antre(*args):
    return subprocess.run([sys.executable, "-m", "antre", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=60)


def test_backup_while_serving_then_restore(office, tmp_path):
    c = office.client
    for _ in range(3):
        c.ok("issue_ticket", service="adminduk")
    r = antre("backup", "--config", str(office.config_path), "--out", str(tmp_path / "b1.db"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(tmp_path / "b1.db")
    with sqlite3.connect(tmp_path / "b1.db") as db:
        assert db.execute("pragma integrity_check").fetchone() == ("ok",)
        assert db.execute("select number from tickets order by id").fetchall() == [("A-001",), ("A-002",), ("A-003",)]
    c.ok("issue_ticket", service="adminduk")            # A-004 exists only after the backup
    office.service.stop()
    r = antre("restore", str(tmp_path / "b1.db"), "--config", str(office.config_path))
    assert r.returncode == 2 and "--yes" in r.stderr     # never replaces data without being told
    r = antre("restore", str(tmp_path / "b1.db"), "--config", str(office.config_path), "--yes")
    assert r.returncode == 0, r.stderr
    assert "restored 3 tickets" in r.stdout and "before-restore" in r.stdout
    kept = next(office.db_path.parent.glob("antre.before-restore-*.db"))
    with sqlite3.connect(kept) as db:                     # what was replaced is kept
        assert db.execute("select count(*) from tickets").fetchone() == (4,)
    office.service.start()
    c.wait_service(online=True)
    assert c.ok("issue_ticket", service="adminduk")["number"] == "A-004"


def test_restore_refuses_a_bad_file(tmp_path, office):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database at all" * 100)
    r = antre("restore", str(junk), "--config", str(office.config_path), "--yes")
    assert r.returncode == 2 and "not a database" in r.stderr and "Traceback" not in r.stderr
    r = antre("restore", str(tmp_path / "missing.db"), "--config", str(office.config_path), "--yes")
    assert r.returncode == 2 and "no such backup file" in r.stderr
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("create table x (y)").connection.commit()
    r = antre("restore", str(other), "--config", str(office.config_path), "--yes")
    assert r.returncode == 2 and "not an Antre database" in r.stderr


def test_backup_of_postgres_says_what_to_use():
    r = antre("backup", "--db-url", "postgresql+psycopg://antre@localhost/antre")
    assert r.returncode == 2 and "pg_dump" in r.stderr
