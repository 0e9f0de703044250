"""Build loganalyze/ingest/sqlstate_catalog.tsv: PostgreSQL's server error messages with
the SQLSTATE each is raised with, read from the PostgreSQL sources.

PostgreSQL writes no SQLSTATE to a stderr log unless `%e` is in `log_line_prefix` (it is
not by default). The ingest then infers the code from the message text by matching it
against these templates (loganalyze/ingest/sqlstate.py). To regenerate the catalog:

    # once: Debian's source packages (deb-src) must be enabled for apt
    apt-get source --download-only postgresql-15 && dpkg-source -x postgresql-15_*.dsc pg15
    python tools/build_sqlstate_catalog.py pg15 [pg16 ...]

Each argument is an unpacked PostgreSQL source tree; the first is the reference major
(its wording wins a tie), later ones add wording of other majors. Known wording of older
majors (`KNOWN_WORDINGS` below) is added to every build. The script also copies the
PostgreSQL licence (`COPYRIGHT` of the first tree) beside the catalog.

What is read, in `src/` (server and PL/pgSQL) and `contrib/` (extensions), tests and
client programs left out:
- every `ereport(...)`/`ereport_domain(...)` call: each `errmsg`, `errmsg_internal` and
  `errmsg_plural` template in it, with the `ERRCODE_*` of its `errcode(...)`; a call
  without one raises XX000 (internal_error), as elog.c decides;
- `errcode_for_file_access()` / `errcode_for_socket_access()`: the code follows errno, so
  a template ending in `%m` gets one row per errno text elog.c maps (`... No such file or
  directory` → 58P01) and a catch-all row with the default code;
- `elog(ERROR|FATAL|PANIC, "...")`: XX000;
- a message held in a variable (`err = _("...")`, `errmsg_internal("%s", err)`) or in a
  file-level table (`recursion_errormsgs[...]`): every text the function or table gives it;
  string literals a call passes for `%s` are written into its template;
- `xml_ereport(cxt, level, ERRCODE_*, "...")`, and `DateTimeParseError(..., "date")`:
  invalid_datetime_format for `invalid input syntax for type date: "%s"`;
- the privilege messages `aclcheck_error()` picks from its tables (42501), the DROP
  messages of `dropmsgstringarray[]`, and `GUC_check_errmsg(...)` texts (22023).
Only templates that can be raised at ERROR, FATAL or PANIC (or at a level chosen at run
time) are kept: inference runs on those lines alone. Templates that are nothing but
placeholders are left out.

Output columns (tab-separated, header row, `\\t` `\\n` `\\\\` escaped in text):
  sqlstate, condition, template (printf, as in the source), like_pattern (the template as
  an SQL LIKE pattern, `\\` escaping), literal_chars (characters of fixed text: the most
  wins), head_key / tail_key (the hash key a message reaches the template by: its first
  24, 16, 8 or 4 characters of fixed text, else its last four; both empty when it has
  neither), weight (how many raise sites use this template with this code: breaks ties),
  origin (`pg15`, `pg15 contrib`, `pg<=11 wording`, ...).
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
CATALOG = HERE.parent / "loganalyze" / "ingest" / "sqlstate_catalog.tsv"
LICENCE = HERE.parent / "loganalyze" / "ingest" / "sqlstate_catalog.COPYRIGHT"

# Format macros spliced between string literals in the sources (c.h / port.h).
FORMAT_MACROS = {
    "INT64_FORMAT": "%lld", "UINT64_FORMAT": "%llu", "INT64_MODIFIER": "ll",
    "UINT64_FORMAT_HEX": "%llx", "PRId64": "lld", "PRIu64": "llu", "PRIx64": "llx",
    "PRId32": "d", "PRIu32": "u", "PRIx32": "x",
}

# errno texts (glibc strerror) and the code elog.c's errcode_for_file_access() gives each.
FILE_ERRNO_CODES = {
    "Operation not permitted": "42501", "Permission denied": "42501",
    "Read-only file system": "42501", "No such file or directory": "58P01",
    "File exists": "58P02", "Not a directory": "42809", "Is a directory": "42809",
    "Directory not empty": "42809", "No space left on device": "53100",
    "Cannot allocate memory": "53200", "Too many open files in system": "53000",
    "Too many open files": "53000", "Input/output error": "58030",
}
# errcode_for_socket_access(): ALL_CONNECTION_FAILURE_ERRNOS → connection_failure.
SOCKET_ERRNO_CODES = {
    text: "08006" for text in (
        "Broken pipe", "Connection reset by peer", "Software caused connection abort",
        "Host is down", "No route to host", "Network is down",
        "Network dropped connection on reset", "Network is unreachable",
    )
}

# Wording of other majors, as their servers print it (PostgreSQL release notes and
# sources); each row: (sqlstate, template, origin).
KNOWN_WORDINGS = (
    ("22P02", 'invalid input syntax for integer: "%s"', "pg<=11 wording"),
    ("22P02", 'invalid input syntax for type %s: "%s"', "pg<=11 wording"),
    ("23502", 'null value in column "%s" violates not-null constraint', "pg<=12 wording"),
    ("42501", "permission denied for relation %s", "pg<=10 wording"),
    ("42501", "must be owner of relation %s", "pg<=10 wording"),
    ("53300", "remaining connection slots are reserved for roles with the %s attribute",
     "pg16+ wording"),
    ("53300", 'remaining connection slots are reserved for roles with privileges of the "%s" role',
     "pg16+ wording"),
    ("53300", "remaining connection slots are reserved for superusers", "pg16+ wording"),
)

# Directories of a source tree that raise no server errors (or only in tests).
SKIP_PARTS = {"test", "tests", "interfaces", "bin", "fe_utils", "tools", "tutorial", "regress", "isolation"}
KEEP_SEVERITIES = {"ERROR", "FATAL", "PANIC"}
KNOWN_LEVELS = {"DEBUG1", "DEBUG2", "DEBUG3", "DEBUG4", "DEBUG5", "LOG", "LOG_SERVER_ONLY",
                "COMMERROR", "INFO", "NOTICE", "WARNING", "WARNING_CLIENT_ONLY", "ERROR",
                "FATAL", "PANIC", "PGWARNING", "PGERROR"}

# printf conversions as PostgreSQL's snprintf knows them: flags, width, precision,
# length modifiers; %m is strerror(errno); %% a literal percent.
PLACEHOLDER = re.compile(r"%(?:\d+\$)?[-+ #0]*(?:\*(?:\d+\$)?|\d+)?(?:\.(?:\*(?:\d+\$)?|\d+))?"
                         r"(?:hh|h|ll|l|L|q|j|z|t)?[diouxXeEfFgGaAcspm]")


@dataclass(frozen=True)
class Row:
    sqlstate: str
    template: str
    origin: str


def read_errcodes(tree: Path) -> tuple[dict[str, str], dict[str, str]]:
    """ERRCODE_* macro → SQLSTATE, and SQLSTATE → condition name (errcodes.txt)."""
    macro_code: dict[str, str] = {}
    condition: dict[str, str] = {}
    for line in (tree / "src/backend/utils/errcodes.txt").read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) >= 3 and re.fullmatch(r"[0-9A-Z]{5}", parts[0]) and parts[2].startswith("ERRCODE_"):
            macro_code[parts[2]] = parts[0]
            if len(parts) >= 4:
                condition.setdefault(parts[0], parts[3])
    return macro_code, condition


def strip_comments(src: str) -> str:
    """C source with comments blanked (strings and char literals kept as they are)."""
    out: list[str] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c == "/" and src.startswith("/*", i):
            end = src.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(" " * (end - i))
            i = end
        elif c == "/" and src.startswith("//", i):
            end = src.find("\n", i)
            end = n if end < 0 else end
            out.append(" " * (end - i))
            i = end
        elif c in "\"'":
            j = i + 1
            while j < n and src[j] != c:
                j += 2 if src[j] == "\\" else 1
            out.append(src[i:j + 1])
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def call_args(src: str, open_paren: int) -> tuple[list[str], int]:
    """Top-level comma-separated arguments of the call whose `(` is at open_paren."""
    depth, i, start, args = 0, open_paren, open_paren + 1, []
    n = len(src)
    while i < n:
        c = src[i]
        if c in "\"'":
            j = i + 1
            while j < n and src[j] != c:
                j += 2 if src[j] == "\\" else 1
            i = j + 1
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                args.append(src[start:i])
                return [a.strip() for a in args], i + 1
        elif c == "," and depth == 1:
            args.append(src[start:i])
            start = i + 1
        i += 1
    return [], n


C_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'", "r": "\r", "a": "\a", "0": "\0"}


def literal(expr: str) -> str | None:
    """The text of a (concatenated) C string literal, with format macros spliced in;
    None when the expression is anything else (a variable, a function call)."""
    expr = expr.strip()
    wrapper = re.fullmatch(r"(?:_|gettext_noop|N_)\s*\((.*)\)", expr, re.S)
    if wrapper:
        expr = wrapper.group(1).strip()
    pieces: list[str] = []
    i, n = 0, len(expr)
    while i < n:
        c = expr[i]
        if c.isspace():
            i += 1
        elif c == '"':
            j, buf = i + 1, []
            while j < n and expr[j] != '"':
                if expr[j] == "\\" and j + 1 < n:
                    buf.append(C_ESCAPES.get(expr[j + 1], expr[j + 1]))
                    j += 2
                else:
                    buf.append(expr[j])
                    j += 1
            pieces.append("".join(buf))
            i = j + 1
        else:
            word = re.match(r"[A-Za-z_][A-Za-z0-9_]*", expr[i:])
            if not word or word.group(0) not in FORMAT_MACROS:
                return None
            pieces.append(FORMAT_MACROS[word.group(0)])
            i += len(word.group(0))
    return "".join(pieces) if pieces else None


CALL = re.compile(r"\b(ereport_domain|ereport|elog|GUC_check_errmsg|xml_ereport|DateTimeParseError)\s*\(")
SUBCALL = re.compile(r"\b(errcode|errmsg_plural|errmsg_internal|errmsg|errcode_for_file_access|"
                     r"errcode_for_socket_access)\s*\(")


def level_kept(level: str) -> bool:
    """Can a call at this level end up as an ERROR/FATAL/PANIC line? A level chosen at
    run time (a variable, a ternary naming ERROR) can."""
    names = set(re.findall(r"\b[A-Z_][A-Z0-9_]*\b", level))
    if names & KEEP_SEVERITIES:
        return True
    return not names or not names <= KNOWN_LEVELS


def errno_variants(template: str, table: dict[str, str], default: str) -> list[tuple[str, str]]:
    """(code, template) rows for a template whose code follows errno: `%m` spelled out."""
    if "%m" not in template:
        return [(default, template)]
    rows = [(default, template)]
    for text, code in table.items():
        rows.append((code, template.replace("%m", text.replace("%", "%%"))))
    return rows


def top_level_blocks(src: str) -> list[tuple[int, int]]:
    """(start, end) of every outermost `{...}` block: function bodies, mostly."""
    blocks, depth, start = [], 0, 0
    for m in re.finditer(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|[{}]', src):
        if m.group(0) == "{":
            if depth == 0:
                start = m.start()
            depth += 1
        elif m.group(0) == "}" and depth > 0:
            depth -= 1
            if depth == 0:
                blocks.append((start, m.end()))
    return blocks


def assigned_literals(scope: str, variable: str) -> list[tuple[str, int]]:
    """Templates a message variable is set to in its function, `msg = gettext_noop("...")`,
    each with where the assignment is."""
    found = re.finditer(r"\b" + re.escape(variable) + r'\s*=\s*((?:_|gettext_noop|N_)\s*\(\s*"(?:[^"\\]|\\.)*"(?:\s*"(?:[^"\\]|\\.)*")*\s*\)|"(?:[^"\\]|\\.)*")', scope)
    return [(t, m.start()) for m in found if (t := literal(m.group(1)))]


def assigned_codes(scope: str, variable: str, macro_code: dict[str, str], at: int | None) -> list[str]:
    """Codes an errcode variable is set to in its function. With `at` (where the message
    was chosen), the one set in the same `case` of a switch, else its initial value."""
    found = [(m.start(), macro_code[m.group(1)]) for m in re.finditer(
        r"\b" + re.escape(variable) + r"\s*=\s*(ERRCODE_[A-Z0-9_]+)\b", scope) if m.group(1) in macro_code]
    if at is None or not found:
        return list(dict.fromkeys(code for _, code in found))
    case_start = max((m.start() for m in re.finditer(r"\b(?:case\b|default\s*:)", scope[:at])), default=0)
    case_end = scope.find("break;", at)
    same_case = [code for pos, code in found if case_start <= pos < (case_end if case_end >= 0 else len(scope))]
    return same_case[:1] or [found[0][1]]


def specialized(template: str, args: list[str]) -> str:
    """The template with the string literals its call passes for `%s` written in:
    `errmsg("invalid input syntax for type %s: \\"%s\\"", "numeric time zone", tzname)`
    raises only `invalid input syntax for type numeric time zone: "%s"`."""
    found = list(re.finditer(r"%%|" + PLACEHOLDER.pattern, template))
    if any("*" in m.group(0) or "$" in m.group(0) for m in found):
        return template
    out, i, arg = [], 0, 0
    for m in found:
        out.append(template[i:m.start()])
        i = m.end()
        if m.group(0) in ("%%", "%m"):
            out.append(m.group(0))
            continue
        text = literal(args[arg]) if arg < len(args) and m.group(0) == "%s" else None
        out.append(m.group(0) if text is None else text.replace("%", "%%"))
        arg += 1
    return "".join(out) + template[i:]


def message_variable(expr: str, scope: str, src: str) -> list[tuple[str, int | None]]:
    """Templates a non-literal message argument can hold: a variable set in the function
    (`err = _("...")`), or an entry of a file-level table (`recursion_errormsgs[i]`)."""
    expr = re.sub(r"^(?:_|gettext)\s*\((.*)\)$", r"\1", expr.strip(), flags=re.S).strip()
    if re.fullmatch(r"[a-z_][a-z0-9_]*", expr):
        return [(t, at) for t, at in assigned_literals(scope, expr)]
    table = re.fullmatch(r"([a-z_][a-z0-9_]*)\s*\[.*\]", expr, re.S)
    if table:
        definition = re.search(r"\b" + table.group(1) + r"\s*\[\s*\]\s*=\s*\{(.*?)\};", src, re.S)
        if definition:
            texts = re.findall(r'gettext_noop\(\s*("(?:[^"\\]|\\.)*")\s*\)', definition.group(1))
            return [(t, None) for t in map(literal, texts) if t]
    return []


def ereport_rows(body: str, macro_code: dict[str, str], scope: str, src: str) -> list[tuple[str, str]]:
    """(code, template) rows of one ereport call, given its arguments after the level;
    `scope` is the function it sits in, where a message or code held in a variable is set."""
    codes: list[str] = []
    code_variable: str | None = None
    errno_table: tuple[dict[str, str], str] | None = None
    templates: list[tuple[str, int | None]] = []
    for m in SUBCALL.finditer(body):
        name = m.group(1)
        sub, _ = call_args(body, m.end() - 1)
        if name == "errcode" and sub:
            codes += [macro_code[x] for x in re.findall(r"\bERRCODE_[A-Z0-9_]+\b", sub[0]) if x in macro_code]
            if re.fullmatch(r"[a-z_][a-z0-9_]*", sub[0]):
                code_variable = sub[0]
        elif name == "errcode_for_file_access":
            errno_table = (FILE_ERRNO_CODES, "XX000")
        elif name == "errcode_for_socket_access":
            errno_table = (SOCKET_ERRNO_CODES, "XX000")
        elif name == "errmsg_plural" and len(sub) >= 2:
            templates += [(t, None) for t in (literal(sub[0]), literal(sub[1])) if t]
        elif name in ("errmsg", "errmsg_internal") and sub:
            text = literal(sub[0])
            if text == "%s" and len(sub) > 1:  # errmsg_internal("%s", err): the text is in err
                templates += message_variable(sub[1], scope, src)
            elif text:
                templates.append((specialized(text, sub[1:]), None))
            else:
                templates += message_variable(sub[0], scope, src)
    rows: list[tuple[str, str]] = []
    for template, at in templates:
        chosen = codes or (assigned_codes(scope, code_variable, macro_code, at) if code_variable else [])
        if chosen:
            rows += [(code, template) for code in dict.fromkeys(chosen)]
        elif errno_table:
            rows += errno_variants(template, *errno_table)
        elif not code_variable:  # no errcode at all: elog.c's default
            rows.append(("XX000", template))
    return rows


def special_rows(path: Path, src: str, macro_code: dict[str, str]) -> list[tuple[str, str]]:
    """Messages chosen from tables at run time rather than written in an ereport."""
    noop = re.compile(r'gettext_noop\(\s*("(?:[^"\\]|\\.)*")\s*\)')
    rows: list[tuple[str, str | None]] = []
    if path.name == "tablecmds.c":
        start = src.find("dropmsgstringarray[] = {")
        if start >= 0:
            block = src[start:src.find("};", start)]
            for entry in re.finditer(r"\{\s*RELKIND_\w+\s*,\s*(ERRCODE_\w+)\s*,(.*?)\}", block, re.S):
                messages = [literal(t) for t in noop.findall(entry.group(2))]
                if len(messages) >= 3:
                    rows.append((macro_code[entry.group(1)], messages[0]))  # nonexistent
                    rows.append(("42809", messages[2]))  # DropErrorMsgWrongType: wrong_object_type
    return [(code, text) for code, text in rows if text]


def source_files(tree: Path) -> list[Path]:
    files = []
    for top in ("src", "contrib"):
        for path in sorted((tree / top).rglob("*")):
            if path.suffix not in (".c", ".y", ".l", ".h") or not path.is_file():
                continue
            rel = path.relative_to(tree).parts
            if SKIP_PARTS & set(rel[1:-1]):
                continue
            files.append(path)
    return files


def rows_of_tree(tree: Path, major: str) -> tuple[Counter[Row], dict[str, str]]:
    macro_code, condition = read_errcodes(tree)
    found: Counter[Row] = Counter()
    for path in source_files(tree):
        src = strip_comments(path.read_text(encoding="utf-8", errors="replace"))
        origin = major if path.relative_to(tree).parts[0] == "src" else f"{major} contrib"
        pairs: list[tuple[str, str]] = []
        blocks = top_level_blocks(src)
        for m in CALL.finditer(src):
            args, _ = call_args(src, m.end() - 1)
            if not args:
                continue
            name = m.group(1)
            if name == "xml_ereport" and len(args) == 4:
                text = literal(args[3])
                if text and level_kept(args[1]) and args[2] in macro_code:
                    pairs.append((macro_code[args[2]], text))
                continue
            if name == "DateTimeParseError" and len(args) == 3:
                datatype = literal(args[2])
                if datatype:  # DTERR_BAD_FORMAT: invalid_datetime_format naming the caller's type
                    pairs.append(("22007", 'invalid input syntax for type ' + datatype.replace("%", "%%") + ': "%s"'))
                continue
            if name == "GUC_check_errmsg":
                text = literal(args[0])
                if text:
                    pairs.append(("22023", text))
                continue
            level = args[1] if name == "ereport_domain" and len(args) > 1 else args[0]
            if not level_kept(level):
                continue
            if name == "elog":
                text = literal(args[1]) if len(args) > 1 else None
                if text:
                    pairs.append(("XX000", text))
            else:
                scope = next((src[a:b] for a, b in blocks if a <= m.start() < b), "")
                pairs += ereport_rows(",".join(args[2:] if name == "ereport_domain" else args[1:]), macro_code, scope, src)
        pairs += special_rows(path, src, macro_code)
        for code, template in pairs:
            if PLACEHOLDER.sub("", template.replace("%%", "%")).strip(" :\"'.,") == "":
                continue  # nothing but placeholders: would match anything
            found[Row(code, template, origin)] += 1
    return found, condition


def like_pattern(template: str) -> str:
    """printf template → anchored LIKE pattern: placeholders become `%`, literal `%` and
    `_` are escaped with a backslash."""
    out: list[str] = []
    i = 0
    for m in re.finditer(r"%%|" + PLACEHOLDER.pattern, template):
        out.append(re.sub(r"([\\%_])", r"\\\1", template[i:m.start()]))
        out.append(r"\%" if m.group(0) == "%%" else "%")
        i = m.end()
    out.append(re.sub(r"([\\%_])", r"\\\1", template[i:]))
    return re.sub(r"%%+", "%", "".join(out))


HEAD_KEY_LENGTHS = (24, 16, 8, 4)
"""Lengths a template's head key may take: the longest its fixed head allows. A message
is joined on its first 24, 16, 8 and 4 characters (loganalyze/ingest/macros.sql), so
`could not open file ...` meets only the templates that begin with those 24 characters,
not every `could ...`."""
TAIL_KEY_LENGTH = 4


def match_keys(template: str) -> tuple[str, str]:
    """(head_key, tail_key): the message's first characters when the template starts
    with at least four characters of fixed text (as many as HEAD_KEY_LENGTHS allows);
    else its last four when it ends with that much; else neither (the template is tried
    on every message)."""
    parts = re.split(r"%%|" + PLACEHOLDER.pattern, template)
    head, tail = parts[0], parts[-1]
    for length in HEAD_KEY_LENGTHS:
        if len(head) >= length:
            return head[:length], ""
    if len(tail) >= TAIL_KEY_LENGTH:
        return "", tail[-TAIL_KEY_LENGTH:]
    return "", ""


def literal_chars(template: str) -> int:
    return len(PLACEHOLDER.sub("", template.replace("%%", "%")))


def escape_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trees", nargs="+", type=Path, help="unpacked PostgreSQL source trees, reference first")
    parser.add_argument("--out", type=Path, default=CATALOG)
    args = parser.parse_args(argv)
    rows: Counter[Row] = Counter()
    conditions: dict[str, str] = {}
    for tree in args.trees:
        version = (tree / "configure.ac").read_text(encoding="utf-8")
        major = "pg" + re.search(r"AC_INIT\(\[PostgreSQL\], \[(\d+)", version).group(1)  # type: ignore[union-attr]
        found, condition = rows_of_tree(tree, major)
        seen = {(r.sqlstate, r.template) for r in rows}
        for row, count in found.items():
            if (row.sqlstate, row.template) not in seen:
                rows[row] += count
        for code, name in condition.items():
            conditions.setdefault(code, name)
    for code, template, origin in KNOWN_WORDINGS:
        if not any(r.sqlstate == code and r.template == template for r in rows):
            rows[Row(code, template, origin)] += 1
    # one row per (template, code); core sources before contrib, then older wordings
    merged: dict[tuple[str, str], tuple[int, str]] = {}
    for row, count in sorted(rows.items(), key=lambda kv: ("contrib" in kv[0].origin, "wording" in kv[0].origin)):
        key = (row.template, row.sqlstate)
        weight, origin = merged.get(key, (0, row.origin))
        merged[key] = (weight + count, origin)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write("sqlstate\tcondition\ttemplate\tlike_pattern\tliteral_chars\thead_key\ttail_key\tweight\torigin\n")
        for (template, code), (weight, origin) in sorted(merged.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            fh.write("\t".join((code, conditions.get(code, ""), escape_cell(template),
                                escape_cell(like_pattern(template)), str(literal_chars(template)),
                                *map(escape_cell, match_keys(template)), str(weight), origin)) + "\n")
    shutil.copyfile(args.trees[0] / "COPYRIGHT", LICENCE if args.out == CATALOG else args.out.with_suffix(".COPYRIGHT"))
    print(f"{len(merged):,} templates → {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
