"""JUnit XML for CI: one testcase per check, in the Ant/Surefire shape that Jenkins,
GitLab and the GitHub Actions test reporters read (validated in the tests against the
Jenkins xUnit plugin's junit-10.xsd).

- fail → `<failure>` whose message is observed vs threshold;
- inconclusive → `<skipped>` whose message starts with "inconclusive:" (the run's exit
  code, 4, still says it lacked data: a CI step is not green because of it);
- skipped (needs a baseline) → `<skipped>`;
- warn → a passing testcase whose `<system-out>` starts with "WARN".
"""

from __future__ import annotations

import re
import socket
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

from .model import CheckReport, CheckResult, Verdict
from .render import baseline_text, observed_text

# Characters XML 1.0 cannot carry at all, escaped or not (C0 controls but tab/newline/CR,
# lone surrogates, U+FFFE/U+FFFF). A DoD title or a log value holding one would make the
# file unreadable to every CI tool; each is written as a visible \\xNN / \\uNNNN instead.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_safe(text: str) -> str:
    return _NOT_XML.sub(
        lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}",
        text,
    )


def _make_xml_safe(root: ET.Element) -> None:
    for element in root.iter():
        if element.text:
            element.text = _xml_safe(element.text)
        if element.tail:
            element.tail = _xml_safe(element.tail)
        for key, value in element.attrib.items():
            element.attrib[key] = _xml_safe(value)


def _seconds(value: float) -> str:
    return f"{value:.3f}"


def _threshold_lines(result: CheckResult) -> str:
    lines = []
    for t in result.thresholds:
        lines.append(f"[{t.verdict.value}] {t.threshold.text}: {t.message or observed_text(t)}")
    if result.events is not None:
        lines.append(f"matching events: {result.events:,.0f}")
    if result.windows is not None:
        lines.append(f"windows with matching rows: {result.windows}")
    return "\n".join(lines)


def _testcase(suite: ET.Element, result: CheckResult, classname: str, dod_file: str | None) -> None:
    check = result.check
    attributes = {
        "classname": classname,
        "name": f"{check.id}: {check.title}" if check.title else check.id,
        "time": _seconds(result.seconds),
    }
    if dod_file is not None:
        attributes["file"] = dod_file
        if check.line is not None:
            attributes["line"] = str(check.line)
    case = ET.SubElement(suite, "testcase", attributes)
    details = _threshold_lines(result)
    if result.verdict is Verdict.FAIL:
        broken = [t for t in result.thresholds if t.verdict is Verdict.FAIL]
        message = "; ".join(
            f"observed {observed_text(t)}, threshold {t.threshold.text}"
            + (f" (baseline {baseline_text(t)})" if t.baseline is not None else "")
            for t in broken
        )
        failure = ET.SubElement(case, "failure", {"message": message, "type": "DoD"})
        failure.text = details
    elif result.verdict in (Verdict.INCONCLUSIVE, Verdict.SKIPPED):
        ET.SubElement(case, "skipped", {"message": f"{result.verdict.value}: {result.message}"})
    out = ET.SubElement(case, "system-out")
    out.text = (
        "WARN: a warn-severity threshold is broken\n" if result.verdict is Verdict.WARN else ""
    ) + details


def to_junit_xml(
    report: CheckReport, *, timestamp: datetime | None = None, redact: bool = True
) -> str:
    """The report as a JUnit XML document (a string with its XML declaration); `redact`
    masks secrets and addresses from the logs (loganalyze.redact)."""
    if redact:
        from ..redact import redact_obj

        report = redact_obj(report)
    dod_file = str(report.dod.path) if report.dod.path is not None else None
    # eventlive.dod.toml → eventlive: a dot in a classname is a package level to CI tools.
    stem = report.dod.path.name.split(".")[0] if report.dod.path is not None else "dod"
    name = report.dod.title or stem
    tests = len(report.results)
    failures = report.count(Verdict.FAIL)
    skipped = report.count(Verdict.INCONCLUSIVE) + report.count(Verdict.SKIPPED)
    total = _seconds(sum(r.seconds for r in report.results))
    root = ET.Element(
        "testsuites",
        {
            "name": "loganalyze check",
            "tests": str(tests),
            "failures": str(failures),
            "errors": "0",
            "time": total,
        },
    )
    suite = ET.SubElement(
        root,
        "testsuite",
        {
            "name": name,
            "tests": str(tests),
            "failures": str(failures),
            "errors": "0",
            "skipped": str(skipped),
            "time": total,
            "timestamp": (timestamp or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S"),
            "hostname": socket.gethostname(),
        },
    )
    properties = ET.SubElement(suite, "properties")
    for key, value in (
        ("dod_file", dod_file),
        ("outcome", report.outcome),
        ("exit_code", str(int(report.exit_code))),
        ("range", report.range_text),
        ("baseline_range", report.baseline_range_text),
        ("inconclusive", str(report.count(Verdict.INCONCLUSIVE))),
        ("warned", str(report.count(Verdict.WARN))),
    ):
        if value is not None:
            ET.SubElement(properties, "property", {"name": key, "value": value})
    classname = f"loganalyze.check.{stem}"
    for result in report.results:
        _testcase(suite, result, classname, dod_file)
    _make_xml_safe(root)
    ET.indent(root)
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True).decode("utf-8") + "\n"


def write_junit(report: CheckReport, path: str | Path, *, redact: bool = True) -> Path:
    """Write the JUnit XML file (parent directories created); a path that cannot be
    written raises InputError naming it and the reason."""
    from ..errors import InputError

    target = Path(path)
    text = to_junit_xml(report, redact=redact)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(
            f"cannot write the JUnit report: {exc.strerror or exc}", file=str(target)
        ) from None
    return target


__all__ = ["to_junit_xml", "write_junit"]
