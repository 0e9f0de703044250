"""JUnit XML of a check run, validated against the schema Jenkins' xUnit plugin reads."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema

from loganalyze.dod import check, parse_dod
from loganalyze.dod.junit import to_junit_xml, write_junit
from tests.conftest import TEST_DATA
from tests.test_dod_evaluate import DOD, T0, UNDEFINED_TABLE, insert_errors, insert_traffic

SCHEMA = TEST_DATA / "dod" / "junit-10.xsd"


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(SCHEMA)


def test_the_schema_rejects_what_ci_tools_reject(schema) -> None:
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        schema.validate("<testsuite><testcase classname='x'/></testsuite>")  # no tests=, no name=


@pytest.fixture
def report(con):
    insert_traffic(con, T0, 900)
    insert_errors(con, T0, 120, 5)
    insert_errors(con, T0, 3, 60, UNDEFINED_TABLE)
    return check(con, parse_dod(DOD, path="sample.dod.toml"))


def test_junit_validates_and_has_one_testcase_per_check(report, schema, tmp_path: Path) -> None:
    path = write_junit(report, tmp_path / "reports" / "dod.xml")
    schema.validate(str(path))
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "1", "1")
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert list(cases) == ["P0-1.none", "P0-1.drop", "P2.other-table"]
    assert {c.get("classname") for c in cases.values()} == {"loganalyze.check.sample"}
    assert cases["P0-1.none"].get("line") == "4"

    failure = cases["P0-1.none"].find("failure")
    assert failure is not None
    assert failure.get("message") == "observed 120, threshold count == 0"

    skipped = cases["P0-1.drop"].find("skipped")
    assert skipped is not None and skipped.get("message", "").startswith(
        "skipped: needs a baseline"
    )

    warned = cases["P2.other-table"]
    assert warned.find("failure") is None and warned.find("skipped") is None
    assert (warned.findtext("system-out") or "").startswith("WARN")

    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["outcome"] == "failed" and properties["exit_code"] == "1"


def test_inconclusive_is_a_skipped_testcase_that_says_so(con, schema) -> None:
    xml = to_junit_xml(check(con, parse_dod(DOD, path="sample.dod.toml")))
    schema.validate(xml)
    skipped = ET.fromstring(xml).find("testsuite/testcase/skipped")
    assert skipped is not None
    assert skipped.get("message", "").startswith("inconclusive: no events")


def test_text_that_needs_escaping_survives(con, schema) -> None:
    dod = parse_dod(
        '[[check]]\nid = "a"\ntitle = "<0 & \\"quoted\\">"\ndetector = "schema_errors"\n'
        'threshold = "count < 1"\n',
        path="x.dod.toml",
    )
    xml = to_junit_xml(check(con, dod))
    schema.validate(xml)
    assert ET.fromstring(xml).find("testsuite/testcase").get("name") == 'a: <0 & "quoted">'
