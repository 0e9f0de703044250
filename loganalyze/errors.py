"""One root exception, a message and a hint; the CLI maps each class to an exit code."""

from __future__ import annotations

from .exit_codes import ExitCode


class LogAnalyzeError(Exception):
    """An expected failure: shown to the user as `error: message` plus `hint:`, never a
    traceback."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(LogAnalyzeError):
    """Bad arguments or parameters."""

    exit_code = ExitCode.USAGE


class InputError(LogAnalyzeError):
    """A log file, export or database that cannot be read as a whole."""

    exit_code = ExitCode.INPUT_ERROR

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        file: str | None = None,
        line: int | None = None,
    ) -> None:
        where = ""
        if file is not None:
            where = file if line is None else f"{file}:{line}"
        super().__init__(f"{where}: {message}" if where else message, hint)
        self.file = file
        self.line = line


class DodError(LogAnalyzeError):
    """A Definition-of-Done file that does not parse or names unknown detectors/metrics."""

    exit_code = ExitCode.USAGE


class DetectorError(LogAnalyzeError):
    """An unknown detector or a bad detector parameter."""

    exit_code = ExitCode.USAGE
