"""Reading a resident's SMS: which keyword it is, forgiving of case, spacing and typos.

``read("antri  ktp")`` -> ``("ANTRE", "ktp")``; ``read("setatus a12")`` -> ``("STATUS", "a12")``;
``read("bagaimana cara buat akta?")`` -> ``(None, "bagaimana cara buat akta?")`` (a question for the FAQ).

Matching (rapidfuzz): the first word against every keyword and its usual variants; a word glued to its
argument (``ANTREKTP``) is split at the keyword. Short keywords (``JAM``) only match exactly, so a word of a
free question is not taken for one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# keyword -> the ways residents write it
KEYWORDS: dict[str, tuple[str, ...]] = {
    "ANTRE": ("ANTRE", "ANTRI", "ANTREAN", "ANTRIAN", "AMBIL", "DAFTAR"),
    "STATUS": ("STATUS", "CEK", "POSISI", "STS"),
    "SYARAT": ("SYARAT", "PERSYARATAN", "SARAT", "SYARAT2"),
    "JAM": ("JAM", "BUKA", "JADWAL"),
    "BATAL": ("BATAL", "BATALKAN", "CANCEL"),
    "INFO": ("INFO", "INFORMASI"),
    "BANTUAN": ("BANTUAN", "BANTU", "HELP", "MENU", "TOLONG"),
    "STOP": ("STOP", "BERHENTI", "UNREG"),
    "MULAI": ("MULAI", "START", "REG"),
    # A complaint by SMS (antre/rules/complaints.py, category pengaduan / aspirasi): docs/complaints.md
    "ADUAN": ("ADUAN", "ADU", "LAPOR", "LAPORAN", "PENGADUAN", "KELUHAN", "KOMPLAIN"),
    "ASPIRASI": ("ASPIRASI", "USUL", "USULAN"),
}
_VARIANTS = {v: k for k, vs in KEYWORDS.items() for v in vs}
#: Variants this short are matched exactly only (a typo of a three-letter word is another word).
EXACT_BELOW = 5
CUTOFF = 80.0
_WORD = re.compile(r"[A-Z0-9]+")


@dataclass(frozen=True)
class Reading:
    keyword: str | None     # None: not a keyword (a question, or nothing)
    argument: str           # the rest, as written (trimmed)


def read(text: str) -> Reading:
    """The keyword of an SMS and its argument."""
    cleaned = " ".join(text.replace("\u00a0", " ").split())
    if not cleaned:
        return Reading(None, "")
    first, _, rest = cleaned.partition(" ")
    word = "".join(_WORD.findall(first.upper()))
    if not word:
        return Reading(None, cleaned)
    keyword = _match(word)
    if keyword is not None:
        return Reading(keyword, rest.strip(" :.,-"))
    # Glued to its argument: "ANTREKTP", "STATUSA012", "SYARAT:KTP"
    for variant in sorted(_VARIANTS, key=len, reverse=True):
        if len(variant) >= EXACT_BELOW and word.startswith(variant) and len(word) > len(variant):
            glued = first[len(variant):] if first.upper().startswith(variant) else word[len(variant):]
            return Reading(_VARIANTS[variant], (glued.strip(" :.,-") + " " + rest).strip())
    return Reading(None, cleaned)


def _match(word: str) -> str | None:
    if word in _VARIANTS:
        return _VARIANTS[word]
    if len(word) < EXACT_BELOW - 1:
        return None
    from rapidfuzz import fuzz, process   # here: a service without SMS never needs it

    candidates = [v for v in _VARIANTS if len(v) >= EXACT_BELOW]
    found = process.extractOne(word, candidates, scorer=fuzz.ratio, score_cutoff=CUTOFF)
    return _VARIANTS[found[0]] if found else None


def best(query: str, choices: dict[str, list[str]], cutoff: float = 70.0) -> str | None:
    """The key of ``choices`` whose names fit ``query`` best (typos, word order, parts of names), or None.

    ``best("ktp", {"adminduk": ["Administrasi Kependudukan (KTP/KK)", "KTP dan KK"], ...}) == "adminduk"``."""
    from rapidfuzz import fuzz

    q = " ".join(query.lower().split())
    if not q:
        return None
    scored = []
    for key, names in choices.items():
        score = 0.0
        for name in names:
            n = name.lower()
            if q == n:
                score = 200.0
                break
            words = n.replace("/", " ").replace("(", " ").replace(")", " ").replace(",", " ").split()
            exact_word = 150.0 if q in words else 0.0
            score = max(score, exact_word, fuzz.WRatio(q, n), fuzz.token_set_ratio(q, n))
        scored.append((score, key))
    scored.sort(reverse=True)
    if not scored or scored[0][0] < cutoff:
        return None
    if len(scored) > 1 and scored[0][0] < 150 and scored[0][0] - scored[1][0] < 5:
        return None   # two fit as well as each other: ask rather than guess
    return scored[0][1]


__all__ = ["read", "best", "Reading", "KEYWORDS"]
