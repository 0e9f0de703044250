"""Definitions of Done as data: the parsed DoD file and the typed verdicts of a check run."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from ..exit_codes import ExitCode
from .expr import Comparison


class Severity(StrEnum):
    FAIL = "fail"
    """A broken threshold fails the run (exit 1)."""
    WARN = "warn"
    """A broken threshold is reported, the run still passes."""


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    """A fail-severity threshold is broken."""
    WARN = "warn"
    """Only warn-severity thresholds are broken."""
    INCONCLUSIVE = "inconclusive"
    """Too little data to decide (volume guard, no rows for a latency, empty baseline)."""
    SKIPPED = "skipped"
    """Every threshold compares with a baseline and the run was given none."""


@dataclass(frozen=True)
class Threshold:
    text: str
    comparison: Comparison
    severity: Severity
    line: int | None = None
    """Line of the DoD file the threshold is written on (for messages)."""


@dataclass(frozen=True)
class Filter:
    """A condition on one subject column of the detector's rows."""

    column: str
    op: str
    """"eq", "in", "not_in", "contains" or "starts_with"."""
    values: tuple[object, ...]


@dataclass(frozen=True)
class Check:
    id: str
    detector: str
    thresholds: tuple[Threshold, ...]
    title: str = ""
    filters: tuple[Filter, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    window: str = "1m"
    min_events: int | None = None
    """Fewer matching events than this: inconclusive (a replay that lost its logs)."""
    min_windows: int | None = None
    """Matching rows in fewer windows than this: inconclusive."""
    requires: dict[str, int] = field(default_factory=dict)
    """Log table → rows it must hold in the analysed range, else inconclusive."""
    severity: Severity = Severity.FAIL
    line: int | None = None

    @property
    def can_fail(self) -> bool:
        """Whether a broken threshold of this check fails the run."""
        return any(t.severity is Severity.FAIL for t in self.thresholds)


@dataclass(frozen=True)
class Dod:
    checks: tuple[Check, ...]
    title: str = ""
    path: Path | None = None


@dataclass(frozen=True)
class ThresholdResult:
    threshold: Threshold
    verdict: Verdict
    observed: float | None
    """The left side, evaluated (for `for N windows`: the longest run of broken windows)."""
    limit: float | None
    """The right side, evaluated (for `for N windows`: N)."""
    baseline: float | None = None
    """The first baseline value the threshold read (`baseline.count`, drop's reference)."""
    unit: str = ""
    """"%" when the values are fractions shown as percentages, "windows" for sustained."""
    message: str = ""


@dataclass(frozen=True)
class CheckResult:
    check: Check
    verdict: Verdict
    thresholds: tuple[ThresholdResult, ...]
    events: float | None = None
    """Matching events (the detector's events column summed), None without one."""
    windows: int | None = None
    """Distinct windows with matching rows (windowed detectors)."""
    message: str = ""
    """Why the check is inconclusive or skipped."""
    seconds: float = 0.0
    """Time spent judging the check (its detector run included, when not shared)."""

    @property
    def deciding(self) -> ThresholdResult | None:
        """The threshold that set the verdict (the first broken one, else the first)."""
        for result in self.thresholds:
            if result.verdict in (Verdict.FAIL, Verdict.WARN):
                return result
        return self.thresholds[0] if self.thresholds else None


@dataclass(frozen=True)
class CheckReport:
    dod: Dod
    results: tuple[CheckResult, ...]
    range_text: str = ""
    baseline_range_text: str | None = None

    def count(self, verdict: Verdict) -> int:
        return sum(1 for r in self.results if r.verdict is verdict)

    @property
    def exit_code(self) -> ExitCode:
        """1 when a fail-severity check failed, else 4 when a fail-severity check was
        inconclusive, else 0. Warn-severity checks never change the exit code."""
        if any(r.verdict is Verdict.FAIL for r in self.results):
            return ExitCode.CHECKS_FAILED
        deciding = [r for r in self.results if r.check.can_fail]
        if any(r.verdict is Verdict.INCONCLUSIVE for r in deciding):
            return ExitCode.INCONCLUSIVE
        return ExitCode.OK

    @property
    def outcome(self) -> str:
        return {
            ExitCode.OK: "passed",
            ExitCode.CHECKS_FAILED: "failed",
            ExitCode.INCONCLUSIVE: "inconclusive",
        }[self.exit_code]

    def summary(self) -> str:
        parts = [
            f"{self.count(v)} {v.value}"
            for v in (
                Verdict.FAIL,
                Verdict.WARN,
                Verdict.INCONCLUSIVE,
                Verdict.SKIPPED,
                Verdict.PASS,
            )
            if self.count(v)
        ]
        return f"{self.outcome}: " + (", ".join(parts) if parts else "no checks")


__all__ = [
    "Check",
    "CheckReport",
    "CheckResult",
    "Dod",
    "Filter",
    "Severity",
    "Threshold",
    "ThresholdResult",
    "Verdict",
]
