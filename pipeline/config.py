"""The one typed place for configuration.

Defaults live in ``pipeline/defaults.yaml`` (every key documented there). A council's
own YAML file overrides any subset of keys; environment variables override both,
as ``JOURNEYS_<SECTION>__<KEY>`` (e.g. ``JOURNEYS_JOURNEYS__REOPEN_WINDOW_DAYS=14``).
Loading validates everything up front so a typo fails the run before any work.
Secrets are never stored in the config itself: only the *name* of the environment
variable (or Airflow connection) that holds them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
DEFAULTS_FILE = PACKAGE_DIR / "defaults.yaml"
ENV_PREFIX = "JOURNEYS_"

SOURCES = ("crm_cases", "crm_case_events", "call_logs", "works_orders")
FAILURE_TYPES = ("progress_chase", "repeat", "complaint", "not_done_right")


class ConfigError(ValueError):
    """Configuration that cannot be used; the message names the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class JourneyRules(_Strict):
    reopen_window_days: int = Field(28, ge=0)
    call_case_link_minutes: int = Field(60, ge=0)
    # wrap code -> demand type; "value" means not failure; null means not a demand signal
    wrap_code_demand: dict[str, str | None]
    queue_service: dict[str, str]

    @field_validator("wrap_code_demand")
    @classmethod
    def _known_demand_types(cls, v: dict[str, str | None]) -> dict[str, str | None]:
        allowed = {None, "value", *FAILURE_TYPES}
        bad = {k: t for k, t in v.items() if t not in allowed}
        if bad:
            raise ValueError(f"unknown demand types {bad}; allowed: {sorted(a for a in allowed if a)}")
        return v


class MeasureRules(_Strict):
    capability_window_weeks: int = Field(13, ge=1)
    small_number_threshold: int = Field(5, ge=1)
    run_length: int = Field(8, ge=2)
    wip_age_bands: list[tuple[int, int | None]]

    @field_validator("wip_age_bands")
    @classmethod
    def _bands_cover_every_age(cls, v: list[tuple[int, int | None]]) -> list[tuple[int, int | None]]:
        """Every open journey must land in exactly one band: contiguous from 0, open-ended last."""
        expected_lo = 0
        for i, (lo, hi) in enumerate(v):
            if lo != expected_lo:
                raise ValueError(f"band {i} starts at {lo}; expected {expected_lo} (bands are contiguous from 0)")
            if hi is None and i != len(v) - 1:
                raise ValueError(f"band {i} has no upper bound but is not the last band")
            if hi is not None and hi < lo:
                raise ValueError(f"band {i} ends at {hi}, before it starts at {lo}")
            expected_lo = hi + 1 if hi is not None else lo
        if not v or v[-1][1] is not None:
            raise ValueError("the last band must have no upper bound (null), so every age has a band")
        return v


class IdentityRules(_Strict):
    model_path: Path
    match_probability: float = Field(0.95, gt=0, lt=1)
    max_cluster_size: int = Field(12, ge=2)
    blocked_numbers: list[str] = []
    hmac_secret_env: str = "JOURNEYS_HMAC_SECRET"
    hmac_secret_conn_id: str = "journeys_hmac"


class ValidationRules(_Strict):
    expectations_dir: Path
    data_docs_dir: Path | None = None
    row_count_band: tuple[float, float] = (0.5, 3.0)
    earliest_timestamp: str = "2000-01-01"
    max_future_days: int = 2


class HealthRules(_Strict):
    max_run_age_hours: float = 36
    max_quarantine_rate: float = Field(0.05, ge=0, le=1)
    max_source_age_hours: float = 48


class OrchestrationRules(_Strict):
    source_deadline: str = Field("06:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    schedule_cron: str = "30 2 * * *"
    retries: int = Field(2, ge=0)
    retry_delay_minutes: float = Field(5, gt=0)
    max_retry_delay_minutes: float = Field(60, gt=0)
    webhook_conn_id: str = "journeys_webhook"
    owner: str = "council-journeys"
    poke_interval_seconds: float = Field(30, gt=0)
    settle_seconds: float = Field(60, ge=0)
    build_partitions: int = Field(4, ge=1)


class Config(_Strict):
    timezone: str = "Europe/London"
    landing_dir: Path
    warehouse_url: str
    mappings: dict[str, Path]
    journeys: JourneyRules
    measures: MeasureRules
    identity: IdentityRules
    validation: ValidationRules
    health: HealthRules
    orchestration: OrchestrationRules

    @field_validator("mappings")
    @classmethod
    def _every_source_mapped(cls, v: dict[str, Path]) -> dict[str, Path]:
        missing = [s for s in SOURCES if s not in v]
        unknown = [s for s in v if s not in SOURCES]
        if missing or unknown:
            raise ValueError(f"mappings must name exactly {list(SOURCES)}; missing {missing}, unknown {unknown}")
        return v


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


TOP_LEVEL_SCALARS = ("timezone", "landing_dir", "warehouse_url")
CONFIG_FILE_ENV = "JOURNEYS_CONFIG_FILE"


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    """``JOURNEYS_A__B=v`` -> {"a": {"b": v}} and ``JOURNEYS_WAREHOUSE_URL=v`` ->
    {"warehouse_url": v}; values parsed as YAML scalars."""
    out: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        path = name[len(ENV_PREFIX):].lower().split("__")
        if path[0] not in Config.model_fields or (len(path) == 1 and path[0] not in TOP_LEVEL_SCALARS):
            continue  # e.g. JOURNEYS_HMAC_SECRET is a secret, not config
        node = out
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = yaml.safe_load(raw) if raw else raw
    return out


def _resolve_paths(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """Relative paths in the defaults are relative to the package or repo; in a
    council's file, relative to that file."""
    data = dict(data)
    maps = data.get("mappings", {})
    data["mappings"] = {k: (Path(v) if Path(v).is_absolute() else base / v) for k, v in maps.items()}
    return data


def load_config(path: Path | str | None = None, environ: dict[str, str] | None = None,
                **overrides: Any) -> Config:
    """Defaults, then the council's file (``path`` or ``$JOURNEYS_CONFIG_FILE``), then
    environment, then explicit overrides."""
    environ = dict(os.environ if environ is None else environ)
    path = path if path is not None else environ.get(CONFIG_FILE_ENV) or None
    data = yaml.safe_load(DEFAULTS_FILE.read_text())
    data = _resolve_paths(data, PACKAGE_DIR)
    data["identity"]["model_path"] = PACKAGE_DIR / data["identity"]["model_path"]
    data["validation"]["expectations_dir"] = REPO_DIR / data["validation"]["expectations_dir"]
    if path is not None:
        path = Path(path)
        if not path.exists():
            raise ConfigError(f"config file not found: {path}")
        user = yaml.safe_load(path.read_text()) or {}
        if not isinstance(user, dict):
            raise ConfigError(f"{path}: expected a mapping of keys at the top level")
        data = _deep_merge(data, _resolve_paths(user, path.parent) if "mappings" in user else user)
    data = _deep_merge(data, _env_overrides(environ))
    data = _deep_merge(data, {k: v for k, v in overrides.items() if v is not None})
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"])
            lines.append(f"  {key}: {err['msg']}")
        where = f" in {path}" if path else ""
        raise ConfigError(f"invalid configuration{where}:\n" + "\n".join(lines)) from None


def read_secret(env_name: str, conn_id: str | None = None, environ: dict[str, str] | None = None) -> str:
    """A secret from the environment, else from an Airflow connection's password.

    A missing secret is an error, never a silent default: a made-up HMAC key would
    renumber every person_key.
    """
    environ = os.environ if environ is None else environ
    value = environ.get(env_name)
    if value:
        return value
    if conn_id:
        conn_var = environ.get(f"AIRFLOW_CONN_{conn_id.upper()}")
        if conn_var:
            from urllib.parse import unquote, urlparse

            password = urlparse(conn_var).password
            if password:
                return unquote(password)
    raise ConfigError(
        f"secret not set: export {env_name}=<secret>"
        + (f" or define the Airflow connection '{conn_id}' with the secret as its password" if conn_id else "")
    )
