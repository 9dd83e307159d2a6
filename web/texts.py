"""Every word of the website, in Bahasa Indonesia (default) and English."""

from __future__ import annotations

LANGUAGES = ("id", "en")

TEXTS: dict[str, tuple[str, str]] = {
    "site": ("Antrean {office}", "{office} queue"),
    "home": ("Beranda", "Home"),
    "take": ("Ambil nomor dari rumah", "Take a number from home"),
    "take_sub": ("Datang saat giliran Anda hampir tiba.", "Come when your turn is near."),
    "book": ("Janji temu", "Book an appointment"),
    "book_sub": ("Pilih jam untuk hari lain atau hari ini.", "Pick a time slot today or on a coming day."),
    "check": ("Cek nomor antrean", "Check a number"),
    "check_sub": ("Lihat posisi Anda dalam antrean.", "See your place in the queue."),
    "info": ("Info layanan", "Services"),
    "info_sub": ("Persyaratan dan jam buka.", "Requirements and opening hours."),
    "staff": ("Petugas", "Staff"),
    "lang_other": ("English", "Bahasa Indonesia"),
    "hours": ("Jam buka", "Opening hours"),
    "closed": ("Tutup", "Closed"),
    "today_hours": ("Hari ini buka {hours}", "Open today {hours}"),
    "today_closed": ("Hari ini kantor tutup", "The office is closed today"),
    "requirements": ("Persyaratan", "Requirements"),
    "no_requirements": ("Tidak ada persyaratan khusus.", "No special requirements."),
    "waiting_n": ("{n} orang menunggu", "{n} waiting"),
    "quota_full": ("Kuota hari ini habis", "Today's quota is full"),
    "remote_yes": ("Bisa ambil nomor dari rumah", "Numbers can be taken from home"),
    "remote_no": ("Ambil nomor di kantor", "Take a number at the office"),
    "appt_yes": ("Bisa janji temu", "Appointments available"),
    "offline": ("Sistem antrean sedang tidak tersambung. Silakan coba lagi sebentar lagi.",
                "The queue system is not reachable. Please try again shortly."),
    "service": ("Layanan", "Service"),
    "choose": ("Pilih layanan", "Choose a service"),
    "name": ("Nama", "Name"),
    "name_hint": ("Nama Anda, untuk dipanggil petugas bila perlu.", "Your name, so staff can find you."),
    "phone": ("Nomor HP", "Phone number"),
    "phone_hint": ("Contoh: 0812 3456 7890", "For example: 0812 3456 7890"),
    "no_nik": ("Jangan tulis NIK. Kami tidak memintanya.", "Do not enter your NIK (ID number). We never ask for it."),
    "privacy": ("Nama dan nomor HP hanya dipakai untuk antrean ini dan dihapus {when}. Tidak dibagikan.",
                "Your name and phone number are used only for this queue and deleted {when}. Never shared."),
    "privacy_0": ("setelah hari layanan selesai", "when the day is over"),
    "privacy_n": ("{n} hari setelah hari layanan", "{n} days after the day"),
    "limit_note": ("Satu nomor HP paling banyak {n} nomor antrean per hari.",
                   "At most {n} numbers per phone number per day."),
    "submit_take": ("Ambil nomor", "Get a number"),
    "no_remote": ("Saat ini tidak ada layanan yang bisa diambil dari rumah. Silakan ambil nomor di kantor.",
                  "No service takes numbers from home now. Please take a number at the office."),
    "date": ("Tanggal", "Date"),
    "show_slots": ("Lihat jam kosong", "Show free times"),
    "slot": ("Jam", "Time"),
    "free_n": ("sisa {n}", "{n} left"),
    "full": ("penuh", "full"),
    "no_slots": ("Tidak ada jam janji temu pada tanggal ini.", "No appointment times on this date."),
    "no_appts": ("Saat ini tidak ada layanan dengan janji temu.", "No service takes appointments now."),
    "submit_book": ("Buat janji", "Book"),
    "booked_title": ("Janji temu tercatat", "Appointment booked"),
    "your_code": ("Kode janji Anda", "Your booking code"),
    "booked_when": ("{service}, {date} pukul {slot}", "{service}, {date} at {slot}"),
    "booked_howto": ("Datang antara pukul {start} dan {end}. Di kios, tekan \"Saya sudah daftar\" dan ketik kode ini. "
                     "Simpan atau foto halaman ini.",
                     "Come between {start} and {end}. At the kiosk, press \"Saya sudah daftar\" (I have booked) and "
                     "type this code. Save or photograph this page."),
    "number_label": ("Nomor antrean", "Ticket number"),
    "number_hint": ("Contoh: A-012", "For example: A-012"),
    "submit_check": ("Cek", "Check"),
    "your_number": ("Nomor antrean Anda", "Your number"),
    "ticket_new": ("Nomor Anda sudah terdaftar. Simpan halaman ini: posisi Anda diperbarui otomatis.",
                   "Your number is registered. Keep this page: your place updates by itself."),
    "st_waiting": ("Menunggu", "Waiting"),
    "st_called": ("DIPANGGIL — silakan menuju {counter}", "CALLED — please go to {counter}"),
    "st_called_plain": ("Dipanggil", "Called"),
    "st_done": ("Selesai dilayani. Terima kasih!", "Served. Thank you!"),
    "st_no_show": ("Tidak hadir saat dipanggil. Silakan hubungi petugas.",
                   "Not present when called. Please ask the staff."),
    "st_expired": ("Nomor ini sudah tidak berlaku.", "This number is no longer valid."),
    "ahead": ("Di depan Anda", "Ahead of you"),
    "ahead_n": ("{n} orang", "{n} people"),
    "ahead_0": ("Tidak ada — Anda berikutnya", "No one — you are next"),
    "estimate": ("Perkiraan waktu tunggu", "Estimated wait"),
    "minutes": ("± {m} menit", "about {m} min"),
    "soon": ("sebentar lagi", "soon"),
    "live": ("Diperbarui otomatis", "Updates live"),
    "live_lost": ("Koneksi terputus, mencoba lagi ...", "Connection lost, retrying ..."),
    "reload": ("Muat ulang", "Reload"),
    "last_update": ("Terakhir diperbarui {time}", "Last updated {time}"),
    "not_today": ("Nomor ini untuk tanggal {date}.", "This number is for {date}."),
    "staff_title": ("Halaman petugas", "Staff page"),
    "password": ("Kata sandi petugas", "Staff password"),
    "login": ("Masuk", "Sign in"),
    "logout": ("Keluar", "Sign out"),
    "password_wrong": ("Kata sandi salah.", "Wrong password."),
    "login_wait": ("Terlalu banyak percobaan masuk yang salah. Coba lagi pukul {time}.",
                   "Too many wrong sign-in attempts. Try again at {time}."),
    "staff_off": ("Halaman petugas belum diaktifkan. Admin: jalankan 'antre web --hash-password' dan isi "
                  "[web] staff_password_hash.",
                  "The staff page is not set up. Admin: run 'antre web --hash-password' and set "
                  "[web] staff_password_hash."),
    "legacy_pin": ("Halaman petugas masih memakai PIN pendek (staff_pin_hash), yang mudah ditebak. Admin: buat "
                   "kata sandi minimal 12 karakter dengan 'antre web --hash-password', isi "
                   "[web] staff_password_hash, lalu hapus staff_pin_hash.",
                   "The staff page still uses a short PIN (staff_pin_hash), which is easy to guess. Admin: make a "
                   "password of at least 12 characters with 'antre web --hash-password', set "
                   "[web] staff_password_hash and remove staff_pin_hash."),
    "board": ("Papan hari ini", "Today's board"),
    "health": ("Kesehatan perangkat", "Device health"),
    "health_ok": ("Semua perangkat baik.", "All devices are fine."),
    "health_none": ("Belum ada kabar dari perangkat.", "No word from the devices yet."),
    "health_needs": ("Perlu petugas", "Needs a person"),
    "device": ("Perangkat", "Device"),
    "condition": ("Keadaan", "Condition"),
    "counter": ("Loket", "Counter"),
    "serving": ("Melayani", "Serving"),
    "idle": ("Kosong", "Idle"),
    "paused": ("Istirahat", "Paused"),
    "waiting": ("Menunggu", "Waiting"),
    "issued": ("Diambil", "Issued"),
    "remote": ("Dari rumah", "From home"),
    "web_share_col": ("Jatah dari rumah", "Share from home"),
    "web_share_note": ("Nomor dan janji temu dari situs hanya memakai {p} % kuota tiap layanan; sisanya untuk "
                       "warga yang datang langsung.",
                       "Numbers and appointments from the site use only {p} % of each service's quota; the rest is "
                       "for residents who walk in."),
    "appointments": ("Janji temu", "Appointments"),
    "on": ("Aktif", "On"),
    "off": ("Mati", "Off"),
    "turn_on": ("Aktifkan", "Turn on"),
    "turn_off": ("Matikan", "Turn off"),
    "not_configured": ("tidak diatur", "not configured"),
    "ticker": ("Teks berjalan di TV", "Running text on the TV"),
    "save": ("Simpan", "Save"),
    "saved": ("Tersimpan.", "Saved."),
    "report": ("Laporan", "Report"),
    "from": ("Dari", "From"),
    "to": ("Sampai", "To"),
    "download_pdf": ("Unduh PDF", "Download PDF"),
    "download_csv": ("Unduh CSV (zip)", "Download CSV (zip)"),
    "back": ("Kembali", "Back"),
    # Problems: form validation
    "bad_service": ("Pilih salah satu layanan.", "Choose one of the services."),
    "bad_name": ("Tulis nama Anda (2–60 huruf, tanpa angka).", "Write your name (2–60 letters, no digits)."),
    "bad_phone": ("Nomor HP tidak valid. Tulis seperti 0812 3456 7890.",
                  "That phone number is not valid. Write it like 0812 3456 7890."),
    "bad_date": ("Pilih tanggal yang valid.", "Choose a valid date."),
    "bad_slot": ("Pilih salah satu jam yang tersedia.", "Choose one of the free times."),
    "bad_number": ("Tulis nomor antrean seperti A-012.", "Write the ticket number like A-012."),
    "bad_form": ("Formulir kedaluwarsa atau tidak sah. Muat ulang halaman lalu coba lagi.",
                 "The form expired or is not valid. Reload the page and try again."),
    "too_many": ("Terlalu banyak permintaan dari perangkat Anda. Tunggu satu menit lalu coba lagi.",
                 "Too many requests from your device. Wait a minute and try again."),
    "not_found_page": ("Halaman tidak ditemukan.", "Page not found."),
    # Problems: the service's error codes
    "err_storage_full": ("Penyimpanan sistem antrean di kantor sedang penuh. Tidak ada yang tersimpan. "
                         "Silakan coba lagi nanti atau datang ke kantor.",
                         "The office's queue system is out of storage. Nothing was saved. Please try again later "
                         "or come to the office."),
    "err_storage_read_only": ("Sistem antrean di kantor sedang tidak bisa menyimpan data. Tidak ada yang tersimpan. "
                              "Silakan coba lagi nanti atau datang ke kantor.",
                              "The office's queue system cannot save data now. Nothing was saved. Please try again "
                              "later or come to the office."),
    "err_quota_reached": ("Kuota layanan ini untuk hari ini sudah habis. Silakan coba lagi besok.",
                          "Today's quota for this service is full. Please try again tomorrow."),
    "err_web_share_reached": ("Jatah nomor dari rumah untuk layanan ini sudah habis. Silakan datang dan ambil "
                              "nomor di kantor.",
                              "The share of numbers from home for this service is taken. Please come and take a "
                              "number at the office."),
    "service_busy": ("Banyak orang sedang mengambil nomor untuk layanan ini. Tunggu satu menit lalu coba lagi.",
                     "Many people are taking numbers for this service right now. Wait a minute and try again."),
    "err_phone_limit_reached": ("Nomor HP ini sudah mencapai batas {n} nomor antrean hari ini.",
                                "This phone number already has the maximum of {n} numbers today."),
    "err_remote_disabled": ("Layanan ini sedang tidak menerima nomor dari rumah. Silakan ambil nomor di kantor.",
                            "This service does not take numbers from home now. Please take one at the office."),
    "err_office_closed": ("Kantor sedang tutup. Nomor hanya bisa diambil pada jam buka.",
                          "The office is closed. Numbers are issued during opening hours."),
    "err_service_inactive": ("Layanan ini tidak tersedia hari ini.", "This service is not available today."),
    "err_unknown_service": ("Layanan tidak dikenal.", "Unknown service."),
    "err_appointments_disabled": ("Layanan ini sedang tidak menerima janji temu.",
                                  "This service does not take appointments now."),
    "err_slot_full": ("Jam itu sudah penuh. Silakan pilih jam lain.", "That time is fully booked. Please pick another."),
    "err_slot_passed": ("Jam itu sudah lewat. Silakan pilih jam lain.", "That time has passed. Please pick another."),
    "err_invalid_slot": ("Jam itu tidak tersedia. Silakan pilih jam lain.", "That time is not available."),
    "err_date_out_of_range": ("Janji temu bisa dibuat untuk hari ini sampai {n} hari ke depan.",
                              "Appointments can be made from today up to {n} days ahead."),
    "err_ticket_not_found": ("Nomor {number} tidak ada pada tanggal itu. Periksa lagi nomor Anda.",
                             "There is no number {number} on that day. Please check your number."),
    "err_booking_not_found": ("Kode janji tidak ditemukan. Periksa lagi kode Anda.",
                              "Booking code not found. Please check your code."),
    "err_offline": ("Situs tidak tersambung ke sistem antrean. Tidak ada yang dibuat. Coba lagi sebentar lagi.",
                    "The site is not connected to the queue system. Nothing was made. Try again shortly."),
    "err_timeout": ("Sistem antrean tidak menjawab. Coba lagi; permintaan yang sama tidak akan tercatat dua kali.",
                    "The queue system did not answer. Try again; the same request is never recorded twice."),
    "err_other": ("Terjadi masalah. Silakan coba lagi atau hubungi kantor.",
                  "Something went wrong. Please try again or contact the office."),
}

DAYS = {"id": ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"),
        "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")}
MONTHS = {"id": ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
                 "Oktober", "November", "Desember"),
          "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                 "October", "November", "December")}


def text(key: str, lang: str = "id", **values: object) -> str:
    pair = TEXTS.get(key)
    if pair is None:
        return key
    s = pair[1] if lang == "en" else pair[0]
    return s.format(**values) if values else s


def long_date(d, lang: str = "id") -> str:
    lang = lang if lang in DAYS else "id"
    return f"{DAYS[lang][d.weekday()]}, {d.day} {MONTHS[lang][d.month - 1]} {d.year}"
