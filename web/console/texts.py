"""The staff console's words, Bahasa Indonesia first, English second; merged into :data:`web.texts.TEXTS`."""

from __future__ import annotations

ROLE_NAMES: dict[str, tuple[str, str]] = {
    "petugas": ("Petugas loket", "Counter staff"),
    "kasi": ("Kasi Pelayanan", "Head of services"),
    "penandatangan": ("Penandatangan", "Signatory"),
    "admin": ("Admin", "Admin"),
    "bersama": ("Kata sandi bersama", "Shared password"),
}

TEXTS: dict[str, tuple[str, str]] = {
    "c_title": ("Konsol petugas", "Staff console"),
    "c_name": ("Nama akun", "Account name"),
    "c_full_name": ("Nama lengkap", "Full name"),
    "c_password": ("Kata sandi", "Password"),
    "c_password_new": ("Kata sandi baru (minimal 12 karakter)", "New password (12 characters or more)"),
    "c_password_again": ("Ulangi kata sandi baru", "Repeat the new password"),
    "c_password_now": ("Kata sandi sekarang", "Current password"),
    "c_shared_hint": ("Belum ada akun admin: kata sandi bersama yang lama masih berlaku (kosongkan nama akun). "
                      "Segera buat akun admin dengan tautan penyiapan yang tercetak di konsol 'antre web', atau "
                      "'antre staff add NAMA --role admin' di server; setelah itu kata sandi bersama tidak berlaku.",
                      "No admin account yet: the old shared password still works (leave the account name empty). "
                      "Make an admin account soon with the setup link printed on the 'antre web' console, or "
                      "'antre staff add NAME --role admin' on the server; the shared password then stops working."),
    "c_no_admin": ("Belum ada akun admin. Buka tautan penyiapan yang tercetak di konsol 'antre web', atau "
                   "jalankan 'antre staff add NAMA --role admin' di server.",
                   "There is no admin account yet. Open the setup link printed on the 'antre web' console, or run "
                   "'antre staff add NAME --role admin' on the server."),
    "c_shared_gone": ("Kata sandi bersama tidak berlaku lagi: masuk dengan akun Anda sendiri.",
                      "The shared password no longer works: sign in with your own account."),
    "c_shared_banner": ("Anda masuk dengan kata sandi bersama. Buat akun admin (tautan penyiapan di konsol "
                        "'antre web'); setelah itu setiap petugas masuk dengan akunnya sendiri.",
                        "You are signed in with the shared password. Make an admin account (the setup link on the "
                        "'antre web' console); then every member of staff signs in with their own account."),
    "c_wrong": ("Nama akun atau kata sandi salah.", "Wrong account name or password."),
    "c_locked": ("Akun ini dikunci sementara karena terlalu banyak kata sandi salah. Coba lagi pukul {time}.",
                 "This account is locked for a while after too many wrong passwords. Try again at {time}."),
    "c_wait": ("Terlalu banyak percobaan masuk yang salah. Coba lagi pukul {time}.",
               "Too many wrong sign-in attempts. Try again at {time}."),
    "c_need_name": ("Isi nama akun Anda.", "Enter your account name."),
    "c_offline": ("Layanan antrean tidak tersambung; coba lagi sebentar lagi.",
                  "The queue service is not reachable; try again shortly."),
    "c_signed_in_as": ("Masuk sebagai {name} ({role})", "Signed in as {name} ({role})"),
    "c_logout_offline": ("Anda sudah keluar di peramban ini, tetapi layanan antrean tidak tersambung: sesi "
                         "baru dicabut di server saat tersambung lagi.",
                         "You are signed out in this browser, but the queue service is not reachable: the session "
                         "is revoked on the server once it is back."),
    "c_forbidden": ("Peran Anda ({role}) tidak membuka halaman ini.", "Your role ({role}) does not open this page."),
    "c_setup": ("Buat akun admin pertama", "Make the first admin account"),
    "c_setup_bad": ("Tautan penyiapan ini tidak berlaku (sudah dipakai, atau 'antre web' dimulai ulang: lihat "
                    "tautan baru di konsolnya).",
                    "This setup link is not valid (used already, or 'antre web' restarted: see the new link on its "
                    "console)."),
    "c_differ": ("Kedua kata sandi tidak sama.", "The two passwords differ."),
    "c_weak": ("Kata sandi minimal 12 karakter, misalnya empat kata acak.",
               "A password needs 12 characters or more, e.g. four random words."),
    "c_accounts": ("Akun petugas", "Staff accounts"),
    "c_add": ("Tambah akun", "Add an account"),
    "c_role": ("Peran", "Role"),
    "c_counters": ("Loket", "Counters"),
    "c_active": ("Aktif", "Active"),
    "c_disabled": ("Nonaktif", "Disabled"),
    "c_disable": ("Nonaktifkan", "Disable"),
    "c_enable": ("Aktifkan", "Enable"),
    "c_save": ("Simpan", "Save"),
    "c_reset_password": ("Setel kata sandi baru", "Set a new password"),
    "c_change_password": ("Ganti kata sandi", "Change password"),
    "c_password_changed": ("Kata sandi diganti. Silakan masuk lagi dengan kata sandi baru.",
                           "Password changed. Please sign in again with the new password."),
    "c_password_wrong": ("Kata sandi sekarang salah.", "The current password is wrong."),
    "c_saved": ("Tersimpan.", "Saved."),
    "c_name_taken": ("Nama akun itu sudah dipakai.", "That account name is taken."),
    "c_last_admin": ("Ini admin aktif terakhir: buat admin lain dulu.",
                     "This is the last active admin: make another admin first."),
    "c_bad_name": ("Nama akun: 2-32 huruf kecil, angka, '.', '_' atau '-', diawali huruf.",
                   "Account name: 2-32 lower-case letters, digits, '.', '_' or '-', starting with a letter."),
    "c_not_signed_in": ("Sesi Anda berakhir; silakan masuk lagi.", "Your session ended; please sign in again."),
    "c_db_unreadable": ("Konsol tidak dapat membaca basis data layanan antrean di komputer ini. Jalankan "
                        "'antre web' di server yang sama dengan 'antre serve'.",
                        "The console cannot read the queue service's database on this computer. Run 'antre web' "
                        "on the same server as 'antre serve'."),
    "c_nav_home": ("Ringkasan", "Overview"),
    "c_nav_counter": ("Loket virtual", "Virtual counter"),
    "c_nav_office": ("Pengaturan mingguan", "Weekly settings"),
    "c_nav_audit": ("Log audit", "Audit log"),
    "c_nav_accounts": ("Akun", "Accounts"),
    "c_nav_password": ("Kata sandi saya", "My password"),
}
