"""Words of the pages that follow any code (``/cek``, a booking's page) and "Semua urusan saya" (``/urusan``):
Bahasa Indonesia first, English second."""

from __future__ import annotations

from typing import Any

TEXTS: dict[str, tuple[str, str]] = {
    # /cek: any code
    "cek_title": ("Cek status", "Check status"),
    "cek_label": ("Nomor antrean atau kode", "Queue number or code"),
    "cek_hint": ("Nomor antrean (A-012), kode janji (10 angka), kode surat (12 angka) atau kode laporan "
                 "(P-1234-5678-9012). Spasi dan tanda hubung boleh.",
                 "A queue number (A-012), a booking code (10 digits), a letter code (12 digits) or a report code "
                 "(P-1234-5678-9012). Spaces and dashes are fine."),
    "cek_unknown": ("Kode ini tidak kami kenali. Nomor antrean seperti A-012; kode janji 10 angka; kode surat 12 "
                    "angka; kode laporan diawali P. Periksa lagi kertas atau SMS Anda.",
                    "We do not recognise this code. A queue number looks like A-012; a booking code has 10 digits; "
                    "a letter code 12 digits; a report code starts with P. Please check your slip or SMS."),
    "cek_typo": ("Ada angka yang salah ketik: kode ini tidak mungkin benar. Periksa lagi setiap angkanya.",
                 "A digit is mistyped: this code cannot be right. Please check each digit."),
    "cek_not_found": ("Kode ini tidak terdaftar. Periksa lagi kertas atau SMS Anda.",
                      "This code is not registered. Please check your slip or SMS."),
    "cek_too_many": ("Terlalu banyak kode yang salah dari perangkat ini. Silakan coba lagi {minutes} menit lagi, atau "
                     "tanyakan ke petugas.",
                     "Too many wrong codes from this device. Please try again in {minutes} minutes, or ask the staff."),
    "cek_offline": ("Situs tidak tersambung ke sistem kantor. Coba lagi sebentar lagi.",
                    "The site is not connected to the office system. Try again shortly."),
    "cek_submit": ("Cek", "Check"),
    "cek_all": ("Punya beberapa urusan? Lihat semuanya dengan nomor HP Anda", "Several things going on? See them "
                "all with your phone number"),
    # a booking's page
    "bk_title": ("Janji temu", "Appointment"),
    "bk_code": ("Kode janji", "Booking code"),
    "bk_when": ("{service}, {date} pukul {slot}", "{service}, {date} at {slot}"),
    "bk_booked": ("Terdaftar. Datang antara pukul {start} dan {end}, lalu tekan \"Saya sudah daftar\" di kios.",
                  "Booked. Come between {start} and {end}, then press \"Saya sudah daftar\" at the kiosk."),
    "bk_checked_in": ("Sudah datang: nomor antrean Anda {number}.", "Checked in: your queue number is {number}."),
    "bk_follow": ("Pantau nomor {number}", "Follow number {number}"),
    "bk_cancelled": ("Janji ini sudah dibatalkan.", "This booking was cancelled."),
    "bk_expired": ("Janji ini sudah lewat waktunya tanpa datang.", "This booking passed without a check-in."),
    "bk_cancel": ("Batalkan janji ini", "Cancel this booking"),
    "bk_updated": ("Halaman ini diperbarui otomatis.", "This page updates automatically."),
    # /urusan: all my open items
    "my_title": ("Urusan saya", "My items"),
    "my_intro": ("Tulis nomor HP yang Anda pakai saat mengambil nomor, membuat janji, mengajukan surat atau "
                 "melapor. Kami kirim kode lewat SMS ke nomor itu.",
                 "Enter the phone number you used when taking a number, booking, requesting a letter or "
                 "reporting. We send a code by SMS to that number."),
    "my_phone": ("Nomor HP", "Phone number"),
    "my_phone_hint": ("Contoh: 0812 3456 7890", "For example: 0812 3456 7890"),
    "my_send": ("Kirim kode", "Send the code"),
    "my_bad_phone": ("Tulis nomor HP Indonesia, misalnya 0812 3456 7890.",
                     "Enter an Indonesian mobile number, e.g. 0812 3456 7890."),
    "my_sms_off": ("Layanan SMS kantor belum aktif, jadi kode tidak bisa dikirim. Sementara itu, ikuti setiap "
                   "urusan satu per satu dengan kodenya di halaman Cek status.",
                   "The office's SMS service is not switched on yet, so no code can be sent. Meanwhile, follow "
                   "each item on its own with its code on the Check status page."),
    "my_sent": ("Bila nomor {phone} bisa menerima SMS dari kantor, kodenya sudah dikirim. Kode berlaku {minutes} "
                "menit. Tulis kode itu di bawah.",
                "If {phone} can receive SMS from the office, the code is on its way. It is valid for {minutes} "
                "minutes. Enter it below."),
    "my_code": ("Kode dari SMS (6 angka)", "Code from the SMS (6 digits)"),
    "my_confirm": ("Lihat urusan saya", "Show my items"),
    "my_wrong": ("Kode salah atau sudah tidak berlaku. Minta kode baru bila perlu.",
                 "Wrong or expired code. Ask for a new code if needed."),
    "my_limit": ("Terlalu banyak permintaan kode. Silakan coba lagi nanti.",
                 "Too many code requests. Please try again later."),
    "my_none": ("Tidak ada urusan yang masih berjalan untuk nomor ini.", "No open items for this number."),
    "my_more": ("Ada {n} urusan lain yang tidak muat di halaman ini; tanyakan di kantor desa.",
                "{n} more open items do not fit on this page; ask at the village office."),
    "my_logout": ("Keluar", "Sign out"),
    "my_ended": ("Anda sudah keluar. Data urusan tidak lagi ditampilkan di perangkat ini.",
                 "You are signed out. Your items are no longer shown on this device."),
    "my_expired": ("Waktu melihat urusan sudah habis. Minta kode baru untuk melihatnya lagi.",
                   "Your viewing time ended. Ask for a new code to see them again."),
    "my_until": ("Daftar ini terbuka sampai pukul {time}. Halaman ini diperbarui otomatis.",
                 "This list stays open until {time}. This page updates automatically."),
    "my_new_code": ("Minta kode baru", "Ask for a new code"),
    "my_optout_note": ("Nomor yang pernah membalas STOP tidak dikirimi kode. Kirim SMS MULAI ke nomor kantor bila "
                       "ingin menerimanya lagi.",
                       "A number that replied STOP gets no code. Text MULAI to the office's number to receive "
                       "SMS again."),
    "kind_ticket": ("Nomor antrean", "Queue number"),
    "kind_booking": ("Janji temu", "Appointment"),
    "kind_letter": ("Surat", "Letter"),
    "kind_complaint": ("Laporan", "Report"),
    "open": ("Buka", "Open"),
}


def ft(key: str, lang: str = "id", **values: Any) -> str:
    pair = TEXTS.get(key)
    if pair is None:
        return key
    s = pair[1] if lang == "en" else pair[0]
    return s.format(**values) if values else s


__all__ = ["TEXTS", "ft"]
