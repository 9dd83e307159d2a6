"""The printed ticket: layout, exact ESC/POS bytes, the preview PNG, and printing
through real transports (a TCP socket standing in for a network printer, files,
a FIFO that stops reading). No mocks: python-escpos ``Dummy`` records the bytes."""

from __future__ import annotations

import dataclasses
import os
import random
import socket
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest

pytest.importorskip("escpos")
PIL_Image = pytest.importorskip("PIL.Image")

from escpos.printer import Dummy  # noqa: E402

from antre import config  # noqa: E402
from antre_kiosk import ticket  # noqa: E402
from antre_kiosk.config import KioskConfig  # noqa: E402
from antre_kiosk.printer import PrinterError, PrintResult, TicketPrinter, open_printer, parse_url  # noqa: E402

WAIT = 60.0  # generous deadline for conditions; never a measured duration

RESULT = {
    "number": "A-012", "service": "adminduk", "service_name": "Administrasi Kependudukan (KTP/KK)",
    "issued_at": "2026-11-30T01:02:03+00:00", "business_date": "2026-11-30", "priority": None,
    "channel": "kiosk", "ahead": 3, "estimated_wait_minutes": 15,
}

DLE_EOT_PAPER = b"\x10\x04\x04"


@pytest.fixture
def cfg() -> config.Config:
    return config.load_defaults()


@pytest.fixture
def info(cfg) -> ticket.TicketInfo:
    return ticket.TicketInfo.from_result(RESULT, requirements=cfg.service("adminduk").requirements)


def texts(blocks) -> list[str]:
    return [line for b in blocks if isinstance(b, ticket.Text) for line in b.lines]


def dummy_bytes(blocks, paper_width=80, profile=None) -> bytes:
    p = Dummy(profile=profile)
    ticket.print_ticket(p, blocks, paper_width=paper_width)
    return p.output


# --------------------------------------------------------------------------
# TicketInfo and layout.
# --------------------------------------------------------------------------

def test_ticket_info_from_reply_result(info):
    assert info.number == "A-012"
    assert info.issued_at == datetime(2026, 11, 30, 1, 2, 3, tzinfo=timezone.utc)
    assert info.business_date.isoformat() == "2026-11-30"
    assert info.priority is None and info.ahead == 3 and info.estimated_wait_minutes == 15
    assert info.requirements == ("KTP asli", "Kartu Keluarga (KK) asli", "Surat pengantar RT/RW")


@pytest.mark.parametrize("change, words", [
    ({"number": None}, "'number'"),
    ({"issued_at": "yesterday"}, "bad date"),
    ({"issued_at": "2026-11-30T01:02:03"}, "UTC offset"),
    ({"priority": "vip"}, "'priority'"),
    ({"ahead": -1}, "'ahead'"),
    ({"estimated_wait_minutes": "15"}, "'estimated_wait_minutes'"),
])
def test_ticket_info_rejects_malformed_results(change, words):
    with pytest.raises(ValueError, match=words):
        ticket.TicketInfo.from_result({**RESULT, **change})


def test_layout_says_what_a_resident_needs(info, cfg):
    blocks = ticket.layout(info, cfg.office, paper_width=80)
    lines = texts(blocks)
    assert "Kantor Desa Sukamaju" in lines
    assert "A-012" in lines
    assert "Administrasi Kependudukan (KTP/KK)" in lines
    assert "Senin, 30 November 2026 08.02" in lines  # 01:02 UTC is 08.02 in Asia/Jakarta
    assert "Antrean di depan Anda: 3 orang" in lines
    assert "Perkiraan waktu tunggu: \u00b1 15 menit" in lines
    assert any(line.startswith("Siapkan: KTP asli") for line in lines)
    assert " ".join(lines).count("Terima kasih, silakan menunggu nomor Anda dipanggil.") == 1
    qr = [b for b in blocks if isinstance(b, ticket.QR)]
    assert [q.payload for q in qr] == ["ANTRE|sukamaju|2026-11-30|A-012"]
    assert isinstance(blocks[-1], ticket.Cut)
    assert not any(isinstance(b, ticket.Image) for b in blocks)  # the sample office has no logo
    number = next(b for b in blocks if isinstance(b, ticket.Text) and b.text == "A-012")
    assert (number.width, number.height) == (8, 8)


def test_layout_in_english_and_other_time_zone(cfg):
    office = config.OfficeConfig(name="Kantor Desa Waena", timezone="Asia/Jayapura", address="")
    info = ticket.TicketInfo.from_result({**RESULT, "priority": "ibu_hamil", "ahead": 0,
                                          "estimated_wait_minutes": 0.4},
                                         service_name_en="Population records")
    lines = texts(ticket.layout(info, office, paper_width=58, lang="en"))
    assert "Monday, 30 November 2026 10:02" in lines
    assert "Population records" in lines
    assert " PRIORITY: PREGNANT " in lines
    assert "Nobody is ahead of you." in lines
    assert "Estimated wait: under 1 minute" in lines


def test_priority_label_is_inverted(info, cfg):
    import dataclasses
    blocks = ticket.layout(dataclasses.replace(info, priority="lansia"), cfg.office)
    label = [b for b in blocks if isinstance(b, ticket.Text) and "LANSIA" in b.text]
    assert [(b.text, b.invert) for b in label] == [(" PRIORITAS: LANSIA ", True)]


@pytest.mark.parametrize("paper_width, columns", [(80, 48), (58, 32)])
def test_every_line_fits_the_paper(cfg, paper_width, columns):
    office = config.OfficeConfig(
        name="Kantor Desa Sukamaju Kecamatan Cibiru Kabupaten Bandung Provinsi Jawa Barat",
        address="Jalan Raya Sukamaju Nomor 1 RT 01 RW 02, Kecamatan Cibiru, Kabupaten Bandung, Jawa Barat 40614")
    info = ticket.TicketInfo.from_result(
        {**RESULT, "number": "A-000123", "priority": "disabilitas",
         "service_name": "Pelayanan Administrasi Kependudukan dan Pencatatan Sipil (KTP-el, KK, Akta)"},
        requirements=["KTP asli", "Kartu Keluarga asli", "Surat pengantar RT/RW", "Akta kelahiran",
                      "Pas foto 3x4 dua lembar", "Materai 10.000"])
    blocks = ticket.layout(info, office, paper_width=paper_width)
    for b in blocks:
        if isinstance(b, ticket.Text):
            for line in b.lines:
                assert len(line) * b.width <= columns, (line, b.width)
    number = next(b for b in blocks if isinstance(b, ticket.Text) and b.text == "A-000123")
    assert len("A-000123") * 12 * number.width <= ticket.PAPER_DOTS[paper_width]
    assert number.height == 8


# --------------------------------------------------------------------------
# Exact bytes.
# --------------------------------------------------------------------------

NORMAL = b"\x1d!\x00\x1bE\x00\x1ba\x01\x1dB\x00"      # size 1x1, not bold, centred, not inverted
BOLD = b"\x1d!\x00\x1bE\x01\x1ba\x01\x1dB\x00"
RULE_80 = b"\xc4" * 48 + b"\n"                        # CP437 box-drawing line
EXPECTED_80 = (
    b"\x1b@"                                          # ESC @: reset
    b"\x1d!\x11\x1bE\x01\x1ba\x01\x1dB\x00"           # 2x2, bold, centred
    b"\x1bt\x00"                                      # code page 437
    b"Kantor Desa Sukamaju\n"
    + NORMAL + b"Jl. Raya Sukamaju No. 1, Kecamatan Cibiru,\nKabupaten Bandung\n"
    + NORMAL + RULE_80
    + BOLD + b"NOMOR ANTREAN\n"
    + b"\x1d!\x77\x1bE\x01\x1ba\x01\x1dB\x00"         # GS ! 0x77: 8x wide, 8x high
    + b"A-012\n"
    + b"\x1d!\x01\x1bE\x01\x1ba\x01\x1dB\x00"         # double height, bold
    + b"Administrasi Kependudukan (KTP/KK)\n"
    + b"\n"                                           # feed
    + NORMAL + b"Senin, 30 November 2026 08.02\n"
    + NORMAL + RULE_80
    + NORMAL + b"Antrean di depan Anda: 3 orang\n"
    + NORMAL + b"Perkiraan waktu tunggu: \xf1 15 menit\n"   # 0xF1 is CP437's plus-minus
    + NORMAL + b"Siapkan: KTP asli, Kartu Keluarga (KK) asli,\nSurat pengantar RT/RW\n"
    + b"\n"                                           # feed
    + NORMAL                                          # QR: centred, normal size
    + b"\x1d(k\x04\x001A2\x00"                        # model 2
    + b"\x1d(k\x03\x001C\x06"                         # module 6 dots
    + b"\x1d(k\x03\x001E1"                            # error correction M
    + b"\x1d(k\x22\x001P0ANTRE|sukamaju|2026-11-30|A-012"
    + b"\x1d(k\x03\x001Q0\n"                          # print it
    + NORMAL + b"Terima kasih, silakan menunggu nomor Anda\ndipanggil.\n"
    + b"\x1d!\x00\x1bE\x00\x1ba\x00\x1dB\x00"         # back to left, normal
    + b"\x1bd\x06"                                    # feed 6 lines
    + b"\x1dV\x00"                                    # full cut
)


def test_exact_bytes_for_a_known_ticket(info, cfg):
    blocks = ticket.layout(info, cfg.office, paper_width=80)
    assert dummy_bytes(blocks) == EXPECTED_80
    assert ticket.ticket_bytes(blocks, paper_width=80) == EXPECTED_80


# The same ticket with the service's rating code: a bold line before the QR code, which carries it too.
_QR_80 = b"\x1d(k\x22\x001P0ANTRE|sukamaju|2026-11-30|A-012"
EXPECTED_80_CODE = (
    EXPECTED_80[:EXPECTED_80.index(b"Surat pengantar RT/RW\n") + 22]     # up to the documents to bring
    + b"\n"                                                              # feed
    + BOLD + b"Kode penilaian layanan: 0387\n"
    + b"\n"                                                              # feed
    + NORMAL
    + b"\x1d(k\x04\x001A2\x00" + b"\x1d(k\x03\x001C\x06" + b"\x1d(k\x03\x001E1"
    + b"\x1d(k\x27\x001P0ANTRE|sukamaju|2026-11-30|A-012|0387"             # 39 bytes of data + 3
    + EXPECTED_80[EXPECTED_80.index(_QR_80) + len(_QR_80):]
)


def test_exact_bytes_for_a_ticket_with_its_rating_code(cfg):
    info = ticket.TicketInfo.from_result({**RESULT, "rating_code": "0387"},
                                         requirements=cfg.service("adminduk").requirements)
    assert info.rating_code == "0387"
    blocks = ticket.layout(info, cfg.office, paper_width=80)
    assert dummy_bytes(blocks) == EXPECTED_80_CODE
    assert ticket.ticket_bytes(blocks, paper_width=80) == EXPECTED_80_CODE
    en = texts(ticket.layout(info, cfg.office, paper_width=58, lang="en"))
    assert "Service rating code: 0387" in en
    for bad in ("387", "03870", "abcd", 387, "\u0663\u0668\u0667\u0660"):
        with pytest.raises(ValueError, match="'rating_code'"):
            ticket.TicketInfo.from_result({**RESULT, "rating_code": bad})
    assert ticket.status_url("https://desa.example/", info.business_date, "A-012", "0387") == \
        "https://desa.example/status/2026-11-30/A-012?kode=0387"


@pytest.mark.parametrize("paper_width, size_byte", [(80, 0x77), (58, 0x57)])
def test_number_big_qr_present_cut_at_end(info, cfg, paper_width, size_byte):
    data = dummy_bytes(ticket.layout(info, cfg.office, paper_width=paper_width), paper_width)
    assert data.startswith(b"\x1b@")
    big = b"\x1d!" + bytes([size_byte])
    assert big in data and data.index(b"A-012\n") > data.index(big)
    # Nothing resets the size between the size command and the number.
    assert b"\x1d!" not in data[data.index(big) + 3:data.index(b"A-012\n")]
    assert b"\x1d(k\x22\x001P0ANTRE|sukamaju|2026-11-30|A-012" in data
    assert data.endswith(b"\x1dV\x00")


def test_text_outside_the_code_page_does_not_crash(info, capsys):
    office = config.OfficeConfig(name="Kantor Desa Cikoneng \u2013 Caf\u00e9 \u201cBersih\u201d",
                                 address="Jl. \u0158\u00edha\u2026 \u4e2d")
    blocks = ticket.layout(info, office, paper_width=58)
    data = dummy_bytes(blocks, 58)
    assert b"Kantor Desa Cikoneng - Caf\x82" in data           # dash to ASCII, e-acute kept (CP437 0x82)
    assert b'"Bersih"' in data
    assert b"Jl. R\xa1ha... ?" in data                          # R-caron loses its caron, CJK becomes ?
    # A hand-made block with raw Unicode goes through the same filter.
    p = Dummy()
    ticket.print_ticket(p, [ticket.Text("\u2014 \u0107 \U0001F600")])
    assert b"- c ?\n" in p.output
    assert capsys.readouterr().out == ""


def test_profile_without_native_qr_gets_an_image(info, cfg, capsys):
    data = dummy_bytes(ticket.layout(info, cfg.office, paper_width=58), 58, profile="POS-5890")
    assert b"\x1d(k" not in data
    assert b"\x1dv0" in data                # GS v 0 raster image
    assert b"\x1dV" not in data             # this printer has no cutter: only the feed
    assert data.endswith(b"\x1bd\x06")
    assert capsys.readouterr().out == ""


def make_logo(path: Path) -> Path:
    from PIL import ImageDraw
    img = PIL_Image.new("RGBA", (400, 400), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.ellipse((10, 10, 390, 390), fill=(20, 90, 40, 255))
    d.rectangle((150, 120, 250, 300), fill=(250, 200, 0, 255))
    img.save(path)
    return path


def test_logo_is_printed_centred_and_a_missing_logo_is_skipped(info, tmp_path, capsys):
    logo = make_logo(tmp_path / "logo.png")
    office = config.OfficeConfig(logo=str(logo))
    blocks = ticket.layout(info, office, paper_width=80)
    assert blocks[0] == ticket.Image(str(logo), max_width=384, max_height=120)
    data = dummy_bytes(blocks)
    # 120 x 120 logo centred on 576 dots: GS v 0, 72 bytes a row, 120 rows.
    assert b"\x1dv0\x00\x48\x00\x78\x00" in data
    assert capsys.readouterr().out == ""

    missing = config.OfficeConfig(logo=str(tmp_path / "nope.png"))
    data = dummy_bytes(ticket.layout(info, missing, paper_width=80))
    assert b"\x1dv0" not in data and b"A-012\n" in data


# --------------------------------------------------------------------------
# Preview PNG.
# --------------------------------------------------------------------------

@pytest.mark.parametrize("paper_width, pixels", [(80, 576), (58, 384)])
def test_preview_png_has_the_paper_width(cfg, tmp_path, paper_width, pixels):
    out = ticket.preview_ticket(tmp_path / f"t{paper_width}.png", cfg, paper_width=paper_width,
                                now=datetime(2026, 11, 30, 1, 2, 3, tzinfo=timezone.utc))
    img = PIL_Image.open(out)
    assert img.width == pixels
    assert 800 < img.height < 2000
    grey = img.convert("L")
    # The big number: a band of the picture that is heavily inked.
    rows = [sum(1 for x in range(pixels) if grey.getpixel((x, y)) < 128) for y in range(img.height)]
    assert max(rows) > pixels // 3
    assert grey.getpixel((0, img.height // 2)) == 255  # white paper


def test_preview_with_logo_and_priority_is_taller(info, tmp_path):
    import dataclasses
    office = config.OfficeConfig(logo=str(make_logo(tmp_path / "logo.png")))
    plain = ticket.render_image(ticket.layout(info, config.OfficeConfig()), 80)
    rich = ticket.render_image(ticket.layout(dataclasses.replace(info, priority="lansia"), office), 80)
    assert rich.height > plain.height + 120


# --------------------------------------------------------------------------
# Printing through real transports.
# --------------------------------------------------------------------------

class NetworkPrinterStandIn:
    """A raw-port printer on 127.0.0.1 that records each connection's bytes.

    It answers the paper-status query (DLE EOT 4) that opens a job with ``paper``
    (None: it stays silent, like printers without status), and the one that closes
    a job with ``paper_after`` (default: the same). ``read=False``: accepts, never
    reads. ``hang_after_status``: answers the first query, then stops reading.
    """

    def __init__(self, paper: int | None = 0x12, read: bool = True, paper_after: int | None = -1,
                 hang_after_status: bool = False):
        self.paper = paper
        self.paper_after = paper if paper_after == -1 else paper_after
        self.read = read
        self.hang_after_status = hang_after_status
        self.received: list[bytes] = []
        self.accepted = 0
        self.cond = threading.Condition()
        self.release = threading.Event()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if not read:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.url = f"tcp://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.cond:
                self.accepted += 1
                self.cond.notify_all()
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            if not self.read:
                self.release.wait(WAIT)
                return
            buf = b""
            answered = 0
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                buf += chunk
                if answered == 0 and buf.startswith(DLE_EOT_PAPER):
                    answered = 1
                    if self.paper is not None:
                        conn.sendall(bytes([self.paper]))
                    if self.hang_after_status:
                        self.release.wait(WAIT)
                        return
                elif answered == 1 and len(buf) > 3 and buf.endswith(DLE_EOT_PAPER):
                    answered = 2
                    if self.paper_after is not None:
                        conn.sendall(bytes([self.paper_after]))
            with self.cond:
                self.received.append(buf)
                self.cond.notify_all()

    def wait_received(self, n: int = 1) -> list[bytes]:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.received) >= n, WAIT)
            return list(self.received)

    def close(self) -> None:
        self.release.set()
        self.sock.close()


@pytest.fixture
def stand_in():
    servers: list[NetworkPrinterStandIn] = []

    def make(**kwargs) -> NetworkPrinterStandIn:
        servers.append(NetworkPrinterStandIn(**kwargs))
        return servers[-1]
    yield make
    for s in servers:
        s.close()


@pytest.fixture
def printers():
    made: list[TicketPrinter] = []

    def make(url: str, **kwargs) -> TicketPrinter:
        kwargs.setdefault("check_on_start", False)
        made.append(TicketPrinter(url, **kwargs))
        return made[-1]
    yield make
    for p in made:
        p.close(timeout=WAIT)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("paper_width", [80, 58])
def test_tcp_printer_receives_exactly_the_dummy_bytes(info, cfg, stand_in, printers, paper_width):
    server = stand_in()
    tp = printers(server.url, timeout=5.0, paper_width=paper_width)
    done: list[tuple[PrintResult, str]] = []
    result = tp.submit(info, cfg.office, on_done=lambda r: done.append((r, threading.current_thread().name)))
    result = result.result(WAIT)
    assert result == PrintResult(True, "ok", "", "A-012")
    assert done == [(result, "antre-printer")]
    (received,) = server.wait_received()
    # status query, the ticket, status query (the printer's receipt for the whole ticket)
    assert received == DLE_EOT_PAPER + dummy_bytes(ticket.layout(info, cfg.office, paper_width=paper_width),
                                                   paper_width) + DLE_EOT_PAPER
    assert tp.status == "ok" and tp.status_message == "Printer siap."
    assert result.resident_message() == "Silakan ambil tiket Anda."


def test_tcp_printer_out_of_paper_prints_nothing(info, cfg, stand_in, printers):
    server = stand_in(paper=0x72)
    tp = printers(server.url, timeout=5.0)
    result = tp.submit(info, cfg.office).result(WAIT)
    assert (result.ok, result.status, result.number) == (False, "paper_out", "A-012")
    assert result.message == "Kertas printer habis."
    assert result.resident_message() == "Tiket tidak dapat dicetak. Silakan catat nomor antrean Anda: A-012."
    assert server.wait_received() == [DLE_EOT_PAPER]
    assert tp.status == "paper_out"


def test_tcp_printer_near_end_still_prints(info, cfg, stand_in, printers):
    server = stand_in(paper=0x1E)
    tp = printers(server.url, timeout=5.0)
    result = tp.submit(info, cfg.office).result(WAIT)
    assert (result.ok, result.status) == (True, "paper_near_end")
    assert tp.status_message.startswith("Kertas printer hampir habis")
    assert server.wait_received()[0].endswith(b"\x1dV\x00" + DLE_EOT_PAPER)


def test_tcp_printer_that_never_answers_status_still_gets_the_ticket(info, cfg, stand_in, printers):
    server = stand_in(paper=None)
    tp = printers(server.url, timeout=5.0, status_timeout=0.2)
    assert tp.submit(info, cfg.office).result(WAIT).status == "ok"
    received = server.wait_received()[0]
    assert received.startswith(DLE_EOT_PAPER + b"\x1b@") and received.endswith(b"\x1dV\x00")


def test_status_check_on_start(stand_in, printers):
    server = stand_in(paper=0x72)
    tp = printers(server.url, timeout=5.0, check_on_start=True)
    assert tp.check().result(WAIT).status == "paper_out"
    assert tp.status == "paper_out"
    assert server.wait_received(2) == [DLE_EOT_PAPER, DLE_EOT_PAPER]


def test_connection_refused_is_offline(info, cfg, printers):
    tp = printers(f"tcp://127.0.0.1:{free_port()}", timeout=3.0)
    result = tp.submit(info, cfg.office).result(WAIT)
    assert (result.ok, result.status) == (False, "offline")
    assert "refused" in result.detail.lower()
    assert tp.status_message == "Printer tidak terhubung atau tidak menjawab."


def big_blocks(tmp_path: Path, rows: int = 4000) -> list[ticket.Block]:
    """A ticket far larger than any socket or pipe buffer: a 576 x ``rows`` noise picture."""
    rnd = random.Random(7)
    img = PIL_Image.frombytes("1", (576, rows), bytes(rnd.getrandbits(8) for _ in range(72 * rows)))
    path = tmp_path / "noise.png"
    img.save(path)
    return [ticket.Text("A-999", width=8, height=8), ticket.Image(str(path), 576, rows), ticket.Cut()]


def test_printer_that_stops_reading_fails_within_the_timeout(tmp_path, stand_in, printers):
    server = stand_in(read=False, paper=None)
    tp = printers(server.url, timeout=1.5, status_timeout=0.2)
    blocks = big_blocks(tmp_path)
    assert len(ticket.ticket_bytes(blocks)) > 250_000
    result = tp.submit_blocks(blocks, number="A-999").result(WAIT)
    # The stand-in still holds the connection open without reading (release not set):
    # the worker gave up on its own timeout, not because the peer went away.
    assert not server.release.is_set() and server.accepted == 1
    assert (result.ok, result.status, result.number) == (False, "offline", "A-999")
    assert "1.5 s" in result.detail or "timed out" in result.detail
    # The worker is free again: the next job runs (and fails the same way, promptly).
    assert tp.check().result(WAIT).status == "ok"  # a silent printer that accepts: nothing to send


def test_printer_that_answers_status_then_stops_reading_fails(info, cfg, stand_in, printers):
    # A small ticket fits in the socket buffers, so the send itself succeeds: only the
    # printer's missing receipt shows that it never took the ticket.
    server = stand_in(hang_after_status=True)
    tp = printers(server.url, timeout=1.5, status_timeout=0.2)
    result = tp.submit(info, cfg.office).result(WAIT)
    assert not server.release.is_set()
    assert (result.ok, result.status) == (False, "offline")
    assert "confirm" in result.detail or "no answer" in result.detail


def test_paper_running_out_during_the_ticket_fails(info, cfg, stand_in, printers):
    server = stand_in(paper=0x12, paper_after=0x72)
    tp = printers(server.url, timeout=5.0)
    result = tp.submit(info, cfg.office).result(WAIT)
    assert (result.ok, result.status) == (False, "paper_out")
    assert "while printing" in result.detail


def test_file_path_not_writable_is_offline(info, cfg, printers):
    tp = printers("file:///nonexistent/dir/lp0", timeout=2.0)
    result = tp.submit(info, cfg.office).result(WAIT)
    assert (result.ok, result.status) == (False, "offline")
    assert "/nonexistent/dir/lp0" in result.detail and "No such file" in result.detail


def test_file_printer_gets_the_dummy_bytes(info, cfg, tmp_path, printers):
    out = tmp_path / "lp0"
    tp = printers(f"file://{out}", timeout=2.0, paper_width=58)
    assert tp.submit(info, cfg.office).result(WAIT).status == "ok"
    assert out.read_bytes() == dummy_bytes(ticket.layout(info, cfg.office, paper_width=58), 58)


def test_device_that_stops_taking_data_times_out(tmp_path, printers):
    fifo = tmp_path / "lp0"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader that never reads
    try:
        tp = printers(f"file://{fifo}", timeout=1.0)
        result = tp.submit_blocks(big_blocks(tmp_path, rows=2000), number="A-999").result(WAIT)
        assert (result.ok, result.status) == (False, "offline")
        assert "did not take data" in result.detail or "no answer" in result.detail
    finally:
        os.close(reader)


def test_no_printer_is_disabled_and_answers_at_once(info, cfg, printers):
    tp = printers("none")
    got: list[PrintResult] = []
    result = tp.submit(info, cfg.office, on_done=got.append).result(0)
    assert got == [result]
    assert (result.ok, result.status) == (False, "disabled")
    assert tp.status == "disabled" and tp.status_message == "Printer tiket tidak dipasang."
    assert "A-012" in result.resident_message()
    assert "write down your number: A-012" in result.resident_message("en")


def test_from_config_and_a_failing_callback(info, cfg, stand_in):
    server = stand_in()
    kiosk_cfg = KioskConfig(printer=server.url, paper_width=58, print_timeout=5.0)
    tp = TicketPrinter.from_config(kiosk_cfg, check_on_start=False)
    try:
        assert tp.paper_width == 58 and tp.timeout == 5.0

        def broken(result):
            raise RuntimeError("app bug")
        assert tp.submit(info, cfg.office, on_done=broken).result(WAIT).ok
        assert tp.submit(info, cfg.office).result(WAIT).ok  # the worker survived
        assert len(server.wait_received(2)) == 2
    finally:
        tp.close(timeout=WAIT)


@pytest.mark.parametrize("url, status, words", [
    ("none", "disabled", "none"),
    ("ftp://x", "error", "unknown printer URL scheme"),
    ("lp0", "error", "must look like"),
    ("file://relative/lp0", "error", "absolute path"),
    ("cups://POS58", "error", "pycups"),
])
def test_open_printer_explains_bad_urls(url, status, words):
    try:
        import cups  # noqa: F401
        if url.startswith("cups"):
            pytest.skip("pycups is installed here")
    except ImportError:
        pass
    with pytest.raises(PrinterError, match=words) as err:
        open_printer(url, timeout=1.0)
    assert err.value.status == status


def test_bad_url_in_the_worker_is_an_error_not_a_crash(info, cfg, printers):
    tp = printers("lp0", timeout=2.0)
    result = tp.submit(info, cfg.office).result(WAIT)
    assert (result.ok, result.status) == (False, "error")
    assert "must look like" in result.detail
    assert tp.status_message == "Printer mengalami gangguan."


def test_parse_url():
    assert parse_url("tcp://10.0.0.5:9100") == ("tcp", "10.0.0.5:9100", {})
    assert parse_url("usb://0416:5011?profile=POS-5890") == ("usb", "0416:5011", {"profile": "POS-5890"})
    assert parse_url("file:///dev/usb/lp0") == ("file", "/dev/usb/lp0", {})
    assert parse_url("none") == ("none", "", {})


def test_profile_in_the_url_reaches_the_bytes(info, cfg, stand_in, printers):
    server = stand_in()
    tp = printers(server.url + "?profile=POS-5890", timeout=5.0, paper_width=58)
    assert tp.submit(info, cfg.office).result(WAIT).ok
    received = server.wait_received()[0]
    assert received == DLE_EOT_PAPER + dummy_bytes(ticket.layout(info, cfg.office, paper_width=58), 58,
                                                   profile="POS-5890") + DLE_EOT_PAPER
    assert b"\x1d(k" not in received


def test_preview_qr_says_what_the_printed_ticket_says(tmp_path):
    """Defect 10: with a public website, the preview's QR code is the ticket's status page, exactly as the
    kiosk prints it (not ``ANTRE|...``); without one both say ``ANTRE|...``."""
    import dataclasses

    from antre_kiosk import logic
    from antre_kiosk.flows.issuing import IssuingFlow

    for public_url in ("https://desa.example/antrean/", ""):
        base = config.load_defaults()
        cfg = base.replace(web=dataclasses.replace(base.web, public_url=public_url))
        when = datetime(2026, 11, 30, 1, 2, 3, tzinfo=timezone.utc)
        sample = ticket.sample_ticket(cfg, now=when)
        svc = cfg.services[0]
        row = logic.ServiceRow(svc.code, svc.name, svc.name_en, svc.prefix, 0, 0, False, tuple(svc.requirements))
        result = {"number": sample.number, "service": svc.code, "service_name": svc.name, "priority": None,
                  "channel": "kiosk", "state": "waiting", "issued_at": when.isoformat(),
                  "business_date": sample.business_date.isoformat(), "ahead": 3, "estimated_wait_minutes": 15,
                  "rating_code": ticket.SAMPLE_RATING_CODE}
        printed = IssuingFlow(None, public_url=public_url).ticket_info(result, row)   # what the kiosk prints

        def qr_of(info):
            return [b.payload for b in ticket.layout(info, cfg.office) if isinstance(b, ticket.QR)]
        assert qr_of(sample) == qr_of(printed)
        expected = (f"https://desa.example/antrean/status/2026-11-30/{sample.number}?kode=0387" if public_url
                    else f"ANTRE|{cfg.office.id}|2026-11-30|{sample.number}|0387")
        assert qr_of(printed) == [expected]
        # The preview PNG is drawn from exactly that ticket.
        out = ticket.preview_ticket(tmp_path / f"p{bool(public_url)}.png", cfg, now=when)
        again = ticket.render_png(ticket.layout(sample, cfg.office, lang=cfg.office.language),
                                  tmp_path / "again.png", cfg.kiosk.paper_width)
        assert out.read_bytes() == again.read_bytes()


def test_the_offices_whatsapp_prints_as_a_click_to_chat_qr_with_the_ticket_typed_in(info, cfg):
    """``[notify] whatsapp_number``: a second QR, ``https://wa.me/<number>?text=...`` with the ticket's number
    and day, under a line saying what it is; answered by a person, so no internet is needed at the office."""
    url = ticket.chat_url("6281234567890", cfg.office.name, info.business_date, info.number)
    assert url == ("https://wa.me/6281234567890?text=Halo%20Kantor%20Desa%20Sukamaju%2C%20saya%20ingin%20bertanya"
                   "%20tentang%20nomor%20antrean%20A-012%20tanggal%2030%20November%202026.")
    assert ticket.chat_url("", cfg.office.name, info.business_date, info.number) == ""
    plain = dummy_bytes(ticket.layout(info, cfg.office, paper_width=80))
    data = dummy_bytes(ticket.layout(dataclasses.replace(info, chat_url=url), cfg.office, paper_width=80))
    payload = url.encode()
    store = b"\x1d(k" + bytes([(len(payload) + 3) % 256, (len(payload) + 3) // 256]) + b"1P0" + payload
    assert store in data and store not in plain
    assert data.index(b"Ada pertanyaan? Pindai untuk chat") < data.index(store)
    assert data.index(b"ANTRE|sukamaju|2026-11-30|A-012") < data.index(store) < data.index(b"Terima kasih")
    assert b"\x1d(k\x03\x001C\x04" in data                                 # module size 4: the smaller code
    assert data.endswith(b"\x1dV\x00")
    # The status QR and everything above it print exactly as without the link.
    status_qr_printed = plain.index(b"\x1d(k\x03\x001Q0") + 8
    assert data.startswith(plain[:status_qr_printed])
    en = texts(ticket.layout(dataclasses.replace(info, chat_url=url), cfg.office, paper_width=58, lang="en"))
    assert "Questions? Scan to chat with the office on" in " ".join(en)


def test_the_kiosk_prints_the_chat_qr_when_the_office_gives_a_whatsapp_number():
    from antre_kiosk import logic
    from antre_kiosk.flows.issuing import IssuingFlow

    cfg = config.load_defaults()
    svc = cfg.services[0]
    row = logic.ServiceRow(svc.code, svc.name, svc.name_en, svc.prefix, 0, 0, False, tuple(svc.requirements))
    for number in ("6281234567890", ""):
        printed = IssuingFlow(None, whatsapp_number=number, office_name=cfg.office.name).ticket_info(RESULT, row)
        qrs = [b.payload for b in ticket.layout(printed, cfg.office) if isinstance(b, ticket.QR)]
        assert qrs[0] == "ANTRE|sukamaju|2026-11-30|A-012"
        assert qrs[1:] == ([f"https://wa.me/{number}?text=Halo%20Kantor%20Desa%20Sukamaju%2C%20saya%20ingin%20bertanya"
                            "%20tentang%20nomor%20antrean%20A-012%20tanggal%2030%20November%202026."] if number else [])
