"""Self-hosted Supavisor container output, into supavisor_logs. Supavisor logs through
Elixir Logger with `$time $metadata[$level] $message` and metadata keys such as
`project`, `user`, `mode`, `type`, `app_name`, `peer_ip` (supabase/supavisor
config/config.exs), e.g.

    10:00:07.512 project=eventlive user=authenticator mode=transaction [error] DbHandler: Session terminated by server while checked out by a client

Line folding and dates work exactly as for Realtime (see realtime.py): `--date` or a
`docker logs --timestamps` prefix gives the day.
"""

from __future__ import annotations

from .core import FileContext, LogFormat, register
from .files import Sample
from .realtime import (
    elixir_share,
    metadata_value_sql,
    require_date,
    stage_elixir_entries,
)
from .textlines import LINE_ID_SQL, REPEATS_CTE

SUPAVISOR_METADATA_KEYS = (
    "request_id", "project", "user", "region", "instance_id", "mode", "type", "app_name",
    "peer_ip", "local", "proxy", "db_name",
)

_SUPAVISOR_SQL = """
WITH """ + REPEATS_CTE + """
SELECT p._line, p._raw,
       'supavisor:' || """ + LINE_ID_SQL + """ AS id,
       p.ts, p.level, p.message,
       """ + metadata_value_sql("project") + """ AS project,
       """ + metadata_value_sql("user") + """ AS user_name,
       """ + metadata_value_sql("db_name") + """ AS db_name,
       p._reject
FROM _la_parsed p LEFT JOIN repeats r ON r._row = p.rowid
"""


def _load(ctx: FileContext) -> None:
    require_date(ctx, "Supavisor")
    stage_elixir_entries(ctx, "supavisor_logs", _SUPAVISOR_SQL, SUPAVISOR_METADATA_KEYS)


def _sniff(sample: Sample) -> int:
    if sample.first_char in "[{" or not sample.lines:
        return 0
    entries, supavisor = elixir_share(sample)
    if not supavisor or supavisor * 2 <= entries:
        return 0
    return 70 if entries * 3 >= min(len(sample.lines), 200) else 35


register(LogFormat(
    name="supavisor",
    description="Self-hosted Supavisor container output (Elixir Logger lines with "
    "project/user/mode metadata; needs --date unless lines carry docker timestamps)",
    sniff=_sniff, load=_load, tables=("supavisor_logs",),
    example="docker logs supabase-pooler > pooler.log 2>&1 && "
    "loganalyze ingest pooler.log --date 2026-11-20",
))
