"""Errors a run can end with; each message names what an operator must look at."""

from __future__ import annotations


class PipelineError(Exception):
    """Base for errors that stop a run before anything is published."""

    exit_code = 1


class ExtractError(PipelineError):
    """A landing file that cannot be read at all (names the file, row and column)."""

    exit_code = 3

    def __init__(self, file: str, reason: str, *, column: str | None = None, line: int | None = None):
        self.file, self.reason, self.column, self.line = file, reason, column, line
        where = file + (f", line {line}" if line is not None else "") + (f", column '{column}'" if column else "")
        super().__init__(f"{where}: {reason}")


class ValidationFailed(PipelineError):
    """A critical expectation failed; nothing was published."""

    exit_code = 4


class PublishError(PipelineError):
    """Publishing failed; the previous publication is intact."""

    exit_code = 5
