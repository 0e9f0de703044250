"""Process exit codes. Only `check` turns findings into a failure; every other command
exits 0 whatever the logs contain."""

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    """Everything ran; for `check`, every check passed (warn-severity failures included)."""

    CHECKS_FAILED = 1
    """`check`: at least one fail-severity check failed."""

    USAGE = 2
    """Bad command line, or a DoD file that does not parse or names unknown things."""

    INPUT_ERROR = 3
    """A log file could not be read or ingested (the database is left as it was), or
    `--strict` met a rejected row, or the database could not be opened."""

    INCONCLUSIVE = 4
    """`check`: nothing failed, but at least one check lacked the data to decide."""

    INCOMPLETE = 5
    """`pull` (and `report`/`run`/`check --project`): some slices of the asked range could
    not be confirmed complete (row count never matched the service's count(), or the time
    budget ran out); what was fetched is kept, and a re-run fetches only what is missing."""
