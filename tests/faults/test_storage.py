"""Storage faults: a full disk and a read-only database, under a real ``antre serve``.

Full disk: the database lives on a small tmpfs that the test fills up. The service must warn staff
before it runs out (``storage: "low"`` with the free space in its presence), give back its reserve
so the office can go on, answer ``storage_full`` (never ``internal_error``) when even that is used,
and work again by itself as soon as space returns.

Read-only: at start, a database on a read-only mount makes ``antre serve`` refuse with a clear
message (systemd starts it again); at run time, an ext4 file system that the kernel turns
read-only (errors=remount-ro, through ext4's own ``trigger_fs_error``) gives ``storage_read_only``
answers and ``storage: "read_only"`` in the presence, and once the disk is checked and mounted again
the service works on without a restart.

Both need root (mounts); they are skipped otherwise.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import Office
from tests.faults.conftest import COUNTERS, SERVICES, check_histories
from tests.support import DEADLINE, ServiceProcess, TestClient, wait_for, write_config

pytestmark = [pytest.mark.timeout(240),
              pytest.mark.skipif(os.geteuid() != 0, reason="needs root to mount a small file system")]


def mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, timeout=30)


def umount(path: Path) -> None:
    """Unmounts, waiting for processes that are still closing their files; lazily as a last resort."""
    try:
        wait_for(lambda: subprocess.run(["umount", str(path)], capture_output=True, timeout=30).returncode == 0
                 or not os.path.ismount(path), 15, f"{path} to unmount")
    except AssertionError:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30)


def office_on(disk: Path, tmp_path: Path, broker, database: str) -> Office:
    office_id = f"t{os.urandom(4).hex()}"
    db = disk / "antre.db"
    cfg = write_config(tmp_path / "antre.toml", mqtt_url=broker.url, db_path=db, office_id=office_id,
                       services=SERVICES, counters=COUNTERS)
    cfg.write_text(cfg.read_text().replace(f'url = "sqlite:///{db}"', f'url = "sqlite:///{db}"\n{database}'))
    service = ServiceProcess(cfg, tmp_path / "service.log").start()
    client = TestClient(broker.url, office_id).start()
    client.wait_service()
    client.wait_state(lambda s: True, "the first state")
    return Office(cfg, db, office_id, service, client, broker)


def fill(disk: Path, leave: int = 0) -> Path:
    """Writes a file until only ``leave`` bytes are free (0: until the disk is full)."""
    filler = disk / f"filler-{len(list(disk.glob('filler-*')))}"
    chunk = b"\0" * 65536
    with open(filler, "wb") as f:
        try:
            while True:
                st = os.statvfs(disk)
                room = st.f_bavail * st.f_frsize - leave
                if room <= 0:
                    break
                f.write(chunk[:min(len(chunk), room)])
                f.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def tickets_in(db: Path) -> set[str]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as c:
        return {n for (n,) in c.execute("SELECT number FROM tickets")}


def test_full_disk_warns_keeps_a_reserve_says_storage_full_and_recovers(tmp_path, broker):
    disk = tmp_path / "disk"
    disk.mkdir()
    mount("-t", "tmpfs", "-o", "size=8m", "tmpfs", str(disk))
    office = None
    try:
        office = office_on(disk, tmp_path, broker, "warn_free_mb = 3\nreserve_mb = 1")
        c = office.client
        wait_for(lambda: (disk / "antre.db.reserve").exists(), what="the storage reserve")
        wait_for(lambda: c.service_status.get("storage") == "ok", what="storage ok in the presence")
        acked = {c.ok("issue_ticket", service="adminduk")["number"] for _ in range(10)}

        # Warned well before it runs out: 2 MB left of 8, while everything still works.
        fill(disk, leave=2 * 2**20)
        wait_for(lambda: c.service_status.get("storage") == "low", 30, "the low-space warning")
        warned_at = c.service_status["storage_free_mb"]
        assert 1.0 <= warned_at <= 2.5
        assert c.service_status["storage_message"].startswith("Penyimpanan hampir penuh")
        acked.add(c.ok("issue_ticket", service="surat")["number"])

        # Full: the reserve is given back and the office goes on, until even that is used.
        fill(disk)
        codes: dict[str, int] = {}
        on_reserve = 0
        for i in range(8000):
            reply = c.request("issue_ticket", service=("adminduk", "surat", "umum")[i % 3])
            if reply.ok:
                acked.add(reply.result["number"])
                on_reserve += 1
            else:
                codes[reply.code] = codes.get(reply.code, 0) + 1
                if codes.get("storage_full", 0) >= 5:
                    break
        assert on_reserve >= 20, f"only {on_reserve} tickets after the disk filled up; codes {codes}"
        assert set(codes) == {"storage_full"}, codes   # never internal_error
        wait_for(lambda: c.service_status.get("storage") == "full", 30, "storage full in the presence")
        assert c.service_status["storage_message"].startswith("Penyimpanan penuh")
        assert office.service.proc.poll() is None

        # Space returns: the very next command works, without a restart; the reserve comes back.
        for f in disk.glob("filler-*"):
            f.unlink()
        t0 = time.monotonic()
        acked.add(c.ok("issue_ticket", service="umum")["number"])
        acked.add(c.ok("call_next", counter="loket-1")["number"] and c.ok("issue_ticket", service="umum")["number"])
        wait_for(lambda: c.service_status.get("storage") == "ok" and (disk / "antre.db.reserve").exists(), 40,
                 "storage ok and the reserve made again")
        recovered = time.monotonic() - t0
        assert tickets_in(office.db_path) == acked   # every acknowledged ticket, and nothing else
        check_histories(office.db_path)
        with sqlite3.connect(office.db_path) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        print(f"\nfull 8 MB disk: warned at {warned_at} MB free (threshold 3 MB); "
              f"{on_reserve} tickets after the disk filled (reserve 1 MB + WAL checkpoints), then "
              f"{codes.get('storage_full')} x storage_full, 0 internal_error; space back: first command ok, "
              f"presence ok after {recovered:.1f} s")
    finally:
        if office is not None:
            office.client.stop()
            office.service.stop()
        umount(disk)


def test_read_only_database_refused_at_start(tmp_path, broker):
    disk = tmp_path / "disk"
    disk.mkdir()
    mount("--bind", str(disk), str(disk))
    try:
        office = office_on(disk, tmp_path, broker, "")
        office.client.ok("issue_ticket", service="adminduk")
        office.service.stop()
        mount("-o", "remount,bind,ro", str(disk))
        proc = subprocess.run([os.sys.executable, "-m", "antre", "serve", "--config", str(office.config_path)],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode != 0
        assert "read-only file system" in proc.stderr and str(office.db_path) in proc.stderr, proc.stderr
        mount("-o", "remount,bind,rw", str(disk))
        office.service.start()                    # what systemd does a few seconds later
        office.client.wait_service()
        assert office.client.ok("issue_ticket", service="adminduk")["number"] == "A-002"
        office.client.stop()
        office.service.stop()
    finally:
        umount(disk)


@pytest.mark.skipif(not shutil.which("mkfs.ext4") or not Path("/dev/loop-control").exists(),
                    reason="needs mkfs.ext4 and loop devices")
def test_database_turned_read_only_at_run_time_is_reported_and_recovers(tmp_path, broker):
    image, disk = tmp_path / "sd.img", tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["truncate", "-s", "32M", str(image)], check=True)
    subprocess.run(["mkfs.ext4", "-q", str(image)], check=True)
    mount("-o", "loop,errors=remount-ro", str(image), str(disk))
    office = None
    try:
        office = office_on(disk, tmp_path, broker, "warn_free_mb = 1\nreserve_mb = 1")
        c = office.client
        acked = {c.ok("issue_ticket", service="adminduk")["number"] for _ in range(5)}
        device = Path(subprocess.run(["findmnt", "-no", "SOURCE", str(disk)], capture_output=True, text=True,
                                     check=True).stdout.strip()).name
        # The kernel finds an error and turns the file system read-only, as on a failing SD card.
        Path(f"/sys/fs/ext4/{device}/trigger_fs_error").write_text("antre fault test\n")
        codes = [c.request("issue_ticket", service="surat").code for _ in range(5)]
        assert codes == ["storage_read_only"] * 5, codes
        wait_for(lambda: c.service_status.get("storage") == "read_only", 30, "read_only in the presence")
        assert "tidak bisa ditulis" in c.service_status["storage_message"]
        assert office.service.proc.poll() is None

        # The disk is checked and mounted again (the service let go of its files); no restart.
        wait_for(lambda: subprocess.run(["umount", str(disk)], capture_output=True).returncode == 0, 30,
                 "the file system to be free to unmount")
        subprocess.run(["e2fsck", "-fy", str(image)], capture_output=True)
        mount("-o", "loop,errors=remount-ro", str(image), str(disk))
        wait_for(lambda: c.service_status.get("storage") == "ok", 40, "storage ok again")
        acked.add(c.ok("issue_ticket", service="surat")["number"])
        assert acked == tickets_in(office.db_path)
        with open(f"{office.db_path}.lock") as lock:   # the one-service lock is held again
            with pytest.raises(BlockingIOError):
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        check_histories(office.db_path)
        print(f"\nread-only at run time: {len(codes)} x storage_read_only; recovered without restart after "
              "umount, fsck, mount")
    finally:
        if office is not None:
            office.client.stop()
            office.service.stop()
        umount(disk)
