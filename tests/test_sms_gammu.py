"""SMS end to end with the real gammu-smsd (its 'files' backend) and Gammu's dummy phone driver, a real
broker and ``antre serve``: an SMS arrives, the keyword is answered, a remote ticket is issued, "giliran Anda
sebentar lagi" goes out when the queue moves, and nothing is sent twice across kill -9 of the service or of
the daemon (docs/sms.md)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import uuid
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import start_office
from tests.support import DEADLINE, wait_for

GAMMU_SMSD, GAMMU = shutil.which("gammu-smsd"), shutil.which("gammu")
pytestmark = pytest.mark.skipif(not (GAMMU_SMSD and GAMMU),
                                reason="needs gammu-smsd and gammu (Debian packages gammu-smsd, gammu: "
                                       "scripts/bootstrap test installs them)")

RESIDENT = "+6281234567890"


class GammuSmsd:
    """The real gammu-smsd with the dummy phone driver (a folder instead of a modem) and the files backend.

    ``receive`` makes an SMS "arrive": Gammu's own ``gammu savesms`` writes it in Gammu's format into a
    staging phone folder, and it is moved into the daemon's phone inbox in one rename."""

    def __init__(self, root: Path):
        self.root = root
        self.spool = root / "spool"
        self.phone = root / "phone"
        self.staging = root / "staging-phone"
        for d in ("inbox", "outbox", "sent", "error"):
            (self.spool / d).mkdir(parents=True, exist_ok=True)
        for p in (self.phone, self.staging):
            (p / "sms" / "1").mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self._n = 0

    def _config(self, phone: Path, log: Path) -> Path:
        path = self.root / f"smsdrc-{phone.name}"
        path.write_text(f"""[gammu]
model = dummy
connection = none
device = {phone}

[smsd]
service = files
inboxpath = {self.spool}/inbox/
outboxpath = {self.spool}/outbox/
sentsmspath = {self.spool}/sent/
errorsmspath = {self.spool}/error/
inboxformat = unicode
transmitformat = auto
receivefrequency = 1
statusfrequency = 0
commtimeout = 1
sendtimeout = 5
loopsleep = 1
checksecurity = 0
checkbattery = 0
checksignal = 0
hardresetfrequency = 0
resetfrequency = 0
logfile = {log}
debuglevel = 1
""")
        return path

    def start(self) -> "GammuSmsd":
        self.starts += 1
        self.log = self.root / f"smsd-{self.starts}.log"
        cfg = self._config(self.phone, self.log)
        self.proc = subprocess.Popen([GAMMU_SMSD, "-c", str(cfg)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_for(lambda: self.log.exists() and "Starting phone communication" in self.log.read_text(errors="replace"),
                 what="gammu-smsd to start")
        return self

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def receive(self, sender: str, text: str) -> None:
        """An SMS from ``sender`` arrives at the modem."""
        self._n += 1
        cfg = self._config(self.staging, self.root / "gammu-cli.log")
        subprocess.run([GAMMU, "-c", str(cfg), "savesms", "TEXT", "-folder", "1", "-sender", sender, "-text", text],
                       check=True, capture_output=True)
        [saved] = list((self.staging / "sms" / "1").iterdir())
        os.rename(saved, self.phone / "sms" / "1" / str(1000 + self._n))

    def sent(self) -> dict[str, str]:
        """File name -> text of every message the daemon sent."""
        return {p.name: p.read_bytes().decode("utf-16") for p in sorted((self.spool / "sent").glob("OUT*"))}

    def sent_to(self, number: str) -> list[str]:
        return [text for name, text in self.sent().items() if f"_{number}_" in name]

    def transmitted(self) -> Counter:
        """How many times the daemon transmitted each file (all its parts), over all its starts (its own logs)."""
        counts: Counter = Counter()
        for log in self.root.glob("smsd-*.log"):
            for m in re.finditer(r"Transmitted (OUT\S+\.txt) \(total", log.read_text(errors="replace")):
                counts[m[1]] += 1
        return counts


@pytest.fixture
def smsd(tmp_path):
    d = GammuSmsd(tmp_path / "gammu")
    yield d
    d.stop()


def sms_office(tmp_path, broker, smsd, **notify):
    settings = {"sms": "true", "spool": f'"{smsd.spool}"', "poll_seconds": "0.1", "retry_seconds": "0.5"}
    settings |= {k: str(v) for k, v in notify.items()}
    extra = ("\n[web]\npublic_url = \"https://antre.sukamaju.desa.id\"\nphone_daily_limit = 5\nweb_share = 100\n"
             "\n[notify]\n" + "\n".join(f"{k} = {v}" for k, v in settings.items()) + "\n")
    return start_office(tmp_path, broker, extra=extra)


def outbox_rows(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as c:
        return c.execute("select id, key, kind, state, attempt, handle from outbox order by id").fetchall()


def test_an_sms_is_answered_a_ticket_issued_and_the_resident_told_when_the_queue_moves(tmp_path, broker, smsd):
    smsd.start()
    office = sms_office(tmp_path, broker, smsd)
    try:
        c = office.client
        for _ in range(5):
            c.ok("issue_ticket", service="adminduk")                 # five walk-ins first
        smsd.receive(RESIDENT, "  antri KTP ")                       # lower case, extra spaces, the usual spelling
        [created] = wait_for(lambda: smsd.sent_to(RESIDENT), what="the answer to ANTRE")
        assert "nomor antrean Anda A-006" in created and "5 orang di depan" in created
        assert "https://antre.sukamaju.desa.id/status/" in created
        issued = wait_for(lambda: [e for e in c.events_of("ticket_issued") if e["number"] == "A-006"],
                          what="the ticket_issued event")
        assert issued[0]["channel"] == "sms"   # counted as taken by SMS, not on the website
        smsd.receive(RESIDENT, "setatus a6")                          # a typo
        wait_for(lambda: len(smsd.sent_to(RESIDENT)) == 2, what="the answer to STATUS")
        assert any("Nomor A-006: menunggu, 5 orang di depan Anda" in t for t in smsd.sent_to(RESIDENT))
        c.ok("call_next", counter="loket-1")                         # 4 ahead: nothing yet
        c.ok("call_next", counter="loket-1")                         # 3 ahead: "sebentar lagi"
        wait_for(lambda: any("giliran Anda sebentar lagi" in t for t in smsd.sent_to(RESIDENT)),
                 what="'giliran Anda sebentar lagi'")
        for _ in range(4):
            c.ok("call_next", counter="loket-2")
        wait_for(lambda: any("A-006 dipanggil" in t for t in smsd.sent_to(RESIDENT)), what="'dipanggil'")
        texts = smsd.sent_to(RESIDENT)
        assert sum("sebentar lagi" in t for t in texts) == 1 and sum("dipanggil" in t for t in texts) == 1
        assert all(n == 1 for n in smsd.transmitted().values())
        # The number never reaches MQTT (events, retained state) nor the service's log.
        digits = RESIDENT[3:]
        assert digits not in json.dumps(c.events) and digits not in json.dumps(c.states)
        assert digits not in office.service.output()
        wait_for(lambda: all(r[3] == "sent" for r in outbox_rows(office.db_path)), what="every row marked sent")
        # The spool's inbox is emptied once each SMS is applied.
        assert list((smsd.spool / "inbox").iterdir()) == []
    finally:
        office.client.stop()
        office.service.stop()


def test_nothing_is_sent_twice_across_kill_9_of_the_service_or_the_daemon(tmp_path, broker, smsd):
    office = sms_office(tmp_path, broker, smsd)                      # the daemon is not running yet
    phones = [f"08{5000000000 + i}" for i in range(12)]
    try:
        c = office.client
        for p in phones[:6]:
            c.ok("issue_ticket", service="adminduk", channel="web", name="Siti", phone=p, notify=True)
        # kill -9 of the service while it hands messages to the spool, and again right after a restart.
        office.service.kill()
        c.wait_service(False)                                        # its last will: it is gone
        office.service.start()
        c.wait_service(True)
        for p in phones[6:]:
            c.ok("issue_ticket", service="surat", channel="web", name="Budi", phone=p, notify=True)
        office.service.kill()
        c.wait_service(False)                                        # its last will: it is gone
        office.service.start()
        c.wait_service(True)
        wait_for(lambda: all(r[3] == "handed_off" for r in outbox_rows(office.db_path))
                 and len(outbox_rows(office.db_path)) == 12, what="every message handed to gammu-smsd")
        outbox = sorted(p.name for p in (smsd.spool / "outbox").glob("OUT*"))
        assert len(outbox) == 12 and len({n.split("_")[3] for n in outbox}) == 12   # one file per message
        # The daemon starts, and is killed -9 while it sends; it starts again and finishes.
        smsd.start()
        wait_for(lambda: len(smsd.sent()) >= 3, what="gammu-smsd to send some")
        smsd.kill()
        smsd.start()
        wait_for(lambda: len(smsd.sent()) == 12, what="gammu-smsd to send everything")
        wait_for(lambda: all(r[3] == "sent" for r in outbox_rows(office.db_path)), what="every row marked sent")
        counts = smsd.transmitted()
        assert len(counts) == 12, counts
        # Antre never hands a message over twice. gammu-smsd itself may send again only the one file it was
        # sending when it was killed (transmitted, not yet renamed to sent/: its own window, docs/sms.md).
        killed = (smsd.root / "smsd-1.log").read_text(errors="replace")
        in_flight = (set(re.findall(r"Transmitted (OUT\S+\.txt) \(total", killed))
                     - set(re.findall(r"Renamed \S+/outbox/(OUT\S+\.txt) to", killed)))
        assert len(in_flight) <= 1 and {n for n, k in counts.items() if k > 1} <= in_flight, (counts, in_flight)
        assert sorted(smsd.sent()) == outbox
        assert {r[4] for r in outbox_rows(office.db_path)} == {1}     # one hand-off each
    finally:
        office.client.stop()
        office.service.stop()


def test_a_message_handed_off_just_before_a_crash_is_found_again_not_written_twice(tmp_path, broker, smsd):
    """The crash window itself: the file is in gammu-smsd's outbox, the row still says pending."""
    office = sms_office(tmp_path, broker, smsd)
    try:
        office.client.ok("issue_ticket", service="adminduk", channel="web", name="Siti", phone="081200000001",
                         notify=True)
        [(row_id, _, _, state, attempt, handle)] = wait_for(
            lambda: [r for r in outbox_rows(office.db_path) if r[3] == "handed_off"] or None, what="a hand-off")
        office.service.stop()
        # Put the database back to "pending" as a kill -9 between the rename and the commit leaves it.
        with sqlite3.connect(office.db_path) as db:
            db.execute("update outbox set state = 'pending', attempt = 0, handle = null where id = ?", (row_id,))
        before = sorted(p.name for p in (smsd.spool / "outbox").iterdir())
        office.service.start()
        wait_for(lambda: outbox_rows(office.db_path)[0][3] == "handed_off", what="the row handed off again")
        assert sorted(p.name for p in (smsd.spool / "outbox").iterdir()) == before == [handle]
        assert "already in gammu-smsd's outbox" in office.service.output()
        smsd.start()
        wait_for(lambda: outbox_rows(office.db_path)[0][3] == "sent", what="sent")
        assert list(smsd.transmitted().values()) == [1]
    finally:
        office.client.stop()
        office.service.stop()


def test_a_failed_send_is_retried_with_backoff_then_given_up(tmp_path, broker, smsd):
    office = sms_office(tmp_path, broker, smsd, max_attempts=2)
    try:
        office.client.ok("issue_ticket", service="adminduk", channel="web", name="Siti", phone="081200000002",
                         notify=True)
        wait_for(lambda: outbox_rows(office.db_path)[0][3] == "handed_off", what="a hand-off")
        # What gammu-smsd does when the modem refuses: the file goes to error/.
        [name] = [p.name for p in (smsd.spool / "outbox").iterdir()]
        os.rename(smsd.spool / "outbox" / name, smsd.spool / "error" / name)
        wait_for(lambda: outbox_rows(office.db_path)[0][4] == 2 and outbox_rows(office.db_path)[0][3] == "handed_off",
                 what="a second hand-off, under a new name")
        [second] = [p.name for p in (smsd.spool / "outbox").iterdir()]
        assert second != name and second.endswith("a2.txt") and not (smsd.spool / "error" / name).exists()
        os.rename(smsd.spool / "outbox" / second, smsd.spool / "error" / second)
        wait_for(lambda: outbox_rows(office.db_path)[0][3] == "failed", what="given up after max_attempts")
    finally:
        office.client.stop()
        office.service.stop()


def test_hostile_and_odd_sms_are_answered_or_ignored_and_never_block_the_next(tmp_path, broker, smsd):
    """Files as gammu-smsd writes them into its inbox, with what residents (and operators) really send."""
    office = sms_office(tmp_path, broker, smsd)
    inbox = smsd.spool / "inbox"
    try:
        def arrive(name: str, data: bytes) -> None:
            (inbox / name).write_bytes(data)

        arrive("IN20261207_080000_00_TELKOMSEL_00.txt", "\ufeffPromo pulsa! Balas YA".encode("utf-16-be"))
        arrive("IN20261207_080001_00_+6281200000009_00.txt", b"\xfe\xff\x00\x4a\x00")   # half a character
        arrive("IN20261207_080002_00_+6281200000009_00.txt", ("\ufeff" + "x" * 5000).encode("utf-16-be"))
        arrive("IN20261207_080003_00_+6281200000009_00.txt",
               "\ufeffSTATUS '; DROP TABLE tickets; --\n\x00".encode("utf-16-be"))
        arrive("IN20261207_080004_00_+6281200000009_00.txt", "\ufeffjam".encode("utf-16-be"))
        # A long SMS in two parts, as gammu-smsd stores it: joined before it is read.
        arrive("IN20261207_080005_00_+6281200000008_00.txt", "\ufeffsyarat ".encode("utf-16-be"))
        arrive("IN20261207_080005_00_+6281200000008_01.txt", "\ufeffsurat".encode("utf-16-be"))
        wait_for(lambda: not any(inbox.iterdir()), what="every inbox file taken")
        with sqlite3.connect(office.db_path) as db:
            replies = wait_for(lambda: db.execute("select phone, body from outbox where kind = 'reply' order by id")
                               .fetchall() if len(db.execute("select id from outbox").fetchall()) == 5 else None,
                               what="five answers")
            assert db.execute("select count(*) from tickets").fetchone() == (0,)
        assert [p for p, _ in replies] == ["081200000009"] * 4 + ["081200000008"]
        assert "belum paham" in replies[0][1] and "belum paham" in replies[1][1]
        assert "tidak ditemukan" in replies[2][1] and replies[3][1].startswith("Jam buka")
        assert replies[4][1].startswith("Syarat Surat Keterangan")
        assert "Traceback" not in office.service.output()
    finally:
        office.client.stop()
        office.service.stop()


def test_the_website_offers_sms_and_sends_only_to_those_who_ticked_it(tmp_path, broker, smsd):
    from tests.test_web import Http, WebProcess
    from tests.support import free_port

    port = free_port()
    settings = (f'\n[web]\nport = {port}\nhost = "127.0.0.1"\npublic_url = "https://antre.sukamaju.desa.id"\n'
                f'web_share = 100\nform_limit_per_minute = 1000\n\n[notify]\nsms = true\nspool = "{smsd.spool}"\n'
                'poll_seconds = 0.1\n')
    office = start_office(tmp_path, broker, extra=settings)
    web = WebProcess(office.config_path, port, tmp_path / "web.log")
    smsd.start()
    try:
        web.wait_ready()
        h = Http(web.url)
        form = h.get("/ambil")
        assert 'name="sms" value="ya"' in form.text and "Kirimi saya SMS" in form.text
        ticked = h.post("/ambil", {"csrf": form.csrf(), "rid": form.rid(), "service": "adminduk", "name": "Siti",
                                   "phone": "0812 3456 7001", "sms": "ya"})
        assert ticked.status == 200 and "/status/" in ticked.url
        [text] = wait_for(lambda: smsd.sent_to("+6281234567001"), what="the SMS to the one who ticked")
        assert "nomor antrean Anda A-001" in text
        assert ticked.url.split("?")[0].replace(web.url, "https://antre.sukamaju.desa.id") in text   # its status page
        again = h.get("/ambil")
        h.post("/ambil", {"csrf": again.csrf(), "rid": again.rid(), "service": "adminduk", "name": "Budi",
                          "phone": "0812 3456 7002"})
        with sqlite3.connect(office.db_path) as db:
            wait_for(lambda: db.execute("select count(*) from tickets").fetchone() == (2,), what="the second ticket")
            assert db.execute("select count(*) from outbox").fetchone() == (1,)     # not ticked: no SMS
        assert "3456 7001" not in web.output() and "81234567001" not in web.output()
    finally:
        web.stop()
        office.client.stop()
        office.service.stop()


def test_a_long_answer_goes_in_as_many_parts_as_the_outbox_counted(tmp_path, broker, smsd):
    answer = ("Surat keterangan domisili: bawa KTP asli, Kartu Keluarga asli, dan surat pengantar RT/RW. Surat "
              "selesai hari itu juga di loket B bila berkas lengkap. Tidak dipungut biaya apa pun. Untuk "
              "keperluan bank, sebutkan nama banknya kepada petugas.")
    smsd.start()
    office = sms_office(tmp_path, broker, smsd)
    office.config_path.write_text(office.config_path.read_text() + f"""
[[notify.faq]]
answer = "{answer}"
questions = ["surat keterangan domisili", "butuh surat domisili untuk bank"]
""")
    office.service.stop()
    office.service.start()
    try:
        office.client.wait_service(True)
        smsd.receive(RESIDENT, "surat domisili buat bank")
        [text] = wait_for(lambda: smsd.sent_to(RESIDENT), what="the FAQ's answer")
        assert text == answer
        with sqlite3.connect(office.db_path) as db:
            [(parts,)] = db.execute("select parts from outbox").fetchall()
        log = "".join(p.read_text(errors="replace") for p in smsd.root.glob("smsd-*.log"))
        assert parts == 2 and len(re.findall(r"Transmitted OUT\S+ \((part|total): \d\)", log)) == parts
    finally:
        office.client.stop()
        office.service.stop()


def test_aduan_by_sms_files_one_complaint_across_kill_9_and_its_answer_comes_back_by_sms(tmp_path, broker, smsd):
    from tests.test_letters import sign_in_staff

    smsd.start()
    office = sms_office(tmp_path, broker, smsd)
    try:
        c = office.client
        st = sign_in_staff(c.ok)
        smsd.receive(RESIDENT, "ADUAN lampu jalan di RT 03 mati sejak seminggu")
        [reply] = wait_for(lambda: smsd.sent_to(RESIDENT), what="the answer to ADUAN")
        assert "laporan diterima, kode P-" in reply and "https://antre.sukamaju.desa.id/pengaduan/P" in reply
        # kill -9 of the service while the next ADUAN waits in the spool's inbox: filed once after the restart.
        office.service.kill()
        c.wait_service(False)
        smsd.receive(RESIDENT, "lapor sampah menumpuk di kali desa")
        [waiting] = wait_for(lambda: list((smsd.spool / "inbox").iterdir()), what="the SMS in the spool's inbox")
        kept = waiting.read_bytes()
        office.service.start()
        c.wait_service(True)
        wait_for(lambda: len(smsd.sent_to(RESIDENT)) == 2, what="the answer to the second ADUAN")
        # The same inbox file read again (as after a crash between the commit and its removal): a replay.
        wait_for(lambda: not waiting.exists(), what="the inbox file removed after its commit")
        waiting.write_bytes(kept)
        wait_for(lambda: not waiting.exists(), what="the replayed inbox file removed")
        with sqlite3.connect(office.db_path) as db:
            rows = db.execute("select id, channel, topic from complaints order by id").fetchall()
        assert [(ch, t) for _, ch, t in rows] == [("sms", "infrastruktur"), ("sms", "lingkungan")]
        # The staff's answer goes back by SMS.
        c.ok("complaint_reply", complaint=rows[0][0], text="Lampu sudah diganti.", final=True, **st["kasi"])
        wait_for(lambda: any("sudah dijawab" in t for t in smsd.sent_to(RESIDENT)), what="the answer's SMS")
        assert all(n == 1 for n in smsd.transmitted().values()) and len(smsd.sent_to(RESIDENT)) == 3
        # Neither the number nor the text in MQTT or the service's log.
        out = office.service.output()
        assert RESIDENT[3:] not in out and "lampu" not in out.lower()
        assert RESIDENT[3:] not in json.dumps(c.events) and "lampu" not in json.dumps(c.events).lower()
    finally:
        office.client.stop()
        office.service.stop()


def test_a_question_the_assistant_cannot_answer_reaches_the_staff_and_the_answer_comes_back_by_sms(tmp_path, broker,
                                                                                                   smsd):
    from tests.test_letters import sign_in_staff

    smsd.start()
    office = sms_office(tmp_path, broker, smsd)
    try:
        c = office.client
        st = sign_in_staff(c.ok)
        smsd.receive(RESIDENT, "kapan pembagian pupuk subsidi musim ini")
        [reply] = wait_for(lambda: smsd.sent_to(RESIDENT), what="the answer to the question")
        assert "kami teruskan ke petugas" in reply
        [q] = c.ok("question_list", **st["petugas"])["items"]
        assert q["channel"] == "sms" and q["to"] == "0812****7890"
        c.ok("question_answer", question=q["id"], text="Mulai 15 Desember di balai desa.", **st["petugas"])
        wait_for(lambda: any("Mulai 15 Desember" in t for t in smsd.sent_to(RESIDENT)), what="the staff's answer")
        assert c.error("question_answer", question=q["id"], text="lagi", **st["kasi"]) == "already_answered"
        assert all(n == 1 for n in smsd.transmitted().values()) and len(smsd.sent_to(RESIDENT)) == 2
        out = office.service.output()
        assert "pupuk" not in out and RESIDENT[3:] not in out
        assert "pupuk" not in json.dumps(c.events) and "pupuk" not in json.dumps(c.states)
    finally:
        office.client.stop()
        office.service.stop()
class ReportingSmsd(GammuSmsd):
    """gammu-smsd with ``DeliveryReport = sms`` at ``debuglevel = 0`` (as ``antre notify smsdrc`` writes it with
    ``[notify] delivery_reports``; here into one log file across restarts instead of syslog, to be read).
    ``report`` makes the network's status report for a number arrive at the dummy phone (an SMS-STATUS-REPORT
    in Gammu's own backup format: the dummy driver reads it like any received message, and the files backend
    writes it into the inbox as ``IN<date>_<time>_<serial>_<number>_00.txt`` holding the status word)."""

    def __init__(self, root: Path):
        super().__init__(root)
        self.fixed_log = root / "smsd.log"

    def _config(self, phone: Path, log: Path) -> Path:
        path = super()._config(phone, log)
        if phone == self.phone:
            text = path.read_text().replace(f"logfile = {log}", f"logfile = {self.fixed_log}")
            path.write_text(text.replace("debuglevel = 1", "debuglevel = 0") + "deliveryreport = sms\n")
        return path

    def start(self) -> "ReportingSmsd":
        self.starts += 1
        self.log = self.fixed_log
        before = self.log.read_text(errors="replace").count("Starting phone communication") if self.log.exists() else 0
        self.proc = subprocess.Popen([GAMMU_SMSD, "-c", str(self._config(self.phone, self.log))],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: self.log.exists() and self.log.read_text(errors="replace").count(
            "Starting phone communication") > before, what="gammu-smsd to start")
        return self

    def report(self, number: str, status: str, reference: int = 0xFF) -> None:
        self._n += 1
        digits = number.encode("utf-16-be").hex().upper()
        text = status.encode("utf-16-be").hex().upper()
        staged = self.staging / f"report-{self._n}"
        staged.write_text(f"""[SMSBackup000]
PDU = Status_Report
DateTime = 20261207T080000Z
SMSCDateTime = 20261207T080000Z
State = UnRead
Number = "{number}"
NumberUnicode = {digits}
Text00 = {text}
Coding = Default_No_Compression
Folder = 1
Length = {len(status)}
Class = -1
MessageReference = {reference}
""")
        os.rename(staged, self.phone / "sms" / "1" / str(1000 + self._n))


def holding(root: Path, *needles: str, skip: Path | None = None) -> list[str]:
    """Files under ``root`` (names or contents, bytes as UTF-8 or UTF-16) that hold one of ``needles``."""
    found = []
    for path in root.rglob("*"):
        if not path.is_file() or (skip and skip in path.parents):
            continue
        data = path.read_bytes()
        texts = (path.name, data.decode("utf-8", errors="ignore"), data.decode("utf-16-be", errors="ignore"),
                 data.decode("utf-16-le", errors="ignore"))
        if any(n in t for n in needles for t in texts):
            found.append(str(path.relative_to(root)))
    return found


def test_sms_delivery_reports_from_gammu_smsd_reach_the_outbox(tmp_path, broker):
    """``[notify] delivery_reports``: Antre's files ask for a report (``.txtd``), the dummy phone receives the
    network's status report, gammu-smsd writes it into its inbox, and Antre writes it on the message's row:
    delivered or failed (the staff page says "sampai di HP warga" / "tidak sampai"); "Pending" is no news.
    The report's inbox file is deleted once recorded and the daemon's log holds no text: nothing under the
    spool but the sent messages themselves (kept until retention, as without reports) holds the number."""
    smsd = ReportingSmsd(tmp_path / "gammu")
    smsd.start()
    office = sms_office(tmp_path, broker, smsd, delivery_reports="true")
    inbox = smsd.spool / "inbox"
    try:
        smsd.receive(RESIDENT, "jam")
        wait_for(lambda: len(smsd.sent_to(RESIDENT)) == 1, what="the answer sent")
        [name] = [n for n in smsd.sent() if f"_{RESIDENT}_" in n]
        assert name.endswith(".txtd")                                   # a report was asked for
        with sqlite3.connect(office.db_path) as db:
            delivery = lambda key: db.execute("select state, delivery from outbox where handle = ?", (key,)).fetchone()
            rows = lambda: db.execute("select count(*) from outbox").fetchone()[0]
            wait_for(lambda: delivery(name) == ("sent", None), what="the row sent")
            smsd.report(RESIDENT, "Pending")
            wait_for(lambda: "Delivery report IN" in smsd.fixed_log.read_text(errors="replace")
                     and not list(inbox.iterdir()), what="the pending report read and its file deleted")
            assert delivery(name) == ("sent", None)
            smsd.report(RESIDENT, "Delivered")
            wait_for(lambda: delivery(name) == ("sent", "delivered"), what="the delivery report recorded")
            wait_for(lambda: not list(inbox.iterdir()), what="the report's inbox file deleted")
            # A second message, whose report says it failed; the first keeps its own report.
            smsd.receive(RESIDENT, "info")
            wait_for(lambda: len(smsd.sent_to(RESIDENT)) == 2, what="the second answer sent")
            [second] = [n for n in smsd.sent() if f"_{RESIDENT}_" in n and n != name]
            wait_for(lambda: delivery(second) == ("sent", None), what="the second row sent")
            smsd.report(RESIDENT, "Failed")
            wait_for(lambda: delivery(second) == ("sent", "failed"), what="the failure recorded")
            assert delivery(name) == ("sent", "delivered")
            # A report nothing waits for is dropped, never answered like a resident's SMS (no SMS loop).
            before = rows()
            smsd.report(RESIDENT, "Delivered")
            wait_for(lambda: smsd.fixed_log.read_text(errors="replace").count("Delivery report IN") == 4
                     and not list(inbox.iterdir()), what="the fourth report read and deleted")
            office.service.kill()                                       # a restart: nothing read again
            office.client.wait_service(False)
            office.service.start()
            office.client.wait_service(True)
            assert (delivery(name), delivery(second), rows()) == (("sent", "delivered"), ("sent", "failed"), before)
        texts = ["jam", "info", *smsd.sent().values()]
        log_text = smsd.fixed_log.read_text(errors="replace")
        assert not [t for t in texts if t in log_text], "gammu-smsd's log holds a message text"
        assert "Delivery report:" not in log_text and "Delivered" not in log_text
        # Nothing under the spool holds the number or a text but the two sent messages (retention deletes them).
        assert sorted(holding(smsd.spool, RESIDENT, RESIDENT[3:], *texts)) == sorted(f"sent/{n}" for n in (name, second))
    finally:
        office.client.stop()
        office.service.stop()
        smsd.stop()
