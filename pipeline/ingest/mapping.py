"""Source mapping files: how one council's export maps onto the canonical contract.

A council onboards by writing one YAML file per source (docs/mappings.md), not code.
Everything is validated when the file is loaded, against the contract in
``pipeline.sources``, so a typo fails before any data is read and the error names
the file and the key.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from pipeline.config import ConfigError
from pipeline.sources import SOURCES
from pipeline.transforms.timestamps import DEFAULT_DATE_FORMAT, DEFAULT_TIMESTAMP_FORMAT

DEFAULT_GLOBS = {"csv": "*.csv", "parquet": "*.parquet"}


def _as_code(value: Any, where: str) -> str:
    """YAML turns unquoted ``yes``/``no``/``1`` into bool/int: accept numbers as their
    text, refuse booleans (the council meant a word, and we cannot know which)."""
    if isinstance(value, bool):
        raise ValueError(f"{where}: {value!r} was read as a boolean; quote codes such as 'yes'/'no'/'on'/'off'")
    if isinstance(value, (int, float, str)):
        return str(value)
    raise ValueError(f"{where}: expected a code, got {value!r}")


class SourceMapping(BaseModel):
    """One source's mapping (every key is documented in docs/mappings.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Literal["crm_cases", "crm_case_events", "call_logs", "works_orders"]
    format: Literal["csv", "parquet", "sql"] = "csv"
    glob: str | None = None
    encoding: Literal["utf-8", "utf-8-sig", "cp1252"] = "utf-8"
    delimiter: str = ","
    renames: dict[str, str] = {}
    value_maps: dict[str, dict[str, str]] = {}
    timestamp_format: str = DEFAULT_TIMESTAMP_FORMAT
    date_format: str = DEFAULT_DATE_FORMAT
    timezone: str | None = None
    query: str | None = None
    url_env: str | None = None
    conn_id: str | None = None

    @field_validator("delimiter")
    @classmethod
    def _one_character(cls, v: str) -> str:
        if len(v) != 1 or v in "\"\r\n":
            raise ValueError("must be one character (not a quote or newline), e.g. ',' or ';' or '\\t'")
        return v

    @field_validator("renames", mode="before")
    @classmethod
    def _rename_keys_text(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {_as_code(k, "renames"): val for k, val in v.items()}
        return v

    @field_validator("value_maps", mode="before")
    @classmethod
    def _codes_text(cls, v: Any) -> Any:
        if not isinstance(v, dict):
            return v
        out = {}
        for col, codes in v.items():
            if not isinstance(codes, dict):
                raise ValueError(f"value_maps.{col}: expected a mapping of council code -> canonical code")
            out[col] = {_as_code(k, f"value_maps.{col}"): _as_code(c, f"value_maps.{col}.{k}")
                        for k, c in codes.items()}
        return out

    @field_validator("timestamp_format", "date_format")
    @classmethod
    def _strptime_format(cls, v: str) -> str:
        sample = dt.datetime(2026, 11, 26, 13, 4, 5)
        try:
            dt.datetime.strptime(sample.strftime(v), v)
        except ValueError as exc:
            raise ValueError(f"not a usable strptime format ({exc})") from None
        if "%" not in v:
            raise ValueError("not a strptime format (no % directive), e.g. '%d/%m/%Y %H:%M'")
        return v

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (use an IANA name such as 'Europe/London')") from None
        return v

    @model_validator(mode="after")
    def _consistent(self) -> SourceMapping:
        src = SOURCES[self.source]
        canonical = set(src.column_names)
        bad = {k: v for k, v in self.renames.items() if v not in canonical}
        if bad:
            raise ValueError(f"renames: {bad} target columns not in {self.source} "
                             f"(canonical columns: {', '.join(src.column_names)})")
        targets = list(self.renames.values())
        twice = sorted({t for t in targets if targets.count(t) > 1})
        if twice:
            raise ValueError(f"renames: several council columns map to {twice}")
        for col, codes in self.value_maps.items():
            if col not in canonical:
                raise ValueError(f"value_maps: {col!r} is not a column of {self.source}")
            allowed = src.column(col).allowed
            if allowed is not None:
                wrong = {k: v for k, v in codes.items() if v not in allowed}
                if wrong:
                    raise ValueError(f"value_maps.{col}: {wrong} map to codes outside {list(allowed)}")
        if self.format == "sql":
            if not self.query:
                raise ValueError("format 'sql' needs 'query'")
            if (self.url_env is None) == (self.conn_id is None):
                raise ValueError("format 'sql' needs exactly one of 'url_env' or 'conn_id'")
            if self.glob is not None:
                raise ValueError("'glob' is for file formats, not 'sql'")
        elif self.query or self.url_env or self.conn_id:
            raise ValueError(f"'query', 'url_env' and 'conn_id' are for format 'sql', not {self.format!r}")
        return self

    @property
    def file_glob(self) -> str:
        """The glob of landing files (format-dependent default)."""
        return self.glob or DEFAULT_GLOBS[self.format]

    def source_column(self, canonical: str) -> str:
        """The council's name of a canonical column (for error messages)."""
        return next((k for k, v in self.renames.items() if v == canonical), canonical)


def load_mapping(path: Path | str) -> SourceMapping:
    """Read and validate one mapping file; errors name the file and the key."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"mapping file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level")
    try:
        return SourceMapping.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "(top level)"
            lines.append(f"  {key}: {err['msg'].removeprefix('Value error, ')}")
        raise ConfigError(f"invalid mapping {path}:\n" + "\n".join(lines)) from None
