"""`loganalyze pull`: a hosted project's logs from the Management API logs endpoint,
complete by construction (slices, keyset pages, count() confirmation), resumable
through a ledger in the database. See docs/pull.md."""

from .client import (
    API_URL_ENV_VAR,
    DEFAULT_API_URL,
    TOKEN_ENV_VAR,
    PullError,
    check_project_ref,
    read_token,
)
from .core import (
    PullIncomplete,
    PullOptions,
    PullProgress,
    PullSummary,
    SliceResult,
    incomplete_error,
    pull,
    resolve_sources,
)
from .retry import RetryPolicy
from .slicing import Slice

__all__ = [
    "API_URL_ENV_VAR",
    "DEFAULT_API_URL",
    "TOKEN_ENV_VAR",
    "PullError",
    "PullIncomplete",
    "PullOptions",
    "PullProgress",
    "PullSummary",
    "RetryPolicy",
    "Slice",
    "SliceResult",
    "check_project_ref",
    "incomplete_error",
    "pull",
    "read_token",
    "resolve_sources",
]
