"""Every word the kiosk shows, in Bahasa Indonesia (default) and English.

Plain short sentences: many residents read slowly. Standard spelling
(antrean, silakan). :func:`text` falls back to Indonesian for a missing
English entry, and to the key itself for an unknown key, so a typo shows up
on screen instead of crashing the kiosk.
"""

from __future__ import annotations

from dataclasses import dataclass

from antre.wording import DAYS, MONTHS, long_date  # noqa: F401 (the kiosk's names for them)

LANGUAGES = ("id", "en")

TEXTS: dict[str, tuple[str, str]] = {
    # Home
    "choose_service": ("Silakan pilih layanan", "Please choose a service"),
    "no_tickets_now": ("Saat ini nomor antrean belum bisa diambil", "No numbers can be taken right now"),
    "waiting": ("{n} orang menunggu", "{n} waiting"),
    "waiting_none": ("Tidak ada antrean", "No one waiting"),
    "wait_minutes": ("perkiraan ± {m} menit", "about {m} min"),
    "wait_now": ("langsung dilayani", "served right away"),
    "wait_next": ("Anda berikutnya", "you are next"),
    "closed_short": ("Tutup", "Closed"),
    "opens_next": ("buka lagi {when}", "opens again {when}"),
    "info": ("Info", "Info"),
    "priority": ("Prioritas", "Priority"),
    "priority_hint": ("Untuk lansia, penyandang disabilitas, dan ibu hamil",
                      "For the elderly, people with disabilities, and pregnant women"),
    "priority_lansia": ("Lansia", "Elderly"),
    "priority_disabilitas": ("Disabilitas", "Disability"),
    "priority_ibu_hamil": ("Ibu hamil", "Pregnant"),
    "priority_chosen": ("Tiket prioritas: {kind}. Sekarang pilih layanan.",
                        "Priority ticket: {kind}. Now choose a service."),
    "rate": ("Beri penilaian", "Rate our service"),
    "listen": ("Dengarkan", "Listen"),
    "choices": ("Pilihan", "Choices"),
    "language": ("English", "Bahasa Indonesia"),
    "quota_reached": ("Kuota hari ini sudah habis", "Today's quota is full"),
    "please_wait": ("Mohon tunggu, nomor sedang diambil ...", "Please wait, getting your number ..."),
    # Unavailable
    "broker_down": ("Kios tidak tersambung ke jaringan antrean. Mohon hubungi petugas.",
                    "The kiosk is not connected to the queue network. Please ask the staff."),
    "service_offline": ("Sistem antrean sedang tidak aktif. Mohon hubungi petugas.",
                        "The queue system is not running. Please ask the staff."),
    "closed": ("Kantor sedang tutup. Jam layanan hari ini: {hours}.",
               "The office is closed. Opening hours today: {hours}."),
    "closed_today": ("Kantor tutup hari ini.", "The office is closed today."),
    "closed_next": ("Kantor sedang tutup. Buka lagi {when}.", "The office is closed. It opens again {when}."),
    "closed_hours_next": ("Kantor tutup. Jam layanan hari ini {hours}. Buka lagi {when}.",
                          "The office is closed. Hours today {hours}. It opens again {when}."),
    # Ticket
    "your_number": ("Nomor antrean Anda", "Your number"),
    "ticket_rating_code": ("Kode penilaian: {code}", "Rating code: {code}"),
    "ahead": ("{n} orang di depan Anda", "{n} people ahead of you"),
    "ahead_none": ("Tidak ada yang di depan Anda", "No one is ahead of you"),
    "estimate": ("Perkiraan waktu tunggu ± {m} menit", "Estimated wait about {m} minutes"),
    "estimate_now": ("Anda segera dipanggil", "You will be called soon"),
    "printing": ("Tiket sedang dicetak ...", "Printing your ticket ..."),
    "printed": ("Silakan ambil tiket Anda", "Please take your ticket"),
    "no_printer": ("Silakan ingat nomor ini", "Please remember this number"),
    "print_failed": ("Printer bermasalah — catat atau foto nomor ini",
                     "Printer problem — write down or photograph this number"),
    "done": ("Selesai", "Done"),
    "back": ("Kembali", "Back"),
    # Issue failures
    "issue_failed": ("Maaf, nomor belum bisa diambil", "Sorry, no number could be issued"),
    "err_offline": ("Kios tidak tersambung. Tidak ada tiket yang dibuat. Silakan coba lagi sebentar lagi.",
                    "The kiosk is not connected. No ticket was made. Please try again shortly."),
    "err_timeout": ("Sistem antrean tidak menjawab. Silakan coba lagi atau hubungi petugas.",
                    "The queue system did not answer. Please try again or ask the staff."),
    "err_quota_reached": ("Kuota layanan ini untuk hari ini sudah habis. Silakan datang lagi besok.",
                          "Today's quota for this service is full. Please come back tomorrow."),
    "err_office_closed": ("Kantor sedang tutup. Tiket hanya bisa diambil pada jam layanan.",
                          "The office is closed. Tickets are issued during opening hours."),
    "err_service_inactive": ("Layanan ini tidak tersedia hari ini.", "This service is not available today."),
    "err_storage_full": ("Penyimpanan sistem antrean penuh. Tidak ada tiket yang dibuat. Mohon hubungi petugas.",
                         "The queue system's storage is full. No ticket was made. Please ask the staff."),
    "err_storage_read_only": ("Sistem antrean tidak bisa menyimpan data. Tidak ada tiket yang dibuat. "
                              "Mohon hubungi petugas.",
                              "The queue system cannot save data. No ticket was made. Please ask the staff."),
    "err_other": ("Terjadi masalah. Mohon hubungi petugas.", "Something went wrong. Please ask the staff."),
    # Info
    "requirements": ("Persyaratan", "Requirements"),
    "no_requirements": ("Tidak ada persyaratan khusus.", "No special requirements."),
    "take_number": ("Ambil nomor", "Get a number"),
    # Rating
    "rate_pick": ("Pilih nomor tiket Anda", "Choose your ticket number"),
    "rate_pick_none": ("Belum ada tiket yang selesai dilayani. Ketik nomor Anda.",
                       "No tickets finished yet. Type your number."),
    "rate_type": ("Ketik nomor", "Type number"),
    "rate_type_prompt": ("Ketik nomor tiket Anda", "Type your ticket number"),
    "ok": ("OK", "OK"),
    "delete": ("Hapus", "Delete"),
    "rate_question": ("Bagaimana pelayanan kami?", "How was our service?"),
    "rate_for": ("Tiket {number}", "Ticket {number}"),
    "face_4": ("Sangat Puas", "Very satisfied"),
    "face_3": ("Puas", "Satisfied"),
    "face_2": ("Kurang Puas", "Somewhat dissatisfied"),
    "face_1": ("Tidak Puas", "Dissatisfied"),
    "more_question": ("Mau menilai lebih rinci? (9 pertanyaan singkat)", "Rate in more detail? (9 short questions)"),
    "more_yes": ("Ya, nilai rinci", "Yes, in detail"),
    "more_no": ("Tidak, kirim", "No, send"),
    "element_progress": ("Pertanyaan {i} dari 9", "Question {i} of 9"),
    "sending": ("Mengirim ...", "Sending ..."),
    "thanks": ("Terima kasih atas penilaian Anda!", "Thank you for your rating!"),
    "rate_err_already_rated": ("Nomor {number} sudah dinilai. Terima kasih!",
                               "Number {number} has already been rated. Thank you!"),
    "rate_err_not_served": ("Nomor {number} belum selesai dilayani. Nilai setelah dilayani, ya.",
                            "Number {number} has not been served yet. Please rate after your service."),
    "rate_err_ticket_not_found": ("Nomor {number} tidak ada hari ini. Periksa lagi nomor Anda.",
                                  "There is no number {number} today. Please check your number."),
    "rate_err_offline": ("Kios tidak tersambung. Penilaian belum terkirim. Coba lagi sebentar lagi.",
                         "The kiosk is not connected. Your rating was not sent. Try again shortly."),
    "rate_err_timeout": ("Sistem antrean tidak menjawab. Penilaian belum terkirim.",
                         "The queue system did not answer. Your rating was not sent."),
    "rate_code_prompt": ("Ketik kode penilaian di tiket Anda (4\u00a0angka, di atas kode QR)",
                         "Type the rating code on your ticket (4\u00a0digits, above the QR code)"),
    "rate_err_rating_code_wrong": ("Kode penilaian untuk nomor {number} salah. Periksa lagi 4 angka di tiket Anda.",
                                   "The rating code for number {number} is wrong. Check the 4 digits on your "
                                   "ticket."),
    "rate_err_rating_code_required": ("Ketik kode penilaian yang tercetak di tiket Anda.",
                                      "Type the rating code printed on your ticket."),
    "rate_err_too_many_attempts": ("Terlalu banyak kode salah di kios ini. Coba lagi 10 menit lagi, atau "
                                   "tanya petugas.",
                                   "Too many wrong codes at this kiosk. Try again in 10 minutes, or ask the "
                                   "staff."),
    "rate_err_other": ("Penilaian belum bisa dikirim. Mohon hubungi petugas.",
                       "The rating could not be sent. Please ask the staff."),
    "rate_wait": ("Terima kasih telah berkunjung", "Thank you for visiting"),
    "rate_wait_sub": ("Layar ini meminta penilaian setelah Anda dilayani di {counter}.",
                      "This screen asks for your rating after you are served at {counter}."),
    # Check-in of a booking (janji temu made on the website)
    "checkin": ("Saya sudah daftar", "I have booked"),
    "checkin_sub": ("Punya kode janji temu", "I have a booking code"),
    "checkin_prompt": ("Ketik kode janji temu Anda (10 angka)", "Type your booking code (10 digits)"),
    "checkin_mistyped": ("Ada angka yang salah ketik. Periksa lagi kode Anda.",
                         "A digit was mistyped. Please check your code."),
    "checkin_failed": ("Kode belum bisa dipakai", "The code cannot be used"),
    "checkin_err_booking_not_found": ("Kode tidak ditemukan untuk hari ini. Periksa lagi kode dan tanggal "
                                      "janji temu Anda.",
                                      "No booking with this code today. Please check your code and the date."),
    "checkin_err_too_many_attempts": ("Terlalu banyak kode yang salah. Silakan minta bantuan petugas.",
                                      "Too many wrong codes. Please ask the staff for help."),
    "checkin_unknown": ("Kode tidak ditemukan", "Code not found"),
    "checkin_used": ("Kode ini sudah dipakai", "This code was already used"),
    "checkin_early": ("Terlalu awal", "Too early"),
    "checkin_late": ("Jam janji temu sudah lewat", "Your appointment time has passed"),
    "checkin_err_already_checked_in": ("Kode ini sudah dipakai. Nomor antrean Anda sudah dibuat.",
                                       "This code was already used. Your number was already issued."),
    "checkin_err_already_checked_in_number": ("Nomor antrean Anda sudah dicetak: {number}. Silakan tunggu "
                                              "sampai nomor itu dipanggil.",
                                              "Your number was already printed: {number}. Please wait until "
                                              "it is called."),
    "checkin_err_too_early": ("Terlalu awal. Silakan kembali mendekati jam janji temu Anda.",
                              "Too early. Please come back closer to your appointment time."),
    "checkin_err_too_early_from": ("Kode bisa dipakai mulai pukul {time} (janji temu pukul {slot}). "
                                   "Silakan kembali saat itu.",
                                   "The code can be used from {time} (appointment at {slot}). "
                                   "Please come back then."),
    "checkin_err_booking_expired": ("Jam janji temu sudah lewat. Silakan ambil nomor biasa.",
                                    "Your appointment time has passed. Please take a regular number."),
    "checkin_err_booking_cancelled": ("Janji temu ini sudah dibatalkan.", "This appointment was cancelled."),
    # The idle screen: the village's announcements (kiosk/flows/idle_news.py). Nobody has chosen a
    # language yet, so its own words are in both at once.
    "news_kind_pengumuman": ("Pengumuman", "Announcement"),
    "news_kind_berita": ("Berita", "News"),
    "news_touch": ("Sentuh layar untuk mulai  ·  Touch the screen to start",
                   "Sentuh layar untuk mulai  ·  Touch the screen to start"),
    "news_position": ("{i} dari {n}", "{i} of {n}"),
    # Staff
    "staff_pin": ("PIN petugas", "Staff PIN"),
    "pin_wrong": ("PIN salah", "Wrong PIN"),
    "cancel": ("Batal", "Cancel"),
}

# The 9 elements of the Indeks Kepuasan Masyarakat (PermenPANRB 14/2017), in order u1..u9: the element's
# official name (shown small, under the question), the question as the resident reads it (the
# regulation's questionnaire, "Bagaimana pendapat Saudara tentang kesesuaian persyaratan pelayanan
# dengan jenis pelayanannya?", said in plain words), and the four answers from best (4) to worst (1),
# the questionnaire's own scale for that question.


@dataclass(frozen=True)
class IkmQuestion:
    element: tuple[str, str]
    question: tuple[str, str]
    answers: tuple[tuple[str, str], tuple[str, str], tuple[str, str], tuple[str, str]]  # scores 4, 3, 2, 1


def _q(element, question, *answers) -> IkmQuestion:
    return IkmQuestion(element, question, tuple(answers))  # type: ignore[arg-type]


IKM_QUESTIONS: tuple[IkmQuestion, ...] = (
    _q(("Persyaratan", "Requirements"),
       ("Apakah syarat yang diminta cocok dengan layanan yang Anda urus?",
        "Did the documents you were asked for fit the service you came for?"),
       ("Sangat sesuai", "Fit very well"), ("Sesuai", "Fit"), ("Kurang sesuai", "Fit poorly"),
       ("Tidak sesuai", "Did not fit")),
    _q(("Sistem, Mekanisme, dan Prosedur", "Systems, mechanisms and procedures"),
       ("Apakah cara dan langkah pelayanannya mudah diikuti?", "Were the steps of the service easy to follow?"),
       ("Sangat mudah", "Very easy"), ("Mudah", "Easy"), ("Kurang mudah", "Not so easy"), ("Tidak mudah", "Not easy")),
    _q(("Waktu Penyelesaian", "Completion time"),
       ("Apakah Anda dilayani dengan cepat?", "Were you served quickly?"),
       ("Sangat cepat", "Very quickly"), ("Cepat", "Quickly"), ("Kurang cepat", "Not so quickly"),
       ("Tidak cepat", "Slowly")),
    _q(("Biaya/Tarif", "Cost/fees"),
       ("Berapa biaya yang Anda bayar untuk layanan ini?", "What did you pay for this service?"),
       ("Gratis", "Free"), ("Murah", "Cheap"), ("Cukup mahal", "Rather expensive"), ("Sangat mahal", "Very expensive")),
    _q(("Produk Spesifikasi Jenis Pelayanan", "What the service delivers"),
       ("Apakah hasil yang Anda terima sesuai dengan yang dijanjikan?",
        "Did you get what the service promises?"),
       ("Sangat sesuai", "Exactly"), ("Sesuai", "Yes"), ("Kurang sesuai", "Not quite"), ("Tidak sesuai", "No")),
    _q(("Kompetensi Pelaksana", "Staff competence"),
       ("Apakah petugas paham dan mampu membantu Anda?", "Did the staff know how to help you?"),
       ("Sangat mampu", "Very well"), ("Mampu", "Well"), ("Kurang mampu", "Not so well"), ("Tidak mampu", "Not at all")),
    _q(("Perilaku Pelaksana", "Staff behaviour"),
       ("Apakah petugas sopan dan ramah?", "Were the staff polite and friendly?"),
       ("Sangat sopan dan ramah", "Very polite and friendly"), ("Sopan dan ramah", "Polite and friendly"),
       ("Kurang sopan dan ramah", "Not so polite"), ("Tidak sopan dan ramah", "Impolite")),
    _q(("Penanganan Pengaduan, Saran, dan Masukan", "Handling of complaints and suggestions"),
       ("Bagaimana keluhan dan saran warga ditangani di kantor ini?",
        "How does this office handle complaints and suggestions?"),
       ("Ditangani dengan baik", "Handled well"), ("Ditangani kurang baik", "Handled poorly"),
       ("Ada, tetapi tidak berjalan", "There is a way, but it does not work"), ("Tidak ada", "There is no way")),
    _q(("Sarana dan Prasarana", "Facilities"),
       ("Bagaimana tempatnya: ruang tunggu, kursi, dan toilet?",
        "How are the premises: waiting room, seats and toilets?"),
       ("Sangat baik", "Very good"), ("Baik", "Good"), ("Cukup", "Fair"), ("Buruk", "Poor")),
)

#: The element names alone (reports, and the small line under each question).
IKM_ELEMENTS: tuple[tuple[str, str], ...] = tuple(q.element for q in IKM_QUESTIONS)


def text(key: str, lang: str = "id", **values: object) -> str:
    """The text for ``key`` in ``lang`` with ``{placeholders}`` filled in."""
    pair = TEXTS.get(key)
    if pair is None:
        return key
    s = pair[1] if lang == "en" and pair[1] else pair[0]
    return s.format(**values) if values else s


def error_key(code: str | None, *first: str) -> str:
    """The key that explains a refusal: the first of ``first`` that exists, else ``err_<code>``, else ``err_other``."""
    for key in (*first, f"err_{code}"):
        if key in TEXTS:
            return key
    return "err_other"


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "en" else pair[0]


def element_name(index: int, lang: str = "id") -> str:
    """The official name of IKM element ``index`` (0-based): "Persyaratan"."""
    return _pick(IKM_QUESTIONS[index].element, lang)


def element_question(index: int, lang: str = "id") -> str:
    """IKM element ``index`` as the resident reads it: "Apakah syarat yang diminta cocok ...?"."""
    return _pick(IKM_QUESTIONS[index].question, lang)


def element_answer(index: int, score: int, lang: str = "id") -> str:
    """The word under face ``score`` (4 best ... 1 worst) for IKM element ``index``."""
    return _pick(IKM_QUESTIONS[index].answers[4 - score], lang)
