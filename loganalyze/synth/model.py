"""What the simulated app calls: the Supabase requests each code path makes, per scenario.

Everything here is a small closed table; the simulation repeats these rows once per
request with numpy, so adding a call to a route is one line here.
"""

from __future__ import annotations

from dataclasses import dataclass

from .scenarios import Scenario

SUPABASE_JS_NODE = "supabase-js-node/2.49.4"
SUPABASE_SSR_BROWSER = "supabase-ssr/0.6.1 createBrowserClient"
NODE_UA = "node"


@dataclass(frozen=True)
class CallKind:
    name: str
    method: str
    path: str
    search: str | None
    """Query string with `{webinar}` filled per run and `{user}` per row (None: no query)."""
    table: str | None
    write: bool
    base_ms: float
    """Latency of the call on an idle database (median)."""
    auth: bool = False

    @property
    def search_parts(self) -> tuple[str, str] | None:
        """The query string split around `{user}` (None when it has no query)."""
        if self.search is None:
            return None
        head, _, tail = self.search.partition("{user}")
        return head, tail


def _rest(name: str, method: str, table: str, search: str | None, *, write: bool = False,
          base_ms: float = 18.0, path: str | None = None) -> CallKind:
    return CallKind(name, method, path or f"/rest/v1/{table}", search, table, write, base_ms)


KINDS: tuple[CallKind, ...] = (
    CallKind("auth_user", "GET", "/auth/v1/user", None, None, False, 45.0, auth=True),
    CallKind("token_refresh", "POST", "/auth/v1/token", "?grant_type=refresh_token", None,
             False, 80.0, auth=True),
    _rest("webinar_read", "GET", "webinars",
          "?select=id,title,status,starts_at&id=eq.{webinar}"),
    _rest("registration_select_id", "GET", "registrations",
          "?select=id&webinar_id=eq.{webinar}&user_id=eq.{user}", base_ms=6.0),
    _rest("registration_select", "GET", "registrations",
          "?select=webinar_id,user_id,status&webinar_id=eq.{webinar}&user_id=eq.{user}"),
    _rest("registration_insert", "POST", "registrations", "?select=*", write=True, base_ms=25.0),
    _rest("registration_upsert", "POST", "registrations", "?on_conflict=webinar_id,user_id",
          write=True, base_ms=25.0),
    _rest("presence_upsert", "POST", "webinar_live_presence", "?on_conflict=webinar_id,user_id",
          write=True, base_ms=22.0),
    _rest("sessions_read", "GET", "webinar_sessions",
          "?select=*&webinar_id=eq.{webinar}&order=starts_at.asc"),
    _rest("profile_read", "GET", "profiles", "?select=id,display_name,avatar_url&id=eq.{user}"),
    _rest("settings_read", "GET", "webinar_settings", "?select=*&webinar_id=eq.{webinar}"),
    _rest("polls_read", "GET", "polls",
          "?select=id,question,status&webinar_id=eq.{webinar}&status=eq.open"),
    _rest("chat_recent", "GET", "chat_messages",
          "?select=id,body,user_id,created_at&webinar_id=eq.{webinar}"
          "&order=created_at.desc&limit=50"),
    _rest("presence_count", "GET", "webinar_live_presence",
          "?select=count&webinar_id=eq.{webinar}"),
    _rest("access_insert", "POST", "webinar_access_logs", None, write=True, base_ms=20.0),
    _rest("access_upsert", "POST", "webinar_access_logs", "?on_conflict=webinar_id,user_id",
          write=True, base_ms=22.0),
    _rest("heartbeat_rpc", "POST", "webinar_live_presence", None, write=True, base_ms=12.0,
          path="/rest/v1/rpc/presence_heartbeat"),
    _rest("stats_access_count", "GET", "webinar_access_logs",
          "?select=count&webinar_id=eq.{webinar}"),
    _rest("stats_access_recent", "GET", "webinar_access_logs",
          "?select=user_id,created_at&webinar_id=eq.{webinar}&order=created_at.desc&limit=100",
          base_ms=35.0),
    _rest("stats_registrations", "GET", "registrations",
          "?select=count&webinar_id=eq.{webinar}"),
    _rest("stats_presence", "GET", "webinar_live_presence",
          "?select=user_id,last_seen_at&webinar_id=eq.{webinar}", base_ms=30.0),
    _rest("stats_chat", "GET", "chat_messages", "?select=count&webinar_id=eq.{webinar}"),
    _rest("stats_polls", "GET", "polls", "?select=id,question,votes&webinar_id=eq.{webinar}"),
    _rest("stats_profiles", "GET", "profiles", "?select=id,display_name&limit=1000",
          base_ms=40.0),
    _rest("chat_poll", "GET", "chat_messages",
          "?select=id,body,user_id,created_at&webinar_id=eq.{webinar}&order=created_at.asc"),
    _rest("chat_send", "POST", "chat_messages", None, write=True),
)
KIND_INDEX: dict[str, int] = {k.name: i for i, k in enumerate(KINDS)}

ROUTE_ENTER = "/api/webinar/enter"
ROUTE_PING = "/api/presence/ping"
ROUTE_TRACK = "/api/access/track"
ROUTE_STATS = "/api/stats/access"
ROUTE_METHODS = {ROUTE_ENTER: "POST", ROUTE_PING: "POST", ROUTE_TRACK: "POST", ROUTE_STATS: "GET"}

PING_EXTRA_READS = ("sessions_read", "profile_read", "settings_read", "polls_read",
                    "chat_recent", "presence_count")
STATS_READS = ("stats_access_count", "stats_access_recent", "stats_registrations",
               "stats_presence", "stats_chat", "stats_polls", "stats_profiles")


def route_program(scenario: Scenario, route: str) -> tuple[str, ...]:
    """The fixed calls a route makes, in order (ping extras are added per request)."""
    if route == ROUTE_STATS:
        return ("auth_user", *STATS_READS)
    if scenario.schema_bug:
        lookup = ("auth_user", "registration_select_id", "registration_insert")
        return {
            ROUTE_ENTER: ("auth_user", "webinar_read", "registration_select_id",
                          "registration_insert"),
            ROUTE_PING: (*lookup, "presence_upsert", "webinar_read"),
            ROUTE_TRACK: (*lookup, "access_insert", "webinar_read"),
        }[route]
    enter = ("auth_user", "webinar_read", "registration_upsert")
    if route == ROUTE_ENTER:
        return enter
    if route == ROUTE_PING:
        return ("auth_user", "registration_select", "presence_upsert", "webinar_read")
    if scenario.track_single_upsert:
        return ("access_upsert",)
    return ("auth_user", "registration_select", "access_insert")


# PostgREST's statements for the two failing calls, as Postgres logs them.
STATEMENT_SELECT_ID = (
    'WITH pgrst_source AS ( SELECT "public"."registrations"."id" FROM "public"."registrations"'
    '  WHERE  "public"."registrations"."webinar_id" = $1 AND  "public"."registrations"."user_id"'
    " = $2   )  SELECT null::bigint AS total_result_set, pg_catalog.count(_postgrest_t) AS "
    "page_total, coalesce(json_agg(_postgrest_t), '[]') AS body, "
    "nullif(current_setting('response.headers', true), '') AS response_headers, "
    "nullif(current_setting('response.status', true), '') AS response_status, '' AS "
    "response_inserted FROM ( SELECT * FROM pgrst_source ) _postgrest_t"
)
STATEMENT_INSERT = (
    'WITH pgrst_source AS (INSERT INTO "public"."registrations"("status", "user_id", '
    '"webinar_id") SELECT "pgrst_body"."status", "pgrst_body"."user_id", '
    '"pgrst_body"."webinar_id" FROM (SELECT $1 AS json_data) pgrst_payload, LATERAL (SELECT '
    '"status", "user_id", "webinar_id" FROM json_to_record(pgrst_payload.json_data) AS '
    '_("status" text, "user_id" uuid, "webinar_id" uuid) ) pgrst_body  RETURNING '
    '"public"."registrations".*) SELECT \'\' AS total_result_set, '
    "pg_catalog.count(_postgrest_t) AS page_total, CASE WHEN pg_catalog.count(_postgrest_t) = 1 "
    "THEN coalesce(json_agg(_postgrest_t)->0, 'null') ELSE coalesce(json_agg(_postgrest_t), "
    "'[]') END AS body, nullif(current_setting('response.headers', true), '') AS "
    "response_headers, nullif(current_setting('response.status', true), '') AS "
    "response_status, '' AS response_inserted FROM (SELECT * FROM pgrst_source) _postgrest_t"
)
MESSAGE_42703 = "column registrations.id does not exist"
MESSAGE_23505 = 'duplicate key value violates unique constraint "registrations_pkey"'

CRON_JOBS = (
    # jobid, name, every (s), command
    (3, "purge-live-presence", 120,
     "DELETE FROM public.webinar_live_presence WHERE last_seen_at < now() - interval '1 day'"),
    (4, "purge-access-logs", 300,
     "DELETE FROM public.webinar_access_logs WHERE created_at < now() - interval '30 days'"),
)
MESSAGE_CRON_TIMEOUT = "canceling statement due to statement timeout"

BROWSER_USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; SM-S918N) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
)
