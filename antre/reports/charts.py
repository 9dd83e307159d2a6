"""PNG charts (matplotlib, Agg backend), sized to be read on an A4 page.

Imported only by ``antre report --format png|pdf``: matplotlib is slow to load on a Pi.
"""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from antre.reports.ikm import CATEGORIES  # noqa: E402
from antre.reports.stats import Report  # noqa: E402
from antre.reports.tables import period_text  # noqa: E402

WIDTH_IN = 7.2  # a little under A4's 180 mm text width, so 1:1 on the page
DPI = 200
# Colours that survive grey-scale printing (darker means worse where it matters).
COLOURS = {"served": "#2e7d32", "no_show": "#f9a825", "expired": "#9e9e9e", "open": "#90caf9",
           "mean": "#1565c0", "p90": "#90caf9"}
CATEGORY_COLOURS = {"A": "#2e7d32", "B": "#7cb342", "C": "#f9a825", "D": "#c62828"}

FILES = {"tickets_per_day": "tiket-per-hari.png", "waiting_per_service": "waktu-tunggu-per-layanan.png",
         "ikm_per_element": "ikm-per-unsur.png"}


def _figure(height_in: float) -> Figure:
    fig = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI, layout="constrained")
    fig.set_facecolor("white")
    return fig


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white")
    return buf.getvalue()


def tickets_per_day(report: Report) -> bytes:
    """Stacked bars: each day's tickets split by outcome (the bar's height is the number issued)."""
    fig = _figure(3.4)
    ax = fig.add_subplot()
    days = list(report.days)
    bottom = [0] * len(days)
    for key, label in (("served", "Dilayani"), ("no_show", "Tidak hadir"), ("expired", "Kedaluwarsa"),
                       ("open", "Belum selesai")):
        values = [getattr(t, key) for t in report.days.values()]
        if not any(values) and key != "served":
            continue
        ax.bar(days, values, bottom=bottom, width=0.8, color=COLOURS[key], label=label)
        bottom = [b + v for b, v in zip(bottom, values)]
    ax.set_title(f"Tiket per hari, {period_text(report)}", fontsize=11)
    ax.set_ylabel("Tiket")
    ax.yaxis.get_major_locator().set_params(integer=True)
    if len(days) <= 120:
        ax.xaxis.set_major_locator(mdates.DayLocator(interval=max(1, -(-len(days) // 12))))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%d/%m"))
    else:
        ax.xaxis.set_major_locator(mdates.MonthLocator(interval=max(1, -(-len(days) // 365))))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%m/%Y"))
    if len(days) <= 31:  # the number of tickets on top of each bar
        for day, total in zip(days, bottom):
            if total:
                ax.text(mdates.date2num(day), total, str(total), ha="center", va="bottom", fontsize=7)
    ax.set_xlim(mdates.date2num(days[0]) - 0.8, mdates.date2num(days[-1]) + 0.8)
    ax.grid(axis="y", color="#dddddd")
    ax.set_axisbelow(True)
    ax.legend(fontsize=8, ncols=4, loc="upper left", frameon=False)
    ax.set_ylim(0, max(max(bottom), 1) * 1.2)
    return _png(fig)


def waiting_per_service(report: Report) -> bytes:
    """Horizontal bars per service: mean and 90th-percentile waiting time, in minutes."""
    rows = [(report.service_name(code), t.wait) for code, t in report.services.items()]
    fig = _figure(1.6 + 0.6 * max(len(rows), 1))
    ax = fig.add_subplot()
    names = ["\n".join(textwrap.wrap(name, 30)) for name, _ in rows]
    ys = list(range(len(rows)))
    h = 0.38
    means = [w.mean or 0 for _, w in rows]
    p90s = [w.p90 or 0 for _, w in rows]
    ax.barh([y - h / 2 for y in ys], means, height=h, color=COLOURS["mean"], label="Rata-rata")
    ax.barh([y + h / 2 for y in ys], p90s, height=h, color=COLOURS["p90"], label="P90 (9 dari 10 warga)")
    top = max(p90s + means + [1])
    for y, (_, w) in zip(ys, rows):
        if w.count == 0:
            ax.text(top * 0.01, y, "belum ada warga yang dipanggil", va="center", fontsize=8, style="italic")
            continue
        for dy, v in ((-h / 2, w.mean), (h / 2, w.p90)):
            ax.text(v + top * 0.01, y + dy, f"{v:.1f}".replace(".", ","), va="center", fontsize=8)
    ax.set_yticks(ys, names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, top * 1.15)
    ax.set_xlabel("Menit (dari ambil tiket sampai dipanggil)")
    ax.set_title("Waktu tunggu per layanan", fontsize=11)
    ax.grid(axis="x", color="#dddddd")
    ax.set_axisbelow(True)
    fig.legend(fontsize=8, loc="outside lower center", ncols=2, frameon=False)
    return _png(fig)


def ikm_per_element(report: Report) -> bytes | None:
    """Horizontal bars of NRR x 25 per element, coloured by band; None without respondents."""
    ikm = report.ikm
    if ikm.index is None:
        return None
    fig = _figure(4.6)
    ax = fig.add_subplot()
    weakest = ikm.weakest
    labels = [f"{e.code} {e.name}" for e in ikm.elements]
    values = [float(e.converted) for e in ikm.elements]
    colours = [CATEGORY_COLOURS[e.category.letter] for e in ikm.elements]
    ys = list(range(len(values)))
    # The four bands as light backgrounds, their letters along the top.
    edges = [25.0] + [float(c.low) for c in reversed(CATEGORIES[:-1])] + [100.0]
    for cat, lo, hi in zip(reversed(CATEGORIES), edges, edges[1:]):
        ax.axvspan(lo, hi, color=CATEGORY_COLOURS[cat.letter], alpha=0.10, zorder=0, linewidth=0)
        ax.text((lo + hi) / 2, -1.0, f"{cat.letter}\n{cat.label}", ha="center", va="center", fontsize=7,
                color="#333333", linespacing=1.1)
    bars = ax.barh(ys, values, color=colours, height=0.65, zorder=2)
    for bar, e in zip(bars, ikm.elements):
        y = bar.get_y() + bar.get_height() / 2
        text = f"{e.converted:.2f}".replace(".", ",") + f" {e.category.letter}"
        bold = "bold" if e is weakest else "normal"
        if e is weakest:
            bar.set_edgecolor("black")
            bar.set_linewidth(1.6)
        if float(e.converted) >= 45:
            ax.text(float(e.converted) - 0.8, y, text, va="center", ha="right", fontsize=8, color="white",
                    fontweight=bold, zorder=3)
        else:
            ax.text(float(e.converted) + 0.8, y, text, va="center", fontsize=8, fontweight=bold, zorder=3)
        if e is weakest:
            x = float(e.converted) + (0.8 if float(e.converted) >= 45 else 12)
            ax.text(x, y, "terendah", va="center", fontsize=8, fontweight="bold", zorder=3)
    ax.set_yticks(ys, ["\n".join(textwrap.wrap(lbl, 34)) for lbl in labels], fontsize=8)
    ax.set_ylim(len(values) - 0.4, -1.45)
    ax.set_xlim(25, 100)
    ax.set_xlabel("Nilai konversi (NRR x 25)")
    index = f"{ikm.index:.2f}".replace(".", ",")
    ax.set_title(f"IKM per unsur: IKM {index}, mutu {ikm.category.letter} ({ikm.category.label}), "
                 f"{ikm.respondents} responden", fontsize=10)
    ax.grid(axis="x", color="#eeeeee")
    ax.set_axisbelow(True)
    return _png(fig)


def render_all(report: Report) -> dict[str, bytes]:
    """name -> PNG bytes; the IKM chart is absent when nobody answered the survey."""
    charts = {"tickets_per_day": tickets_per_day(report), "waiting_per_service": waiting_per_service(report)}
    ikm = ikm_per_element(report)
    if ikm is not None:
        charts["ikm_per_element"] = ikm
    return charts


def write_charts(report: Report, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in render_all(report).items():
        path = folder / FILES[name]
        path.write_bytes(data)
        paths.append(path)
    return paths
