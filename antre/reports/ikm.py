"""The satisfaction index (Indeks Kepuasan Masyarakat, IKM) of PermenPANRB 14/2017.

Every survey answers the nine elements U1..U9 with a score of 1-4. For each
element the *nilai rata-rata* (NRR) is the sum of its scores divided by the
number of respondents; the index is the weighted sum of the nine NRR, each
weighted 1/9, times 25 (so it runs from 25 to 100)::

    IKM = (NRR1 * 1/9 + ... + NRR9 * 1/9) * 25

All of it is computed with :class:`fractions.Fraction`, so there is no
rounding until the end (the weight is exactly 1/9, not 0.111). The regulation
works with two-decimal values and its bands leave gaps between them
(88.30 | 88.31), so a value is first rounded to two decimals, half up, and the
rounded value is classified:

====  ===============  ===============
Mutu  Kinerja          Nilai konversi
====  ===============  ===============
A     Sangat Baik      88.31 - 100.00
B     Baik             76.61 - 88.30
C     Kurang Baik      65.00 - 76.60
D     Tidak Baik       25.00 - 64.99
====  ===============  ===============

An index of exactly 88.305 therefore becomes 88.31 (A); 88.3049... becomes
88.30 (B). The same bands classify one element (NRR x 25) and the quick face
rating index (mean face score x 25), which is reported on its own and never
mixed into the IKM.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

ELEMENTS: tuple[str, ...] = (
    "Persyaratan",
    "Sistem, Mekanisme dan Prosedur",
    "Waktu Penyelesaian",
    "Biaya/Tarif",
    "Produk Spesifikasi Jenis Pelayanan",
    "Kompetensi Pelaksana",
    "Perilaku Pelaksana",
    "Penanganan Pengaduan, Saran dan Masukan",
    "Sarana dan Prasarana",
)

# Quick face rating on the kiosk: score -> label.
FACES: dict[int, str] = {4: "Sangat Puas", 3: "Puas", 2: "Kurang Puas", 1: "Tidak Puas"}


@dataclass(frozen=True)
class Category:
    """One band of the regulation: letter (mutu), label (kinerja) and its two-decimal limits."""

    letter: str
    label: str
    label_en: str
    low: Decimal
    high: Decimal


CATEGORIES: tuple[Category, ...] = (
    Category("A", "Sangat Baik", "Very good", Decimal("88.31"), Decimal("100.00")),
    Category("B", "Baik", "Good", Decimal("76.61"), Decimal("88.30")),
    Category("C", "Kurang Baik", "Poor", Decimal("65.00"), Decimal("76.60")),
    Category("D", "Tidak Baik", "Very poor", Decimal("25.00"), Decimal("64.99")),
)


def round_half_up(value: Fraction | int, places: int = 2) -> Decimal:
    """``value`` rounded to ``places`` decimals, halves away from zero (88.305 -> 88.31), exactly."""
    scale = 10 ** places
    scaled = Fraction(value) * scale
    q = math.floor(abs(scaled) + Fraction(1, 2))
    return Decimal(q if scaled >= 0 else -q).scaleb(-places)


def classify(value: Decimal | Fraction | float | int) -> Category:
    """The band of an index value (25-100). A non-two-decimal value is rounded half up first."""
    if not isinstance(value, Decimal) or value != value.quantize(Decimal("0.01")):
        value = round_half_up(Fraction(value))
    if not Decimal(25) <= value <= Decimal(100):
        raise ValueError(f"an index runs from 25.00 to 100.00, not {value}")
    for cat in CATEGORIES:
        if value >= cat.low:
            return cat
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass(frozen=True)
class ElementResult:
    """One element Ux: the sum of its scores, its NRR and NRR x 25 (rounded, classified)."""

    number: int  # 1..9
    name: str
    total: int
    nrr: Fraction
    converted: Decimal  # NRR x 25, rounded to 2 decimals
    category: Category

    @property
    def code(self) -> str:
        return f"U{self.number}"

    @property
    def weighted(self) -> Fraction:
        """NRR tertimbang: NRR x 1/9."""
        return self.nrr / len(ELEMENTS)


@dataclass(frozen=True)
class IkmResult:
    """The IKM of a group of surveys. ``index`` is None when nobody answered the survey."""

    respondents: int
    elements: tuple[ElementResult, ...]
    exact: Fraction | None  # the unrounded index
    index: Decimal | None  # rounded to 2 decimals, half up
    category: Category | None

    @property
    def weakest(self) -> ElementResult | None:
        """The element with the lowest NRR (the first of equals), or None without respondents."""
        if not self.elements:
            return None
        return min(self.elements, key=lambda e: (e.nrr, e.number))


def compute_ikm(surveys: Iterable[Sequence[int]]) -> IkmResult:
    """IKM of complete nine-element surveys, each a sequence of nine scores 1-4."""
    totals = [0] * len(ELEMENTS)
    n = 0
    for answers in surveys:
        if len(answers) != len(ELEMENTS):
            raise ValueError(f"a survey has {len(ELEMENTS)} answers, not {len(answers)}")
        for i, score in enumerate(answers):
            if not 1 <= score <= 4:
                raise ValueError(f"survey score U{i + 1} = {score} is outside 1-4")
            totals[i] += score
        n += 1
    if n == 0:
        return IkmResult(0, (), None, None, None)
    elements = []
    for i, (name, total) in enumerate(zip(ELEMENTS, totals), start=1):
        nrr = Fraction(total, n)
        converted = round_half_up(nrr * 25)
        elements.append(ElementResult(i, name, total, nrr, converted, classify(converted)))
    exact = sum((e.weighted for e in elements), Fraction(0)) * 25
    index = round_half_up(exact)
    return IkmResult(n, tuple(elements), exact, index, classify(index))


def minimum_sample(population: int) -> int:
    """The fewest respondents for an IKM of ``population`` service users to be judged, by the sampling
    table the regulation's guidance points to (Krejcie and Morgan, 1970, in the Lampiran of PermenPANRB
    14/2017): ``s = X² N P(1-P) / (d² (N-1) + X² P(1-P))`` with X² = 3.841 (95 % confidence), P = 0.5
    and d = 0.05, rounded half up as the published table is.

    >>> [minimum_sample(n) for n in (1, 10, 50, 100, 200, 500, 1000, 100000)]
    [1, 10, 44, 80, 132, 217, 278, 383]
    """
    if population <= 0:
        return 0
    chi2, p, d = Fraction(3841, 1000), Fraction(1, 2), Fraction(5, 100)
    s = chi2 * population * p * (1 - p) / (d * d * (population - 1) + chi2 * p * (1 - p))
    return int(round_half_up(s, 0))


@dataclass(frozen=True)
class QuickResult:
    """Index of the quick face ratings: mean score x 25, with the count of each face."""

    respondents: int
    counts: dict[int, int]  # score -> how many
    mean: Fraction | None
    index: Decimal | None
    category: Category | None


def compute_quick(scores: Iterable[int]) -> QuickResult:
    counts = {s: 0 for s in FACES}
    for s in scores:
        if s not in counts:
            raise ValueError(f"face rating {s} is outside 1-4")
        counts[s] += 1
    n = sum(counts.values())
    if n == 0:
        return QuickResult(0, counts, None, None, None)
    mean = Fraction(sum(s * c for s, c in counts.items()), n)
    index = round_half_up(mean * 25)
    return QuickResult(n, counts, mean, index, classify(index))
