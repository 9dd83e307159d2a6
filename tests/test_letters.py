"""Letters (e-administrasi), the core: NIK checks, the request's statuses and who may move them, numbering
(patterns, sequences per classification code or shared, yearly reset, numbers typed by hand), the register,
verification, retention -- in process on a real SQLite file with a manual clock; then through the real broker
and ``antre serve``: many staff numbering at once (no gap, no duplicate) and no personal data on the wire
except in the one command and the direct replies that carry it."""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import tomllib
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from antre import config
from antre.clock import ManualClock
from antre.errors import CommandError
from antre.rules.letter_fields import check_fields, mask_name, parse_nik
from antre.rules.letter_codes import new_tracking_code, status_ref, tracking_code_ok
from antre.rules.letters import format_number
from antre.rules.queue import QueueService
from antre.service.server import PLUGINS
from antre.storage import open_database
from tests.conftest import start_office
from tests.support import TestClient, wait_for

TODAY = date(2026, 12, 7)
# A valid NIK: Kabupaten Bandung (32 04 05), a woman born 14 March 1990 (14 + 40 = 54), serial 0001.
NIK_F = "3204055403900001"
NIK_M = "3204051403900002"   # a man born the same day
HOLDER = "Siti Aminah"


def domisili(**over) -> dict[str, str]:
    return {"nama": HOLDER, "nik": NIK_F, "tempat_lahir": "Bandung", "tanggal_lahir": "1990-03-14",
            "jenis_kelamin": "Perempuan", "alamat": "RT 02 RW 05 Dusun Cikoneng", "keperluan": "melamar kerja"} | over


# ---------------------------------------------------------------------- NIK and fields

def test_nik_region_birth_date_and_sex():
    info, problem = parse_nik(NIK_F, TODAY)
    assert problem is None and info.born == date(1990, 3, 14) and info.sex == "Perempuan" and info.region == "320405"
    info, _ = parse_nik("3204 0514 0390 0002", TODAY)            # spaces as printed on the card
    assert info.sex == "Laki-laki"
    assert parse_nik("320405540390001", TODAY)[1] == "nik_length"     # 15 digits
    assert parse_nik("32040554039000011", TODAY)[1] == "nik_length"   # 17
    assert parse_nik("32040554039000O1", TODAY)[1] == "nik_length"    # a letter O
    assert parse_nik("٣٢٠٤٠٥٥٤٠٣٩٠٠٠٠١", TODAY)[1] == "nik_length"    # Arabic-Indic digits are not a NIK
    assert parse_nik("9904055403900001", TODAY)[1] == "nik_region"    # no province 99
    assert parse_nik("3200055403900001", TODAY)[1] == "nik_region"    # regency 00
    assert parse_nik("3204003003900001", TODAY)[1] == "nik_region"    # district 00
    assert parse_nik("3204053002900001", TODAY)[1] == "nik_date"      # 30 February
    assert parse_nik("3204057102900001", TODAY)[1] == "nik_date"      # 31 + 40: 31 February for a woman
    assert parse_nik("3204051413900001", TODAY)[1] == "nik_date"      # month 13
    assert parse_nik("3204053202900001", TODAY)[1] == "nik_date"      # day 32 (neither man nor woman)
    assert parse_nik("3204052902010001", TODAY)[1] == "nik_date"      # 29 Feb 2001: not a leap year
    assert parse_nik("3204052902000001", TODAY)[1] is None            # 29 Feb 2000 is
    assert parse_nik("3204053112260001", TODAY)[1] == "nik_date"      # 31 Dec 2026: after today (1926 would be
    # a century ago; a NIK's two-digit year is read as the latest year not in the future, so 26 is 2026)
    assert parse_nik("3204055403900000", TODAY)[1] == "nik_serial"


def test_fields_per_type_with_cross_checks_and_clear_problems():
    cfg = config.load_defaults()
    t = cfg.letters.type("domisili")
    values, problems = check_fields(t, domisili(), TODAY)
    assert problems == {} and values["nik"] == NIK_F and values["tanggal_lahir"] == "1990-03-14"
    _, problems = check_fields(t, domisili(tanggal_lahir="15-03-1990"), TODAY)
    assert problems == {"tanggal_lahir": "nik_birth_mismatch"}
    _, problems = check_fields(t, domisili(jenis_kelamin="Laki-laki"), TODAY)
    assert problems == {"jenis_kelamin": "nik_sex_mismatch"}
    _, problems = check_fields(t, domisili(nama="3204055403900001", nik="123", tanggal_lahir="2030-01-01",
                                           jenis_kelamin="Wanita", alamat="", keperluan="x" * 121, hobi="-"), TODAY)
    assert problems == {"nama": "name", "nik": "nik_length", "tanggal_lahir": "future_date", "jenis_kelamin": "choice",
                        "alamat": "required", "keperluan": "too_long", "hobi": "unknown"}
    _, problems = check_fields(t, domisili(tanggal_lahir="31/02/1990"), TODAY)
    assert problems == {"tanggal_lahir": "date"}
    _, problems = check_fields(cfg.letters.type("sktm"), {"nama": HOLDER, "nik": NIK_F, "no_kk": "3204050000000000",
                                                          "alamat": "x", "pekerjaan": "petani", "keperluan": "sekolah"},
                               TODAY)
    assert problems == {"no_kk": "kk_serial"}
    _, problems = check_fields(cfg.letters.type("usaha"), {"nama": HOLDER, "nik": NIK_F, "alamat": "x",
                                                           "jenis_usaha": "warung", "lokasi_usaha": "pasar",
                                                           "sejak_tahun": "dua", "keperluan": "KUR"}, TODAY)
    assert problems == {"sejak_tahun": "number"}
    assert mask_name("Siti Aminah") == "S*** A*****" and mask_name("Al") == "A**"


def test_sample_catalogue_and_config_checks(tmp_path):
    cfg = config.load_defaults()
    codes = [t.code for t in cfg.letters.types]
    assert codes == ["domisili", "usaha", "sktm", "skck", "nikah", "kelahiran", "kematian", "pindah", "kehilangan"]
    for t in cfg.letters.types:
        assert t.purpose and t.requirements and t.cost == 0 and t.fields
    # The catalogue round-trips through the TOML the office edits.
    p = tmp_path / "a.toml"
    p.write_text(config.to_toml(cfg, mask=False))
    assert config.load(p).letters == cfg.letters
    bad = {"letters": {"types": [{"code": "x", "name": "X", "numbering": "{kode}/{nomer}/{tahun}",
                                  "fields": [{"name": "nama", "label": "Nama", "type": "name"}]}]}}
    with pytest.raises(config.ConfigError, match=r"unknown placeholder \{nomer\}"):
        config.from_dict(bad)
    bad["letters"]["types"][0]["numbering"] = "{kode}/{tahun}"
    with pytest.raises(config.ConfigError, match=r"must contain \{nomor\}"):
        config.from_dict(bad)
    bad["letters"]["types"][0]["numbering"] = "{kode}/{nomor}"
    with pytest.raises(config.ConfigError, match="needs a field of type 'name' and one of type 'nik'"):
        config.from_dict(bad)
    bad["letters"]["types"][0]["fields"][0]["tpye"] = "nik"
    with pytest.raises(config.ConfigError, match="did you mean 'type'"):
        config.from_dict(bad)
    with pytest.raises(config.ConfigError, match="pickup_service 'surta' is not a service"):
        config.from_dict({"letters": {"pickup_service": "surta"}})


def test_tracking_codes_and_number_patterns():
    codes = {new_tracking_code() for _ in range(200)}
    assert len(codes) == 200 and all(tracking_code_ok(c) for c in codes)
    c = next(iter(codes))
    typo = c[:3] + str((int(c[3]) + 1) % 10) + c[4:]
    swapped = c[:5] + c[6] + c[5] + c[7:]
    assert not tracking_code_ok(typo) and (c[5] == c[6] or not tracking_code_ok(swapped))
    assert status_ref(c) != status_ref(typo) and c not in status_ref(c)
    on = date(2026, 12, 7)
    assert format_number("{kode}/{nomor}/{kode_desa}/{bulan_romawi}/{tahun}", classification="474.4", seq=7,
                         village_code="2001", on=on) == "474.4/007/2001/XII/2026"
    assert format_number("{nomor}/SKD/{bulan}.{tahun}", classification="x", seq=1234, village_code="",
                         on=date(2027, 4, 1)) == "1234/SKD/04.2027"


# ---------------------------------------------------------------------- the rules, in process

def rules_office(tmp_path, letters_toml: str = "", start=datetime(2026, 12, 7, 2, 0, tzinfo=timezone.utc)):
    text = letters_toml or ""
    cfg = config.from_dict(tomllib.loads(text)) if text else config.load_defaults()
    _, sessions = open_database(f"sqlite:///{tmp_path}/a.db")
    clock = ManualClock(start)   # Monday 09.00 WIB
    q = QueueService(cfg, sessions, clock=clock, plugins=PLUGINS)

    def run(cmd, **args):
        return q.execute(cmd, uuid.uuid4().hex, args).result

    def error(cmd, **args):
        with pytest.raises(CommandError) as exc:
            q.execute(cmd, uuid.uuid4().hex, args)
        return exc.value.code
    return q, clock, run, error, sign_in_staff(run)


PASSWORD = "kopi manis pagi hari"
STAFF = (("bu-kasi", "kasi"), ("pak-kades", "penandatangan"), ("loket-satu", "petugas"))


def sign_in_again(ok) -> dict[str, dict[str, str]]:
    """New sessions for the accounts of :func:`sign_in_staff` (a session lasts a working day)."""
    out = {}
    for name, role in STAFF:
        token = secrets.token_urlsafe(32)
        assert ok("staff_login", name=name, password=PASSWORD, session=token)["signed_in"]
        out[role] = {"session": token}
    return out


def sign_in_staff(ok) -> dict[str, dict[str, str]]:
    """An admin and one signed-in account per role (``antre/rules/staff.py``): ``{role: {"session": token}}``,
    through ``ok(command, **args)`` (in process or over MQTT)."""
    admin = secrets.token_urlsafe(32)
    ok("staff_setup", name="admin", password=PASSWORD, session=admin)
    out = {"admin": {"session": admin}}
    for name, role in STAFF:
        ok("staff_add", session=admin, name=name, role=role, password=PASSWORD)
        token = secrets.token_urlsafe(32)
        assert ok("staff_login", name=name, password=PASSWORD, session=token)["signed_in"]
        out[role] = {"session": token}
    return out


def test_a_request_from_submission_to_collection_with_roles_and_reasons(tmp_path):
    q, clock, run, error, st = rules_office(tmp_path)
    assert error("letter_request", type="domisili", fields=domisili(nik="123"), channel="web") == "invalid_fields"
    assert error("letter_request", type="sim", fields=domisili(), channel="web") == "unknown_letter_type"
    r = run("letter_request", type="domisili", fields=domisili(), channel="web")
    assert tracking_code_ok(r["code"]) and r["status"] == "diperiksa" and r["can_cancel"]
    assert r["due_on"] == "2026-12-08" and HOLDER not in json.dumps(r) and NIK_F not in json.dumps(r)
    rid = run("letter_list", **st['kasi'])["items"][0]["id"]
    # Incomplete, with a reason the resident reads; the reason is required.
    assert error("letter_set_status", request=rid, status="belum_lengkap", **st['kasi']) == "missing_argument"
    assert error("letter_set_status", request=rid, status="belum_lengkap", reason="x", **st['penandatangan']) == "forbidden"
    run("letter_set_status", request=rid, status="belum_lengkap", reason="KK belum dilampirkan", **st['kasi'])
    seen = run("letter_status", code=r["code"])
    assert seen["status"] == "belum_lengkap" and seen["reason"] == "KK belum dilampirkan"
    run("letter_set_status", request=rid, status="diperiksa", **st['kasi'])
    # Staff correct a field after checking the originals; the new value is checked like the resident's.
    assert error("letter_edit", request=rid, fields={"nik": "3204055403900000"}, **st['kasi']) == "invalid_fields"
    assert run("letter_edit", request=rid, fields={"alamat": "RT 03 RW 05"}, **st['kasi'])["changed_fields"] == ["alamat"]
    # Not to the signer without a number; the number, once; the signer signs, kasi cannot.
    assert error("letter_set_status", request=rid, status="menunggu_ttd", **st['kasi']) == "letter_not_numbered"
    n = run("letter_assign_number", request=rid, **st['kasi'])
    assert n["number"] == "474.4/001/2001/XII/2026" and not n["already"]
    assert run("letter_assign_number", request=rid, **st['kasi']) == n | {"already": True}
    assert run("letter_status", code=r["code"])["can_cancel"] is False
    assert error("letter_cancel", code=r["code"]) == "letter_in_process"
    assert error("letter_set_status", request=rid, status="menunggu_ttd", signer="camat", **st['kasi']) == "unknown_signer"
    run("letter_set_status", request=rid, status="menunggu_ttd", **st['kasi'])
    assert error("letter_set_status", request=rid, status="siap_diambil", **st['kasi']) == "forbidden"
    assert error("letter_set_status", request=rid, status="siap_diambil", **st['admin']) == "forbidden"
    assert error("letter_set_status", request=rid, status="sudah_diambil", **st['kasi']) == "invalid_transition"
    run("letter_set_status", request=rid, status="siap_diambil", **st['penandatangan'])
    full = run("letter_get", request=rid, **st['kasi'])
    assert full["holder_name"] == HOLDER and full["nik"] == NIK_F and full["fields"]["alamat"] == "RT 03 RW 05"
    assert full["valid_until"] == "2027-06-05" and full["signer"] == "kades"
    assert [h["status"] for h in full["history"]] == ["diperiksa", "belum_lengkap", "diperiksa", "diperiksa",
                                                      "diperiksa", "menunggu_ttd", "siap_diambil"]
    assert full["history"][-1]["actor"] == "pak-kades"
    run("letter_set_status", request=rid, status="sudah_diambil", **st['petugas'])
    assert error("letter_set_status", request=rid, status="dibatalkan", reason="x", **st['kasi']) == "invalid_transition"
    # The QR's page: valid, then expired after its 180 days, revoked when withdrawn.
    v = run("letter_verify", token=full["verify_token"])
    assert v == {"type": "domisili", "type_name": "Surat Keterangan Domisili", "number": n["number"],
                 "signed_on": "2026-12-07", "valid_until": "2027-06-05", "masked_name": "S*** A*****",
                 "validity": "valid", "revoked_on": None}
    clock.advance(days=181)
    assert run("letter_verify", token=full["verify_token"])["validity"] == "expired"
    assert error("letter_revoke", request=rid, reason="x", **st['kasi']) == "not_signed_in"   # yesterday's session
    st = sign_in_again(run)
    run("letter_revoke", request=rid, reason="salah data", **st['kasi'])
    assert run("letter_verify", token=full["verify_token"])["validity"] == "revoked"
    assert error("letter_verify", token="A" * 24) == "letter_not_found"


def test_residents_cancel_only_before_processing(tmp_path):
    q, clock, run, error, st = rules_office(tmp_path)
    a = run("letter_request", type="kehilangan", fields={"nama": "Budi", "nik": NIK_M, "alamat": "x",
                                                         "barang": "KTP", "tanggal_hilang": "2026-12-01",
                                                         "lokasi_hilang": "pasar"}, channel="kiosk")
    assert run("letter_cancel", code=a["code"])["status"] == "dibatalkan"
    assert error("letter_cancel", code=a["code"]) == "letter_in_process"
    assert error("letter_status", code=new_tracking_code()) == "letter_not_found"


def test_numbering_sequences_shared_by_hand_and_reset_each_year(tmp_path):
    toml = """
[[letters.types]]
code = "domisili"
name = "SKD"
classification = "474.4"
numbering = "{kode}/{nomor}/{kode_desa}/{bulan_romawi}/{tahun}"
sequence = "umum"
[[letters.types.fields]]
name = "nama"
label = "Nama"
type = "name"
[[letters.types.fields]]
name = "nik"
label = "NIK"
type = "nik"

[[letters.types]]
code = "sktm"
name = "SKTM"
classification = "460"
sequence = "umum"
[[letters.types.fields]]
name = "nama"
label = "Nama"
type = "name"
[[letters.types.fields]]
name = "nik"
label = "NIK"
type = "nik"

[[letters.types]]
code = "kematian"
name = "Kematian"
classification = "474.3"
numbering = "{nomor}/{kode}/{tahun}"
[[letters.types.fields]]
name = "nama"
label = "Nama"
type = "name"
[[letters.types.fields]]
name = "nik"
label = "NIK"
type = "nik"
"""
    q, clock, run, error, st = rules_office(tmp_path, toml, start=datetime(2026, 12, 31, 2, 0, tzinfo=timezone.utc))

    def numbered(kind):
        code = run("letter_request", type=kind, fields={"nama": HOLDER, "nik": NIK_F}, channel="web")["code"]
        rid = next(i["id"] for i in run("letter_list", **st['kasi'])["items"] if i["code"] == code)
        return run("letter_assign_number", request=rid, **st['kasi'])["number"]

    assert numbered("domisili") == "474.4/001/2001/XII/2026"
    assert numbered("sktm") == "460/002/2001/XII/2026"        # the shared sequence 'umum'
    hand = run("letter_reserve_number", classification="474.4", sequence="umum", subject="Undangan rapat",
               recipient="Camat Cibiru", **st['kasi'])
    assert hand["number"] == "474.4/003/2001/XII/2026"       # a letter typed by hand: the same sequence
    assert numbered("domisili") == "474.4/004/2001/XII/2026"
    assert numbered("kematian") == "001/474.3/2026"           # its own sequence (per classification code)
    assert run("letter_reserve_number", classification="474.3", subject="x", recipient="y",
               **st['kasi'])["number"] == "002/474.3/2026"
    assert error("letter_reserve_number", classification="474.3", subject="x", recipient="y",
                 **st['penandatangan']) == "forbidden"
    clock.advance(days=1)                                     # 1 January 2027: every sequence starts again
    st.update(sign_in_again(run))
    assert numbered("sktm") == "460/001/2001/I/2027"
    assert numbered("kematian") == "001/474.3/2027"
    reg = run("letter_register", **st['kasi'], year=2026)["rows"]
    assert [r["number"] for r in reg] == ["474.4/001/2001/XII/2026", "460/002/2001/XII/2026",
                                          "474.4/003/2001/XII/2026", "474.4/004/2001/XII/2026",
                                          "001/474.3/2026", "002/474.3/2026"]
    assert reg[2]["manual"] and reg[2]["masked_name"] == "C**** C*****" and reg[0]["masked_name"] == "S*** A*****"
    assert all(HOLDER not in json.dumps(r) for r in reg)
    assert len(run("letter_register", **st['kasi'], year=2027)["rows"]) == 2


def test_retention_wipes_personal_data_and_keeps_the_register(tmp_path):
    toml = '[letters]\nretention_days = 30\n'
    q, clock, run, error, st = rules_office(tmp_path, toml)
    code = run("letter_request", type="domisili", fields=domisili(), channel="web")["code"]
    open_code = run("letter_request", type="domisili", fields=domisili(), channel="web")["code"]
    rid = next(i["id"] for i in run("letter_list", **st['kasi'])["items"] if i["code"] == code)
    run("letter_assign_number", request=rid, **st['kasi'])
    run("letter_set_status", request=rid, status="menunggu_ttd", **st['kasi'])
    run("letter_set_status", request=rid, status="siap_diambil", **st['penandatangan'])
    run("letter_set_status", request=rid, status="sudah_diambil", **st['kasi'])
    clock.advance(days=29)
    run("letter_status", code=code)          # a command opens the day; not yet
    st = sign_in_again(run)
    assert run("letter_get", request=rid, **st['kasi'])["holder_name"] == HOLDER
    clock.advance(days=2)
    run("letter_status", code=code)
    st = sign_in_again(run)
    gone = run("letter_get", request=rid, **st['kasi'])
    assert gone["holder_name"] is None and gone["nik"] is None and gone["fields"] is None and gone["anonymised"]
    assert gone["masked_name"] == "S*** A*****" and gone["number"] == "474.4/001/2001/XII/2026"
    still = next(i["id"] for i in run("letter_list", **st['kasi'])["items"] if i["code"] == open_code)
    assert run("letter_get", request=still, **st['kasi'])["nik"] == NIK_F      # open requests are kept
    with sqlite3.connect(tmp_path / "a.db") as db:
        dump = "\n".join(db.iterdump())
    # Only the open request's: its NIK column and its fields.
    assert dump.count(NIK_F) == 2 and dump.count("Cikoneng") == 1
    reg = run("letter_register", **st['kasi'], year=2026)["rows"]
    assert reg[0]["masked_name"] == "S*** A*****" and reg[0]["type"] == "domisili"


# ---------------------------------------------------------------------- through the broker and the service

@pytest.fixture
def office(tmp_path, broker):
    o = start_office(tmp_path, broker, extra='[letters]\nsigners = [{id = "kades", name = "Asep", title = "Kepala Desa"}]\n')
    yield o
    o.client.stop()
    o.service.stop()


def test_many_staff_number_at_once_without_gaps_or_duplicates(office):
    """8 staff logins number 80 letters and reserve 16 numbers by hand, all at once: 96 numbers, 1..96."""
    c = office.client
    st = sign_in_staff(c.ok)
    sessions = []
    for i in range(8):   # eight kasi accounts, each signed in
        c.ok("staff_add", session=st["admin"]["session"], name=f"kasi-{i}", role="kasi", password=PASSWORD)
        sessions.append(secrets.token_urlsafe(32))
        assert c.ok("staff_login", name=f"kasi-{i}", password=PASSWORD, session=sessions[-1])["signed_in"]
    codes = [c.ok("letter_request", type="domisili", fields=domisili(), channel="web")["code"] for _ in range(80)]
    items = c.ok("letter_list", **st["kasi"])["items"]
    ids = [i["id"] for i in items if i["code"] in set(codes)]
    assert len(ids) == 80
    staff = [office.new_client(f"staf-{i}") for i in range(8)]
    got: list[tuple[str, str]] = []
    lock = threading.Lock()
    start = threading.Barrier(len(staff))

    def work(i, client):
        start.wait()
        for k, rid in enumerate(ids[i::len(staff)]):
            # Each is sent twice with the same request_id (a retry after a timeout): still one number.
            request_id = uuid.uuid4().hex
            n = client.ok("letter_assign_number", request=rid, session=sessions[i], request_id=request_id)
            again = client.ok("letter_assign_number", request=rid, session=sessions[i], request_id=request_id)
            assert again == n
            if k % 5 == 0:
                h = client.ok("letter_reserve_number", classification="474.4", subject="Undangan",
                              recipient="Ketua RW", session=sessions[i])
                with lock:
                    got.append(("hand", h["number"]))
            with lock:
                got.append(("auto", n["number"]))

    threads = [threading.Thread(target=work, args=(i, s)) for i, s in enumerate(staff)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for s in staff:
        s.stop()
    numbers = [n for _, n in got]
    assert len(numbers) == 96 and len(set(numbers)) == 96
    year = numbers[0].rsplit("/", 1)[1]
    seqs = sorted(int(n.split("/")[1]) for n in numbers)
    assert seqs == list(range(1, 97))
    reg = c.ok("letter_register", year=int(year), **st["kasi"])["rows"]
    assert sorted(r["seq"] for r in reg) == list(range(1, 97)) and sum(r["manual"] for r in reg) == 16
    # Every number is in the audit log under the account that took it.
    with sqlite3.connect(office.db_path) as db:
        audited = db.execute("select actor, subject from audit_log where action in "
                             "('letter.number', 'letter.reserve_number')").fetchall()
    assert sorted(subject for _, subject in audited) == sorted(numbers)
    assert {actor for actor, _ in audited} == {f"kasi-{i}" for i in range(8)}


def test_personal_data_stays_off_the_wire_and_out_of_the_log(office):
    c = office.client
    st = sign_in_staff(c.ok)
    r = c.ok("letter_request", type="domisili", fields=domisili(), channel="web")
    rid = c.ok("letter_list", **st["kasi"])["items"][0]["id"]
    c.ok("letter_set_status", request=rid, status="belum_lengkap", reason="KK belum dilampirkan", **st['kasi'])
    wait_for(lambda: len(c.events_of("letter_status")) >= 2, what="two letter_status events")
    events = c.events_of("letter_status")
    assert events[-1]["ref"] == status_ref(r["code"]) and events[-1]["status"] == "belum_lengkap"
    assert set(events[-1]) == {"ref", "status", "time"}
    # Bad input is refused with the field names, never their values.
    bad = c.request("letter_request", type="domisili", fields=domisili(nik="9934567890123456"), channel="web")
    assert bad.code == "invalid_fields" and "nik: nik_region" in bad.message and "9934567890" not in bad.message
    assert c.error("letter_request", type="domisili", fields={"nama": ["x"]}, channel="web") == "invalid_argument"
    assert c.error("letter_request", type="domisili", fields=domisili()) == "missing_argument"
    assert c.error("letter_request", type="domisili", fields=domisili(), channel="web", phone="12") == "invalid_argument"
    assert c.error("letter_status", code="123456789012") == "invalid_argument"   # check digit wrong
    # The console's commands need a signed-in person of the right role.
    assert c.error("letter_get", request=rid, session="bogus") == "invalid_argument"
    assert c.error("letter_get", request=rid, session=secrets.token_urlsafe(32)) == "not_signed_in"
    assert c.error("letter_get", request=rid) == "missing_argument"
    assert c.error("letter_get", request=rid, actor="x", role="kasi") == "unknown_argument"   # no claiming a role
    assert c.error("letter_get", request=rid, **st["petugas"]) == "forbidden"
    assert c.error("letter_get", request=rid, **st["admin"]) == "forbidden"   # an admin manages accounts only
    assert c.error("letter_get", request=0, **st["kasi"]) == "invalid_argument"
    assert c.error("letter_register", year=1999, **st["kasi"]) == "invalid_argument"
    c.ok("letter_get", request=rid, purpose="print", address="10.0.0.7", **st["kasi"])
    with sqlite3.connect(office.db_path) as db:
        rows = db.execute("select actor, action, subject, device from audit_log where action like 'letter.%'").fetchall()
    assert ("bu-kasi", "letter.status", f"request {rid}", "web") in rows
    assert ("bu-kasi", "letter.print", f"request {rid}", "web 10.0.0.7") in rows
    # A website login cannot request on the kiosk's channel; a kiosk login cannot read requests.
    web = TestClient(office.broker.url, office.office_id, "web-1", "web").start()
    kiosk = TestClient(office.broker.url, office.office_id, "kiosk-1", "kiosk").start()
    try:
        assert web.error("letter_request", type="domisili", fields=domisili(), channel="kiosk") == "forbidden"
        assert kiosk.error("letter_request", type="domisili", fields=domisili(), channel="web") == "forbidden"
        assert kiosk.error("letter_get", request=rid, **st['kasi']) == "forbidden"
        assert kiosk.ok("letter_request", type="domisili", fields=domisili(), channel="kiosk")["channel"] == "kiosk"
    finally:
        web.stop()
        kiosk.stop()
    for state in c.states:
        assert HOLDER not in json.dumps(state) and NIK_F not in json.dumps(state)
    for _, e in c.events:
        assert HOLDER not in json.dumps(e) and NIK_F not in json.dumps(e) and r["code"] not in json.dumps(e)
    log = office.service.output()
    assert HOLDER not in log and NIK_F not in log and "Cikoneng" not in log and r["code"] not in log
    with sqlite3.connect(office.db_path) as db:
        logged = " ".join(x for (x,) in db.execute("select reply from requests"))
    assert HOLDER not in logged and NIK_F not in logged   # the request log (kept a week) holds no personal data


def test_a_ready_letter_gets_a_pickup_ticket_at_the_kiosk_and_the_counter_sees_whose(tmp_path, broker):
    office = start_office(tmp_path, broker, extra='[letters]\npickup_service = "surat"\n')
    kiosk = TestClient(office.broker.url, office.office_id, "kiosk-1", "kiosk").start()
    web = TestClient(office.broker.url, office.office_id, "web-1", "web").start()
    try:
        c = office.client
        st = sign_in_staff(c.ok)
        code = c.ok("letter_request", type="domisili", fields=domisili(), channel="web")["code"]
        rid = next(i["id"] for i in c.ok("letter_list", **st["kasi"])["items"] if i["code"] == code)
        assert kiosk.error("letter_pickup", code=code) == "letter_not_ready"
        c.ok("letter_assign_number", request=rid, **st["kasi"])
        c.ok("letter_set_status", request=rid, status="menunggu_ttd", **st["kasi"])
        c.ok("letter_set_status", request=rid, status="siap_diambil", **st["penandatangan"])
        ticket = kiosk.ok("letter_pickup", code=code)
        assert ticket["service"] == "surat" and ticket["number"].startswith("B-") and ticket["channel"] == "kiosk"
        assert ticket["letter"]["type_name"] == "Surat Keterangan Domisili"
        assert ticket["letter"]["number"].startswith("474.4/001/2001/")
        assert kiosk.error("letter_pickup", code=code) == "pickup_taken"          # one a day
        assert kiosk.error("letter_pickup", code=code, channel="web") == "forbidden"
        assert web.error("letter_pickup", code=code) == "forbidden"              # the kiosk's, not the website's
        # The counter calls it like any ticket; the work list says whose letter the ticket is for.
        assert c.ok("call_next", counter="loket-3")["number"] == ticket["number"]
        item = next(i for i in c.ok("letter_list", status="siap_diambil", **st["petugas"])["items"] if i["id"] == rid)
        assert item["pickup_ticket"] == ticket["number"] and item["masked_name"] == "S*** A*****"
        c.ok("letter_set_status", request=rid, status="sudah_diambil", **st["petugas"])
        assert kiosk.error("letter_pickup", code=code) == "letter_collected"
        # Guessing codes at the kiosk: five unknown codes, then that kiosk must wait.
        for _ in range(5):
            assert kiosk.error("letter_pickup", code=new_tracking_code()) == "letter_not_found"
        assert kiosk.error("letter_pickup", code=new_tracking_code()) == "too_many_attempts"
        assert kiosk.error("letter_pickup", code="123456789012") == "invalid_argument"   # the check digit
    finally:
        kiosk.stop()
        web.stop()
        office.client.stop()
        office.service.stop()


def test_statistics_of_letters_per_type_and_processing_times_in_the_report(tmp_path):
    from sqlalchemy.orm import Session

    from antre.reports.pdf import render_pdf
    from antre.reports.stats import build_report
    from antre.reports.tables import build_tables, csv_text
    from antre.storage import open_readonly

    q, clock, run, error, st = rules_office(tmp_path)
    cfg = q.cfg

    def request(kind="domisili"):
        fields = domisili() if kind == "domisili" else {"nama": HOLDER, "nik": NIK_F, "alamat": "x", "barang": "KTP",
                                                       "tanggal_hilang": "2026-12-01", "lokasi_hilang": "pasar"}
        code = run("letter_request", type=kind, fields=fields, channel="web")["code"]
        return next(i["id"] for i in run("letter_list", **st["kasi"])["items"] if i["code"] == code)

    def sign(rid):
        run("letter_assign_number", request=rid, **st["kasi"])
        run("letter_set_status", request=rid, status="menunggu_ttd", **st["kasi"])
        run("letter_set_status", request=rid, status="siap_diambil", **st["penandatangan"])

    run("issue_ticket", service="surat")
    a, b, c = request(), request(), request("kehilangan")
    clock.advance(hours=6)
    sign(a)                                   # a quarter of a day, on time
    run("letter_cancel", code=next(i["code"] for i in run("letter_list", **st["kasi"])["items"] if i["id"] == c))
    clock.advance(days=3)                     # b: due the next working day, signed 3 days later
    st.update(sign_in_again(run))
    sign(b)
    run("letter_set_status", request=b, status="sudah_diambil", **st["petugas"])
    request()                                 # made after the period: not counted
    engine = open_readonly(f"sqlite:///{tmp_path}/a.db")
    try:
        with Session(engine) as s:
            report = build_report(s, date(2026, 12, 7), date(2026, 12, 7), tz=cfg.office.tz, office_name="Desa",
                                  letter_names={t.code: t.name for t in cfg.letters.types},
                                  now=datetime(2026, 12, 10, 8, tzinfo=timezone.utc))
    finally:
        engine.dispose()
    dom, lost = report.letters["domisili"], report.letters["kehilangan"]
    assert (dom.requested, dom.signed, dom.collected, dom.cancelled, dom.open, dom.late) == (2, 2, 1, 0, 0, 1)
    assert dom.days == [0.25, 3.25] and dom.mean_days == 1.75 and dom.p90_days == 3.25
    assert (lost.requested, lost.cancelled, lost.signed) == (1, 1, 0)
    table = next(t for t in build_tables(report) if t.name == "letters")
    assert table.rows[0][:8] == ["domisili", "Surat Keterangan Domisili", 2, 2, 1, 0, 0, 1]
    assert "days_mean" in csv_text(table).splitlines()[0]
    pdf = render_pdf(report, place="Sukamaju", signed_on=date(2026, 12, 10))
    (tmp_path / "report.pdf").write_bytes(pdf)   # (to look at)
    from pypdf import PdfReader
    import io
    text = " ".join(" ".join((p.extract_text() or "") for p in PdfReader(io.BytesIO(pdf)).pages).split())
    assert "Surat keterangan per jenis" in text and "Surat Keterangan Domisili" in text and "Siti" not in text


def test_sms_news_of_a_request_for_a_resident_who_asked(tmp_path):
    toml = f'[notify]\nsms = true\nspool = "{tmp_path}/spool"\n[web]\npublic_url = "https://sukamaju.desa.id"\n'
    q, clock, run, error, st = rules_office(tmp_path, toml)
    phone = "081234567890"
    code = run("letter_request", type="domisili", fields=domisili(), channel="web", phone=phone)["code"]
    quiet = run("letter_request", type="domisili", fields=domisili(), channel="web")["code"]   # did not ask
    items = {i["code"]: i["id"] for i in run("letter_list", **st["kasi"])["items"]}
    for c in (code, quiet):
        rid = items[c]
        run("letter_set_status", request=rid, status="belum_lengkap", reason="KK belum dilampirkan", **st["kasi"])
        run("letter_set_status", request=rid, status="diperiksa", **st["kasi"])
        run("letter_set_status", request=rid, status="belum_lengkap", reason="Pengantar RT belum ada", **st["kasi"])
        run("letter_set_status", request=rid, status="diperiksa", **st["kasi"])
        run("letter_assign_number", request=rid, **st["kasi"])
        run("letter_set_status", request=rid, status="menunggu_ttd", **st["kasi"])
        run("letter_set_status", request=rid, status="siap_diambil", **st["penandatangan"])
    with sqlite3.connect(tmp_path / "a.db") as db:
        rows = db.execute("select kind, phone, body, state from outbox order by id").fetchall()
    assert [r[0] for r in rows] == ["letter_belum_lengkap", "letter_belum_lengkap", "letter_siap_diambil"]
    assert all(r[1] == phone and r[3] == "pending" for r in rows)
    assert "KK belum dilampirkan" in rows[0][2] and f"https://sukamaju.desa.id/surat/status/{code}" in rows[0][2]
    assert "Pengantar RT belum ada" in rows[1][2]
    shown = f"{code[:4]}-{code[4:8]}-{code[8:]}"
    assert "siap diambil" in rows[2][2] and shown in rows[2][2] and HOLDER not in rows[2][2]
