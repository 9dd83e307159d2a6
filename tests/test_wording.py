"""Dates and times as residents and staff read them (antre/wording.py), in one place for every part."""

from datetime import date, datetime, timedelta, timezone

from antre import wording
from antre_display.board import format_clock, format_date
from antre_kiosk import texts as kiosk_texts
from antre_kiosk.ticket import format_datetime
from antre.reports.tables import tanggal
from antre_web import texts as web_texts

WIB, WITA = timezone(timedelta(hours=7)), timezone(timedelta(hours=8))


def test_indonesian_dates_and_times_without_system_locales():
    assert wording.long_date(date(2027, 1, 1)) == "Jumat, 1 Januari 2027"
    assert wording.long_date(date(2026, 8, 17), "en") == "Monday, 17 August 2026"
    assert wording.long_date(date(2026, 8, 17), "jv") == "Senin, 17 Agustus 2026"      # unknown: Indonesian
    assert wording.clock_time(datetime(2026, 12, 4, 8, 5)) == "08.05"                   # EYD: a period
    assert wording.clock_time(datetime(2026, 12, 4, 8, 5), "en") == "08:05"
    assert wording.long_datetime(datetime(2026, 11, 30, 13, 2)) == "Senin, 30 November 2026 13.02"
    # In the office's own time zone: 23.30 UTC on the 3rd is already the 4th in WIB and WITA.
    late = datetime(2026, 12, 3, 23, 30, tzinfo=timezone.utc)
    assert wording.say_when(late, WIB) == "4 Desember 2026 06.30"
    assert wording.say_when(late, WITA) == "4 Desember 2026 07.30"


def test_every_part_says_a_date_the_same_way():
    d = datetime(2026, 12, 31, 9, 45)
    assert format_date(d) == kiosk_texts.long_date(d) == web_texts.long_date(d) == "Kamis, 31 Desember 2026"
    assert web_texts.long_date(d, "en") == kiosk_texts.long_date(d, "en") == "Thursday, 31 December 2026"
    assert format_datetime(d, "id") == "Kamis, 31 Desember 2026 09.45" and format_clock(d) == "09.45"
    assert tanggal(d.date()) == "31 Desember 2026"


def test_pages_that_update_themselves_say_so_in_one_wording():
    """Ticket, booking, letter, complaint, question and /urusan pages: one sentence, not four variants."""
    from antre_web import complaints_texts, faq, follow_texts, letters as letters_texts, texts as web_texts

    said = {"ticket": web_texts.text("live", "id"), "letter": letters_texts.lt("live", "id"),
            "complaint": complaints_texts.ct("live", "id"), "booking": follow_texts.ft("bk_updated", "id"),
            "question": faq.ft("live", "id")}
    assert set(said.values()) == {"Halaman ini diperbarui otomatis."}, said
    assert follow_texts.ft("my_until", "id", time="10.30").endswith(" Halaman ini diperbarui otomatis.")
    english = {web_texts.text("live", "en"), letters_texts.lt("live", "en"), complaints_texts.ct("live", "en"),
               follow_texts.ft("bk_updated", "en"), faq.ft("live", "en")}
    assert english == {"This page updates automatically."}
