"""Masking of secrets and personal data: every kind is masked, one value keeps one
pseudonym, and the text around it (times, casts, ids, versions) is left alone."""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl
import pytest

from loganalyze.redact import KEY_ENV, redact_frame, redact_obj, redact_text

SERVICE_JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZSIsInJvbGUiOiJzZXJ2aWNlX3Jv"
    "bGUifQ.n3Vq8rN4l3x_qT0uS2a9YwJ-4kHc1fP7gZbE6mDxR0s"
)
USER_JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkMjAzNmZiMS04NmNkIiwiZW1haWwiOiJhQGIuY28ifQ.Xk3nQa-sig"
PSEUDONYM = re.compile(r"<(jwt|key|email|ip):[0-9a-f]{8}>")


def kinds(text: str) -> list[str]:
    return [m.group(1) for m in PSEUDONYM.finditer(text)]


@pytest.mark.parametrize(
    ("text", "secret", "kind"),
    [
        (
            f'SELECT net.http_post(headers:=\'{{"Authorization": "Bearer {SERVICE_JWT}"}}\')',
            SERVICE_JWT,
            "jwt",
        ),
        (f"GET /rest/v1/registrations?apikey={USER_JWT}&select=id", USER_JWT, "jwt"),
        (f"token {USER_JWT} expired", USER_JWT, "jwt"),
        ("Authorization: Bearer opaque-token-123456", "opaque-token-123456", "key"),
        ("authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA==", "key"),
        (
            '{"apikey": "sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz"}',
            "sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz",
            "key",
        ),
        (
            "client sb_publishable_4cVd9t_ZsOmw2ZbLq3 loaded",
            "sb_publishable_4cVd9t_ZsOmw2ZbLq3",
            "key",
        ),
        (
            "pat sbp_0123456789abcdef0123456789abcdef01234567 used",
            "sbp_0123456789abcdef0123456789abcdef01234567",
            "key",
        ),
        ("POST /login password=hunter2&remember=1", "hunter2", "key"),
        (
            "Key (email)=(alice.smith+x@example.co.kr) already exists.",
            "alice.smith+x@example.co.kr",
            "email",
        ),
        ("GET | 200 | 43.140.15.236 | eb5635bbea26dc5b | /auth/v1/user", "43.140.15.236", "ip"),
        (
            "connection from 2001:db8:85a3::8a2e:370:7334 port 5432",
            "2001:db8:85a3::8a2e:370:7334",
            "ip",
        ),
        ("peer fe80:0:0:0:202:b3ff:fe1e:8329 closed", "fe80:0:0:0:202:b3ff:fe1e:8329", "ip"),
    ],
)
def test_each_kind_is_masked_and_named(text: str, secret: str, kind: str):
    masked = redact_text(text)
    assert masked is not None
    assert secret not in masked
    assert kinds(masked) == [kind]


def test_names_around_a_secret_stay_readable():
    masked = redact_text(f"GET /rest/v1/x?apikey={USER_JWT}&select=id")
    assert masked is not None
    assert masked.startswith("GET /rest/v1/x?apikey=<jwt:") and masked.endswith(">&select=id")
    header = redact_text(f"Authorization: Bearer {USER_JWT}")
    assert header is not None and header.startswith("Authorization: Bearer <jwt:")


def test_one_value_one_pseudonym_wherever_it_appears():
    bare = redact_text(f"jwt {USER_JWT}")
    after_bearer = redact_text(f"Authorization: Bearer {USER_JWT}")
    assert bare is not None and after_bearer is not None
    assert PSEUDONYM.search(bare).group(0) == PSEUDONYM.search(after_bearer).group(0)  # type: ignore[union-attr]
    # e-mail addresses are case-insensitive
    upper, lower = redact_text("Alice@Example.com"), redact_text("alice@example.com")
    assert upper == lower
    assert redact_text("10.0.0.1") != redact_text("10.0.0.2")
    assert redact_text(SERVICE_JWT) != redact_text(USER_JWT)


@pytest.mark.parametrize(
    "text",
    [
        "2026-03-12T10:05:00.123Z slow query took 12.345 ms",
        "SELECT $1::text, created_at::date, id::uuid FROM registrations",
        "user d2036fb1-86cd-4834-ae9b-f28c5fb51e60 session ca840d72-bb9d-45f3-8d64-17f4936f542b",
        "Mozilla/5.0 Chrome/120.0.0.0 Safari/537.36",
        "x_client_info supabase-js-node/2.49.4",
        'postgres@postgres FATAL: password authentication failed for user "app"',
        "cf_ray eb5635bbea26dc5b-ICN, mac 00:1a:2b:3c:4d:5e",
        "column registrations.id does not exist",
    ],
)
def test_ordinary_log_text_is_left_alone(text: str):
    assert redact_text(text) == text


def test_the_key_changes_every_pseudonym(monkeypatch: pytest.MonkeyPatch):
    default = redact_text("alice@example.com")
    monkeypatch.setenv(KEY_ENV, "a team secret")
    keyed = redact_text("alice@example.com")
    assert default != keyed and kinds(keyed or "") == ["email"]


def test_frame_keeps_schema_order_and_groupings():
    frame = pl.DataFrame(
        {
            "caller": ["10.1.1.1", "10.1.1.2", "10.1.1.1", None],
            "message": [f"Bearer {USER_JWT}", "ok", "bob@example.org", "fine"],
            "calls": [3, 2, 1, 0],
            "tags": [["1.1.1.1", "x"], [], None, ["carol@example.org"]],
            "route": pl.Series(["/a", "/b", "/a", "/b"], dtype=pl.Categorical),
        }
    )
    masked = redact_frame(frame)
    assert masked.schema == frame.schema
    assert masked["calls"].to_list() == [3, 2, 1, 0]
    assert masked["route"].cast(pl.String).to_list() == ["/a", "/b", "/a", "/b"]
    callers = masked["caller"].to_list()
    assert callers[0] == callers[2] != callers[1] and callers[3] is None
    assert all(kinds(c) == ["ip"] for c in callers[:3])
    assert masked["message"][1] == "ok" and masked["message"][3] == "fine"
    assert kinds(masked["message"][0]) == ["jwt"] and kinds(masked["message"][2]) == ["email"]
    tags = masked["tags"].to_list()
    assert kinds(tags[0][0]) == ["ip"] and tags[0][1] == "x"
    assert tags[1] == [] and tags[2] is None and kinds(tags[3][0]) == ["email"]
    # the same counts per caller before and after
    before = frame.group_by("caller").agg(pl.col("calls").sum()).sort("calls")["calls"]
    after = masked.group_by("caller").agg(pl.col("calls").sum()).sort("calls")["calls"]
    assert before.to_list() == after.to_list()


@dataclass(frozen=True)
class _Verdict:
    check: str
    message: str
    observed: float


@dataclass
class _Report:
    title: str
    verdicts: list[_Verdict]
    rows: pl.DataFrame
    extra: dict


def test_obj_masks_nested_structures_and_dataclasses_without_touching_the_original():
    report = _Report(
        title="run from 192.168.0.7",
        verdicts=[_Verdict("no_errors", f"first seen for dave@example.net via {USER_JWT}", 3.0)],
        rows=pl.DataFrame({"ip": ["8.8.8.8"], "n": [1]}),
        extra={"callers": {"9.9.9.9": 4}, "ids": ("a", "bob@example.org")},
    )
    masked = redact_obj(report)
    assert kinds(masked.title) == ["ip"]
    assert kinds(masked.verdicts[0].message) == ["email", "jwt"]
    assert masked.verdicts[0].observed == 3.0 and masked.verdicts[0].check == "no_errors"
    assert kinds(masked.rows["ip"][0]) == ["ip"] and masked.rows["n"][0] == 1
    (caller,) = masked.extra["callers"]
    assert kinds(caller) == ["ip"] and masked.extra["callers"][caller] == 4
    assert masked.extra["ids"][0] == "a" and kinds(masked.extra["ids"][1]) == ["email"]
    assert report.title == "run from 192.168.0.7"  # the original is not modified
    assert report.rows["ip"][0] == "8.8.8.8"
    json_like = {"a": [1, None, "x 1.2.3.4"], "b": True}
    assert redact_obj(json_like) == {"a": [1, None, redact_text("x 1.2.3.4")], "b": True}


def test_nul_in_text_does_not_shift_the_masks():
    masked = redact_text("a\x00b 1.2.3.4 c")
    assert masked is not None and "1.2.3.4" not in masked and masked.endswith(" c")
