"""Reports: service statistics and the satisfaction index (IKM) of PermenPANRB 14/2017.

``antre report --from 2026-11-01 --to 2026-11-30`` prints a table; ``--format``
json, csv, png or pdf writes the same numbers for a program, a spreadsheet or
the printed, signed monthly report. See docs/reports.md.

Modules: :mod:`.ikm` (the index, exact arithmetic), :mod:`.stats` (reading the
database), :mod:`.tables` (text, CSV and JSON), :mod:`.charts` (PNG, matplotlib)
and :mod:`.pdf` (fpdf2). Only :mod:`.cli` is imported by ``antre --help``.
"""

from antre.errors import AntreError


class ReportError(AntreError):
    """A report cannot be made: bad period, no such database, nothing in the period."""
