"""The letter catalogue of a real office (20-30 types: domisili, usaha, SKTM, pengantar nikah, kelahiran, kematian,
pindah, ahli waris, ...) with every type's purpose and requirements filled to the longest the kasi may type.
``letter_catalogue`` answered all the kasi's changes in one reply: past about a dozen full types it was over the
broker's packet limit, the service answered ``reply_too_large``, and the website and the console showed the
configuration instead (a type the kasi switched off was offered again). Now it comes in pages, and both readers
fetch every page. A real ``antre serve`` on SQLite, a real broker and ``antre web``."""

from __future__ import annotations

import html

import pytest

from antre.link.protocol import encode, ok_reply
from antre.service.server import MAX_REPLY_BYTES
from tests.support import TestClient, free_port
from tests.test_console_letters import http_sign_in
from tests.test_letters import sign_in_staff
from tests.test_web import Http, WebProcess, office_toml, start_noon_office

TYPES = 40
NAMES = ["domisili", "usaha", "sktm", "pengantar-nikah", "kelahiran", "kematian", "pindah", "ahli-waris", "kehilangan",
         "penghasilan", "belum-menikah", "janda-duda"]


def codes() -> list[str]:
    return [NAMES[i] if i < len(NAMES) else f"keterangan-{i:02d}" for i in range(TYPES)]


def catalogue_toml() -> str:
    return "".join(f'\n[[letters.types]]\ncode = "{code}"\nname = "Surat Keterangan {code.replace("-", " ").title()}"\n'
                   f'purpose = "Keperluan umum."\nrequirements = ["KTP"]\n'
                   f'fields = [{{name = "nama", label = "Nama", type = "name"}}, {{name = "nik", label = "NIK", type = "nik"}}]\n'
                   for code in codes())


def purpose(i: int) -> str:
    """500 characters, the most the kasi may type, with multi-byte letters and an emoji (4 bytes in UTF-8)."""
    text = f"Tujuan{i:02d}: surat ini menerangkan keperluan warga — dipakai untuk bank, sekolah, café 🏠. " * 10
    return text[:500]


def requirements(i: int) -> list[str]:
    """20 texts of 200 characters: the most the kasi may keep, within one command's 8 192 bytes."""
    line = "Fotokopi KTP dan Kartu Keluarga yang masih berlaku, surat pengantar RT/RW bermeterai dan stempel, " * 3
    return [f"{i:02d}.{n:02d} {line}"[:200] for n in range(20)]


@pytest.fixture(scope="module")
def site(tmp_path_factory, broker):
    tmp = tmp_path_factory.mktemp("letter-catalogue")
    port = free_port()
    office = start_noon_office(tmp, broker, office_toml(
        f'port = {port}\nhost = "127.0.0.1"\npublic_url = "http://127.0.0.1:{port}"') + catalogue_toml())
    web = WebProcess(office.config_path, port, tmp / "web.log")
    web.wait_ready()
    office.web = web
    office.staff = sign_in_staff(office.client.ok)
    yield office
    web.stop()
    office.client.stop()
    office.service.stop()


def pages(client, **first) -> list[dict]:
    """Every page of ``letter_catalogue``, each asked with ``first`` (``forms``) and the previous page's ``next``."""
    out, args = [], dict(first)
    while True:
        reply = client.request("letter_catalogue", **args)
        assert reply.ok, f"{reply.code}: {reply.message}"
        assert len(encode(ok_reply("x" * 64, reply.result))) <= MAX_REPLY_BYTES
        out.append(reply.result)
        if reply.result["next"] is None:
            return out
        args = dict(first, after=reply.result["next"])


def test_forty_full_letter_types_reach_residents_and_the_console(site):
    c = site.client
    kasi = site.staff["kasi"]["session"]
    for i, code in enumerate(codes()):
        c.ok("letter_type_update", type=code, purpose=purpose(i), requirements=requirements(i), days=60,
             cost=10_000_000, session=kasi)
    off = codes()[-1]   # the last type, on the last page: switched off by the kasi
    c.ok("letter_type_update", type=off, active=False, session=kasi)
    got = pages(c)
    assert len(got) > 1
    merged = {code: o for page in got for code, o in page["overrides"].items()}
    assert list(merged) == codes()   # every type once, in the catalogue's order
    for i, code in enumerate(codes()):
        assert merged[code]["purpose"] == purpose(i) and merged[code]["requirements"] == requirements(i)
        assert merged[code]["days"] == 60 and merged[code]["cost"] == 10_000_000
    assert merged[off]["active"] is False
    assert c.error("letter_catalogue", after="no-such-type") == "invalid_argument"
    # The residents' catalogue: every active type as the kasi wrote it, the switched-off one gone.
    page = Http(site.web.url).get("/surat")
    assert page.status == 200
    text = html.unescape(page.text)
    for i, code in enumerate(codes()[:-1]):
        assert f"Tujuan{i:02d}:" in text, code
    assert f"Tujuan{TYPES - 1:02d}:" not in text and Http(site.web.url).get(f"/surat/ajukan/{off}").status == 404
    # The console's catalogue page shows the kasi's changes (it asked with the person's session, which this
    # public command does not take: refused, and the page showed the configuration).
    console = html.unescape(http_sign_in(site, "bu-kasi").get("/staf/surat/jenis").text)
    for i in range(TYPES):
        assert f"Tujuan{i:02d}:" in console


def test_a_type_with_the_widest_characters_still_fits_a_page(site):
    """Characters JSON writes longest: control characters (6 bytes each, ``\\u0001``) in the purpose and 4-byte
    letters in the requirements, as many as one command carries. One type is always under a page."""
    c = site.client
    kasi = site.staff["kasi"]["session"]
    code = codes()[0]
    c.ok("letter_type_update", type=code, purpose="\x01" * 500, session=kasi)
    c.ok("letter_type_update", type=code, requirements=["🏠" * 98] * 20, session=kasi)   # 7 840 bytes of letters
    first = c.ok("letter_catalogue")
    assert first["overrides"][code]["purpose"] == "\x01" * 500 and first["next"] is not None
    assert {k for p in pages(c) for k in p["overrides"]} == set(codes())


def test_a_kiosk_reads_the_forms_as_the_kasi_left_them(site):
    """A kiosk's "Ajukan surat" asks the office's catalogue (``forms``): every active type with the kasi's
    purpose and requirements and its form's fields, in pages; a type the kasi switched off is not offered;
    nothing of the letters' numbering or template."""
    c = site.client
    kasi = site.staff["kasi"]["session"]
    for i, code in enumerate(codes()):
        c.ok("letter_type_update", type=code, active=True, purpose=purpose(i), requirements=requirements(i),
             days=3, cost=0, session=kasi)
    off = codes()[5]
    c.ok("letter_type_update", type=off, active=False, session=kasi)
    kiosk = TestClient(site.broker.url, site.office_id, "kiosk-1", "kiosk").start()
    try:
        got = pages(kiosk, forms=True)
        assert len(got) > 1
        forms = [t for page in got for t in page["types"]]
        assert [t["code"] for t in forms] == [code for code in codes() if code != off]
        for t in forms:
            i = codes().index(t["code"])
            assert t["purpose"] == purpose(i) and t["requirements"] == requirements(i) and t["days"] == 3
            assert [(f["name"], f["type"], f["required"]) for f in t["fields"]] == [
                ("nama", "name", True), ("nik", "nik", True)]
            assert set(t) == {"code", "name", "name_en", "purpose", "requirements", "days", "cost", "fields"}
        assert kiosk.error("letter_catalogue", forms="yes") == "invalid_argument"
        assert kiosk.error("letter_catalogue", forms=True, after="no-such-type") == "invalid_argument"
        # Switched on again: offered again, in its place.
        c.ok("letter_type_update", type=off, active=True, session=kasi)
        assert [t["code"] for page in pages(kiosk, forms=True) for t in page["types"]] == codes()
    finally:
        kiosk.stop()
