"""The FAQ assistant's benchmark: share of held-out real-style questions answered correctly, and time per answer.

    .venv/bin/python -m bench.faq_bench [--rounds 20]

The FAQ is ``bench/faq/faq.toml`` (an office's ``[[notify.faq]]``); the questions are
``bench/faq/heldout.tsv``: SMS-style writing (``gmn``, ``bkin``, ``sy``), typos (``kelhiran``), regional
words (Sundanese ``kumaha``, ``nyieun``; Javanese ``piye carane``, ``anyar``) and questions the FAQ does not
answer (which must be left to a person: a wrong answer is worse than none). None of them is one of the FAQ's
own question variants.

Correct means: the right entry for an answerable question, no answer for the others. The baseline, in the
same run, is rapidfuzz alone (``WRatio`` of the lowered question against every variant, best entry at 70 or
more). ``before_fix`` is the assistant as it was before real words were kept from typo correction (every
unknown word of 4 letters or more corrected toward the FAQ's words, so ``balik`` became ``balai``), measured
in the same run. Time per answer is measured over ``--rounds`` passes and given as a ratio to the baseline's.
"""

from __future__ import annotations

import argparse
import json
import time
import tomllib
from pathlib import Path

from antre import config
from antre.rules.faq import Assistant

HERE = Path(__file__).with_name("faq")


def load(name: str = "heldout.tsv") -> tuple[list, list[tuple[str, int | None]]]:
    data = tomllib.loads((HERE / "faq.toml").read_text())
    entries = config.from_dict(data).notify.faq
    cases = []
    for line in (HERE / name).read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        question, expected = line.split("\t")
        cases.append((question, None if expected.strip() == "-" else int(expected)))
    return entries, cases


class Baseline:
    """rapidfuzz alone: no shorthand, no stemming, no stop words."""

    def __init__(self, entries, cutoff: float = 70.0):
        self.variants = [(i, q.lower()) for i, e in enumerate(entries) for q in e.questions]
        self.cutoff = cutoff

    def pick(self, question: str) -> int | None:
        from rapidfuzz import fuzz

        q = question.lower()
        best, score = None, 0.0
        for i, v in self.variants:
            s = fuzz.WRatio(q, v)
            if s > score:
                best, score = i, s
        return best if score >= self.cutoff else None


class BeforeFix(Assistant):
    """The assistant before the fix: every word not in the FAQ's vocabulary may be "corrected", real or not."""

    def is_word(self, word: str) -> bool:
        return False


def measure(pick, cases, rounds: int) -> tuple[float, float, list]:
    wrong = [(q, want, got) for q, want in cases if (got := pick(q)) != want]
    start = time.perf_counter()
    for _ in range(rounds):
        for q, _ in cases:
            pick(q)
    per = (time.perf_counter() - start) / (rounds * len(cases))
    return 1 - len(wrong) / len(cases), per, wrong


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--set", default="untouched.tsv",
                        help="question file in bench/faq/: untouched.tsv (never used to tune: the figure to quote) "
                             "or heldout.tsv (seen while the shorthand list was written)")
    args = parser.parse_args(argv)
    entries, cases = load(args.set)
    assistant, baseline = Assistant(entries), Baseline(entries)
    answerable = [c for c in cases if c[1] is not None]
    other = [c for c in cases if c[1] is None]
    pick = lambda q: assistant.match(q).index  # noqa: E731
    acc, per, wrong = measure(pick, cases, args.rounds)
    before = BeforeFix(entries)
    pick_before = lambda q: before.match(q).index  # noqa: E731
    f_acc, f_per, f_wrong = measure(pick_before, cases, args.rounds)
    b_acc, b_per, b_wrong = measure(baseline.pick, cases, args.rounds)
    figures = {
        "questions": len(cases), "answerable": len(answerable), "not_answerable": len(other),
        "assistant_correct": round(acc, 3), "baseline_correct": round(b_acc, 3),
        "assistant_answerable_correct": round(measure(pick, answerable, 1)[0], 3),
        "assistant_declined_correctly": round(measure(pick, other, 1)[0], 3),
        "baseline_answerable_correct": round(measure(baseline.pick, answerable, 1)[0], 3),
        "baseline_declined_correctly": round(measure(baseline.pick, other, 1)[0], 3),
        "before_fix_correct": round(f_acc, 3),
        "before_fix_answerable_correct": round(measure(pick_before, answerable, 1)[0], 3),
        "before_fix_declined_correctly": round(measure(pick_before, other, 1)[0], 3),
        "assistant_ms_per_answer": round(per * 1000, 3), "baseline_ms_per_answer": round(b_per * 1000, 3),
        "time_ratio_to_baseline": round(per / b_per, 2),
        "before_fix_ms_per_answer": round(f_per * 1000, 3), "time_ratio_to_before_fix": round(per / f_per, 2),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for k, v in figures.items():
            print(f"{k:32} {v}")
        print("\nassistant's misses (question, expected, got):")
        for q, want, got in wrong:
            print(f"  {q!r}: {want} -> {got}")
        print(f"baseline's misses: {len(b_wrong)}")
        print("answers that changed with the fix (question, expected, before, now):")
        for q, want in cases:
            if (was := pick_before(q)) != (now := pick(q)):
                print(f"  {q!r}: {want}: {was} -> {now}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
