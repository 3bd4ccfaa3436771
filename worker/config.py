"""Settings: the TOML file, then the environment, then explicit overrides.

Precedence, highest first: keyword overrides given to :func:`load_settings` (tests, CLI flags),
environment variables (``DATABASE_URL``, ``REDIS_URL``, ``PUBLIC_URL``, ``ADMIN_TOKEN``, ...), the
TOML file (``--config FILE`` or ``PICQER_SYNC_CONFIG``). Any string value written ``"env:VAR"`` is
read from the environment variable ``VAR``; secrets are held as ``SecretStr`` so they print as
``**********`` in reprs, logs and errors.

Every level is strict: an unknown key at the top, under ``[picqer]`` or in a ``[[sources]]`` entry is
an error that names where it is (``sources[shop-nl].tagz``) and the nearest known key. With no file
and nothing in the environment there is no configuration, and :func:`load_settings` says how to give
one rather than start against placeholders.

Nothing here is built at import time: call :func:`load_settings` (or :func:`get_settings`).
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from adapters.errors import ConfigError
from adapters.settings import DEFAULT_USER_AGENT, ShopConnection
from adapters.types import PICQER

CONFIG_ENV_VAR = "PICQER_SYNC_CONFIG"
ENV_PREFIX = "env:"
# a nested key from the environment: PICQER__URL, PICQER__API_KEY (pydantic-settings' delimiter)
ENV_NESTED_DELIMITER = "__"
# environment variables that amount to a configuration without a file (a container's way);
# tuning variables alone (LOG_LEVEL, REDIS_NAMESPACE) do not
CONFIGURING_ENV_VARS = ("DATABASE_URL", "PICQER", "SOURCES")
NO_CONFIGURATION = (
    "no configuration: give a config file with --config FILE or PICQER_SYNC_CONFIG=FILE "
    "(deploy/config.example.toml is one to copy), or set DATABASE_URL and PICQER__URL, "
    "PICQER__API_KEY in the environment; `picqer-sync demo` needs none"
)

ProcessingCancelPolicy = Literal["pause", "force_cancel"]


def _resolve_env_references(value: Any) -> Any:
    """Replace every ``"env:VAR"`` string, however deep, by the value of ``$VAR``."""
    if isinstance(value, str) and value.startswith(ENV_PREFIX):
        name = value[len(ENV_PREFIX) :].strip()
        resolved = os.environ.get(name)
        if resolved is None:
            raise ValueError(
                f"environment variable {name} is not set (the config refers to it as env:{name})"
            )
        return resolved
    if isinstance(value, dict):
        return {key: _resolve_env_references(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve_env_references(item) for item in value]
    return value


class PicqerSettings(BaseModel):
    """One Picqer account."""

    model_config = ConfigDict(extra="forbid")

    url: str = "https://example.picqer.com/api/v1/"
    api_key: SecretStr = SecretStr("")
    webhook_secret: SecretStr = SecretStr("")
    requests_per_minute: int = Field(default=500, ge=1)
    user_agent: str = DEFAULT_USER_AGENT
    timeout_seconds: float = Field(default=30.0, gt=0)

    @field_validator("url")
    @classmethod
    def _ends_with_slash(cls, url: str) -> str:
        # paths are joined onto the base, so it must end in a slash ("/api/v1/")
        return url if url.endswith("/") else url + "/"


class SourceSettings(ShopConnection):
    """One webshop whose paid orders go to Picqer: how to reach it (``ShopConnection``) and the rules."""

    model_config = ConfigDict(extra="forbid")

    # which shop statuses count as "paid, ship it"; empty means the platform default (PRODUCT.md 1)
    paid_statuses: list[str] = Field(default_factory=list)
    # Picqer's reference for an order: "{number}" is the shop's order number ("#1001", "000000003");
    # a prefix such as "NL-{number}" keeps two shops' numbers apart on picking lists
    reference: str = Field(default="{number}", pattern=r"\{number\}")
    # tags for every pushed order; "{source}" and "{platform}" are filled in
    tags: list[str] = Field(default_factory=lambda: ["{source}"])
    language: str | None = None  # Picqer language for this shop's orders ('nl' or 'en')
    # the shop's shipping method (code or title) -> Picqer idshippingprovider_profile; unmatched: none
    shipping_profiles: dict[str, int] = Field(default_factory=dict)
    on_cancel_processing: ProcessingCancelPolicy = "pause"
    poll_interval_seconds: int = Field(default=300, ge=5)
    poll_overlap_seconds: int = Field(default=900, ge=0)
    # the first poll (no cursor yet) reads orders changed since this, not the shop's whole past;
    # unset: 7 days before the first poll (recorded then). A value without a zone is UTC.
    # ``resync --since`` reaches further back on purpose.
    start_at: datetime | None = None
    enabled: bool = True

    @field_validator("start_at")
    @classmethod
    def _naive_utc(cls, value: datetime | None) -> datetime | None:
        if value is None or value.tzinfo is None:
            return value
        return value.astimezone(UTC).replace(tzinfo=None)

    @field_validator("reference", "tags")
    @classmethod
    def _known_placeholders(cls, value: str | list[str]) -> str | list[str]:
        for template in [value] if isinstance(value, str) else value:
            try:
                template.format(number="1001", source="shop", platform="shopify")
            except (KeyError, IndexError, ValueError) as error:
                raise ValueError(
                    f"{template!r}: only {{number}}, {{source}} and {{platform}} can be filled in ({error})"
                ) from None
        return value


class Settings(BaseSettings):
    """All of picqer-sync's configuration."""

    model_config = SettingsConfigDict(
        extra="forbid",
        env_prefix="",
        case_sensitive=False,
        env_nested_delimiter=ENV_NESTED_DELIMITER,
    )

    database_url: str = "sqlite:///picqer-sync.db"
    redis_url: str = ""
    # every Redis key of ours starts with "<redis_namespace>:" (queue, budget, locks), so deployments
    # (and test runs) sharing one Redis keep apart
    redis_namespace: str = Field(default="picqer-sync", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    public_url: str = "http://127.0.0.1:8000"
    admin_token: SecretStr | None = None
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: str = "INFO"
    worker_threads: int = Field(default=4, ge=1)
    reconcile_interval_seconds: int = Field(default=600, ge=5)
    inbox_sweep_interval_seconds: int = Field(default=60, ge=1)
    hook_check_interval_seconds: int = Field(default=900, ge=5)
    max_webhook_bytes: int = 1024 * 1024
    # bounds on a sick database (one that accepts connections but never answers): with these
    # defaults a webhook is answered 503 within 3 s (Shopify gives up after 5 s) and /readyz within 2 s
    database_connect_timeout_seconds: int = Field(default=2, ge=1)  # PostgreSQL connect_timeout
    database_pool_timeout_seconds: float = Field(default=2.0, gt=0)  # wait for a pooled connection
    # the receiver's connections: PostgreSQL statement_timeout; on SQLite the busy timeout
    receiver_statement_timeout_seconds: float = Field(default=2.0, gt=0)
    # all database work of one webhook answer; past it the answer is 503 and the sender retries
    receiver_deadline_seconds: float = Field(default=2.5, gt=0)
    readiness_timeout_seconds: float = Field(default=1.5, gt=0)  # each /readyz check
    # webhooks waiting for the inbox writer at once per web process (each a few KiB of memory, no
    # thread); beyond it, and a short wait, a webhook is answered 503 with Retry-After, never queued
    # without bound
    receiver_max_in_flight: int = Field(default=256, ge=1)
    # ``web``'s receiver processes on one port (``web --processes``); 0: one per two CPUs, at most 4
    receiver_processes: int = Field(default=0, ge=0)
    # processed inbox rows (whole webhook bodies: names, addresses, emails, phone numbers) are
    # deleted this many days after they were handled; the mirror drops the personal data of orders
    # completed longer ago. Rows that still need work are kept until they are done.
    inbox_retention_days: int = Field(default=14, ge=1)
    # the fulfilment report waits this long after Picqer's shipment event before it reads the
    # picklist: Picqer adds tracking codes to a shipment just after it is created, and a report sent
    # before them reaches the customer without a track-and-trace link
    fulfilment_delay_seconds: float = Field(default=10.0, ge=0)
    picqer: PicqerSettings = Field(default_factory=PicqerSettings)
    sources: list[SourceSettings] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _resolve_env(cls, data: Any) -> Any:
        return _resolve_env_references(data)

    @field_validator("sources")
    @classmethod
    def _unique_source_names(cls, sources: list[SourceSettings]) -> list[SourceSettings]:
        names = [source.name for source in sources]
        if PICQER in names:
            # the inbox and the reconcile cursor use this name for Picqer's own events
            raise ValueError(f"{PICQER!r} is reserved for Picqer; choose another source name")
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"source names must be unique; repeated: {', '.join(duplicates)}")
        return sources

    def source(self, name: str) -> SourceSettings:
        """The source called ``name``; ``ConfigError`` when there is none."""
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources) or "none configured"
        raise ConfigError(f"unknown source {name!r} (known: {known})")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))


def picqer_url_given(settings: Settings) -> bool:
    """Whether the Picqer account's URL was configured (the model's default is only a placeholder)."""
    return "url" in settings.picqer.model_fields_set


# which model holds the keys at a location: () the top level, ("picqer",), ("sources", N)
def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    if not loc:
        return Settings
    if loc == ("picqer",):
        return PicqerSettings
    if len(loc) == 2 and loc[0] == "sources" and isinstance(loc[1], int):
        return SourceSettings
    return None


def _where(loc: tuple[int | str, ...], source_names: list[Any]) -> str:
    """``sources.0.tags`` as the user knows it: ``sources[shop-nl].tags``."""
    parts: list[str] = []
    for index, piece in enumerate(loc):
        if isinstance(piece, int) and index > 0 and loc[index - 1] == "sources":
            name = source_names[piece] if piece < len(source_names) else None
            parts[-1] += f"[{name}]" if isinstance(name, str) and name else f"[{piece}]"
        else:
            parts.append(str(piece))
    return ".".join(parts) or "config"


def _did_you_mean(key: str, model: type[BaseModel] | None) -> str:
    if model is None:
        return ""
    close = difflib.get_close_matches(key.lower(), list(model.model_fields), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _describe(error: ValidationError, source_names: list[Any]) -> str:
    # never echo input values: they may be secrets
    parts = []
    for item in error.errors():
        loc = tuple(item["loc"])
        where = _where(loc, source_names)
        if item["type"] == "extra_forbidden":
            parts.append(f"{where}: unknown key{_did_you_mean(str(loc[-1]), _model_at(loc[:-1]))}")
            continue
        message = item["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


def missing_credentials(settings: Settings) -> list[str]:
    """``sources[name].key`` for every credential an enabled source's auth scheme lacks."""
    return [
        f"sources[{source.name}].{key} (auth {source.auth_scheme()})"
        for source in settings.sources
        if source.enabled
        for key in source.missing_credentials()
    ]


def _environment_configures() -> bool:
    prefixes = tuple(name.lower() for name in CONFIGURING_ENV_VARS)
    return any(
        name.lower() in prefixes or name.lower().startswith(tuple(p + "__" for p in prefixes))
        for name in os.environ
    )


_TOML_POSITION = re.compile(r"^(?P<message>.*) \(at line (?P<line>\d+), column (?P<column>\d+)\)$")


def _read_toml(path: Path) -> dict[str, Any]:
    """The file's table; a syntax error names the file, the line and the column."""
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except tomllib.TOMLDecodeError as error:
        text = str(error)
        if found := _TOML_POSITION.match(text):
            text = f"line {found['line']}, column {found['column']}: {found['message']}"
        raise ConfigError(f"{path} is not valid TOML: {text}") from None
    except OSError as error:
        raise ConfigError(f"cannot read config file {path}: {error.strerror or error}") from None


def load_settings(config_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Read the settings; raise ``ConfigError`` with a readable reason when they are invalid.

    There must be something to read: a file (``config_file`` or ``PICQER_SYNC_CONFIG``), settings in
    the environment (``DATABASE_URL``, ``PICQER__URL``, ...) or ``overrides``; without any the error
    says how to give a configuration, so nothing runs against the placeholders.
    """
    path = config_file or os.environ.get(CONFIG_ENV_VAR) or None
    if path is None and not overrides and not _environment_configures():
        raise ConfigError(NO_CONFIGURATION)
    raw: dict[str, Any] = {}
    if path is not None:
        if not Path(path).is_file():
            raise ConfigError(f"config file {path} does not exist")
        raw = _read_toml(Path(path))
    sources = overrides.get("sources", raw.get("sources"))
    source_names = [
        entry.get("name") if isinstance(entry, dict) else getattr(entry, "name", None)
        for entry in (sources if isinstance(sources, list) else [])
    ]

    class FileSettings(Settings):
        model_config = SettingsConfigDict(toml_file=path)

    where = f"invalid configuration in {path}" if path is not None else "invalid configuration"
    try:
        settings = FileSettings(**overrides)
    except ValidationError as error:
        raise ConfigError(f"{where}: {_describe(error, source_names)}") from None
    if missing := missing_credentials(settings):
        raise ConfigError(f"{where}: missing {', '.join(missing)}")
    return settings


def get_settings() -> Settings:
    """The settings of this process, from ``PICQER_SYNC_CONFIG`` and the environment."""
    return load_settings()
