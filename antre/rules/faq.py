"""The FAQ assistant: a resident's free-text question to the office's answer, or None when unsure.

No cloud and no model: each question is normalised the same way as the FAQ's own question variants
(``[[notify.faq]]``) and compared.

1. lower case, punctuation out; SMS shorthand and regional words (``gmn``, ``kumaha``, ``piye`` -> bagaimana;
   ``bikin`` -> buat; ``akte`` -> akta) to standard Indonesian (:data:`SHORTHAND`);
2. a typo is corrected to the nearest word of the FAQ's vocabulary (rapidfuzz ratio >= 80, words of 4 letters
   or more), but only a word that is not Indonesian: one that is a root word of Sastrawi's dictionary
   (``kata-dasar.txt``, from Kateglo) or stems to one is left as written, so ``balik`` never becomes an entry's
   ``balai`` (a wrong answer is worse than none); ``kelhiran`` still becomes ``kelahiran``;
3. every word stemmed (PySastrawi: ``persyaratannya`` -> ``syarat``, ``kelahiran`` -> ``lahir``);
4. common words dropped (Sastrawi's stop words, except question words that change the meaning: ``berapa``,
   ``kapan``, ``hilang`` ...).

The score of a question against one variant blends rapidfuzz's token-set ratio with a word overlap weighted
by how rare each word is among the variants (so ``ktp`` counts less than ``hilang``). The best entry answers
when its score reaches :data:`THRESHOLD` and no other entry comes within :data:`MARGIN`; otherwise the
question is left to a person. ``bench/faq_bench.py`` measures it on held-out questions.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

THRESHOLD = 0.45   # chosen on bench/faq/heldout.tsv (not on untouched.tsv)
MARGIN = 0.02
TYPO_CUTOFF = 80.0

SHORTHAND = {
    # SMS shorthand
    "gmn": "bagaimana", "gmna": "bagaimana", "bgmn": "bagaimana", "gimana": "bagaimana", "gmana": "bagaimana",
    "yg": "yang", "sy": "saya", "sya": "saya", "aq": "saya", "aku": "saya", "utk": "untuk", "untk": "untuk",
    "buat": "buat", "bikin": "buat", "bkin": "buat", "brp": "berapa", "brapa": "berapa", "dgn": "dengan",
    "dg": "dengan", "tdk": "tidak", "gak": "tidak", "ga": "tidak", "gk": "tidak", "nggak": "tidak",
    "ngga": "tidak", "enggak": "tidak", "ndak": "tidak", "nda": "tidak", "ngurus": "urus", "ngurusin": "urus",
    "dmn": "mana", "dimana": "mana", "kpn": "kapan", "bs": "bisa", "bsa": "bisa", "mw": "mau", "mo": "mau",
    "pengen": "ingin", "pgn": "ingin", "hrs": "harus", "krn": "karena", "jg": "juga", "sdh": "sudah",
    "udah": "sudah", "dah": "sudah", "blm": "belum", "lg": "lagi", "tp": "tapi", "dr": "dari", "dri": "dari",
    "tgl": "tanggal", "jd": "jadi", "jdi": "jadi", "sampe": "sampai", "ilang": "hilang", "akte": "akta",
    "knp": "kenapa", "napa": "kenapa", "dpt": "dapat", "dapet": "dapat", "pinjem": "pinjam", "aja": "saja",
    "apa2": "apa", "syarat2": "syarat", "sarat": "syarat", "syrat": "syarat", "srt": "surat", "ktp-el": "ktp", "ektp": "ktp", "e-ktp": "ktp", "kartu": "kartu",
    "nyieun": "buat", "bayi": "anak", "dtg": "datang", "org": "orang", "ortu": "orang tua", "bpk": "bapak",
    "kawin": "nikah", "antri": "antre", "antrian": "antre", "antrean": "antre", "hp": "hp",
    # regional (Sundanese, Javanese, Betawi) words residents write
    "kumaha": "bagaimana", "piye": "bagaimana", "pripun": "bagaimana", "carane": "cara", "caranya": "cara",
    "opo": "apa", "naon": "apa", "iso": "bisa", "ora": "tidak", "teu": "tidak", "anyar": "baru",
    "enggal": "baru", "pira": "berapa", "sabaraha": "berapa", "piro": "berapa", "suwe": "lama", "lami": "lama",
    "kapan": "kapan", "iraha": "kapan", "ngadu": "adu", "mbayar": "bayar", "gratis": "gratis",
}
#: Sastrawi stop words that carry the question's meaning here.
KEEP = {"bagaimana", "berapa", "kapan", "mana", "apa", "siapa", "bisa", "tidak", "lama", "baru", "hilang", "cara",
        "biaya", "bayar", "harus", "buat", "jadi", "pindah", "keluar", "masuk", "daftar", "mati", "lahir",
        "sama", "ingin", "mau", "dapat", "kenapa", "datang", "lapor", "minta", "hari", "rumah", "tanya"}
_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)?")


class Entry(Protocol):
    questions: Sequence[str]
    answer: str


@dataclass(frozen=True)
class Match:
    index: int | None      # the entry answered, or None when unsure
    score: float
    runner_up: float


@lru_cache(maxsize=1)
def _sastrawi():
    """The stemmer, the stop words, and the root words of the stemmer's own dictionary."""
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory
    from Sastrawi.StopWordRemover.StopWordRemoverFactory import StopWordRemoverFactory

    stops = frozenset(StopWordRemoverFactory().get_stop_words()) - KEEP
    factory = StemmerFactory()
    roots = frozenset(w.strip() for w in factory.get_words_from_file() if w.strip())
    return factory.create_stemmer(), stops, roots


def _words(text: str) -> list[str]:
    out: list[str] = []
    for w in _WORD.findall(text.lower()):
        out.extend(SHORTHAND.get(w, w).split())
    return out


class Assistant:
    """Answers questions from FAQ entries (objects with ``questions`` and ``answer``)."""

    def __init__(self, entries: Sequence[Entry], threshold: float = THRESHOLD, margin: float = MARGIN):
        self.entries = list(entries)
        self.threshold, self.margin = threshold, margin
        self.stemmer, self.stops, self.roots = _sastrawi()
        raw = [(i, _words(q)) for i, e in enumerate(self.entries) for q in e.questions]
        self.vocabulary = sorted({w for _, ws in raw for w in ws if len(w) >= 4})
        self._known = set(self.vocabulary)
        self.variants = [(i, self._terms(ws)) for i, ws in raw]
        df: dict[str, int] = {}
        for _, terms in self.variants:
            for t in set(terms):
                df[t] = df.get(t, 0) + 1
        n = len(self.variants) or 1
        self.idf = {t: math.log(1 + n / d) for t, d in df.items()}
        self._default_idf = math.log(1 + n)

    def _terms(self, words: list[str]) -> list[str]:
        out = []
        for w in words:
            s = self.stemmer.stem(w) or w
            if w in self.stops or s in self.stops:
                continue
            out.append(s)
        return out

    def is_word(self, word: str) -> bool:
        """True for an Indonesian word (a root of Sastrawi's dictionary, or a word that stems to one): never a
        typo to correct, even when it looks like one of the FAQ's words."""
        return word in self.roots or self.stemmer.stem(word) in self.roots

    def normalise(self, question: str) -> list[str]:
        """The question's terms: shorthand expanded, typos corrected, stemmed, common words out."""
        from rapidfuzz import fuzz, process

        words = []
        for w in _words(question):
            if len(w) >= 4 and w not in self._known and self.vocabulary and not self.is_word(w):
                found = process.extractOne(w, self.vocabulary, scorer=fuzz.ratio, score_cutoff=TYPO_CUTOFF)
                if found:
                    w = found[0]
            words.append(w)
        return self._terms(words)

    def _score(self, q: list[str], v: list[str]) -> float:
        from rapidfuzz import fuzz

        if not q or not v:
            return 0.0
        qs, vs = set(q), set(v)
        weight = lambda ts: sum(self.idf.get(t, self._default_idf) for t in ts)  # noqa: E731
        overlap = weight(qs & vs) / weight(qs | vs)
        return 0.5 * fuzz.token_set_ratio(" ".join(q), " ".join(v)) / 100 + 0.5 * overlap

    def match(self, question: str) -> Match:
        q = self.normalise(question)
        best: dict[int, float] = {}
        for i, terms in self.variants:
            score = self._score(q, terms)
            if score > best.get(i, -1.0):
                best[i] = score
        ranked = sorted(best.items(), key=lambda kv: kv[1], reverse=True)
        if not ranked:
            return Match(None, 0.0, 0.0)
        top, score = ranked[0]
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        sure = score >= self.threshold and score - second >= self.margin
        return Match(top if sure else None, score, second)

    def answer(self, question: str) -> str | None:
        m = self.match(question)
        if m.index is None:
            return None
        entry = self.entries[m.index]
        links = " ".join(getattr(entry, "links", ()) or ())
        return f"{entry.answer} {links}" if links else entry.answer


__all__ = ["Assistant", "Match", "SHORTHAND", "THRESHOLD"]
