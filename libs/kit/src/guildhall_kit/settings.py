"""Typed settings from environment variables, validated once at boot.

Every service declares one settings class deriving from :class:`ServiceSettings`
and loads it with :func:`load_settings` before it opens any connection. A
missing or invalid variable fails the process at once with a message that names
the variable, for example::

    configuration error: GUILDHALL_MONGO_URI is required but not set

The variable names are the same everywhere: docker-compose.yml, deploy/k8s and
the local dev stack all set ``GUILDHALL_*``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, ClassVar, Literal, TypeVar

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "GUILDHALL_"

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]

Deployment = Literal["development", "production"]


class ConfigError(Exception):
    """Raised when settings cannot be loaded; the message names every bad variable."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("configuration error: " + "; ".join(problems))


class ServiceSettings(BaseSettings):
    """Settings every service shares. Subclasses add their own fields.

    Subclasses set :attr:`service_name` as a class variable; it names the
    service in logs, traces, the default database and the Kafka client ids.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="ignore",
        frozen=True,
        validate_default=True,
    )

    service_name: ClassVar[str] = "unnamed"

    kafka_bootstrap_servers: Annotated[str, Field(min_length=1)]
    """Comma-separated ``host:port`` list of Kafka brokers. Required."""

    mongo_uri: Annotated[str, Field(min_length=1)]
    """MongoDB connection string (MongoDB 7+ or FerretDB 1.x). Required."""

    mongo_database: str = ""
    """Database this service owns; empty means ``guildhall_<service>``."""

    mongo_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 3.0
    """How long a call waits to find and connect to a MongoDB server before it fails;
    an RPC that hits it answers UNAVAILABLE. Short, so a database outage answers fast
    and callers retry or fail over (socket reads get at least 10 s)."""

    redis_url: str = ""
    """Redis the service caches in (``redis://host:port/db``); empty runs without a cache.
    A cache holds nothing that is not in MongoDB: losing it costs speed, never data."""

    redis_timeout_seconds: Annotated[float, Field(gt=0, le=10)] = 0.25
    """How long one cache call may take before the service goes to MongoDB instead."""

    topic_prefix: str = ""
    """Prefix for every Kafka topic and consumer group (isolates test runs)."""

    grpc_host: str = "127.0.0.1"
    """Address the gRPC server binds; ``0.0.0.0`` in containers."""

    grpc_port: Annotated[int, Field(ge=0, le=65535)] = 50051
    """Port of the gRPC server; 0 picks a free port (tests)."""

    deployment: Deployment = "development"
    """``production`` forbids every local-development shortcut: the dev key pair under
    .local/dev-keys (as signing key or trusted key set) and the gateway's development
    issuer. A service configured to use one refuses to start. Kubernetes sets it."""

    log_level: LogLevel = "INFO"
    """Minimum level written to stdout."""

    otlp_endpoint: str = ""
    """OTLP/gRPC collector endpoint for traces and metrics; empty disables export."""

    metrics_port: Annotated[int, Field(ge=0, le=65535)] = 9464
    """Port of the Prometheus scrape endpoint (``GET /metrics``, on ``grpc_host``), apart
    from the service's API ports; 0 turns it off. docs/metrics.md lists what it serves."""

    jwt_jwks_file: Path | None = None
    """JSON Web Key Set file with the keys that may sign access tokens.
    When unset, the local dev key set under .local/dev-keys is used if present."""

    jwt_issuer: str = "guildhall-dev"
    """Expected ``iss`` claim of access tokens."""

    jwt_audience: str = "guildhall"
    """Expected ``aud`` claim of access tokens."""

    home_org_id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")] = "home"
    """The home enterprise's org id. A token of kind ``employee`` naming any other
    org is refused by every service (guildhall_kit.auth.tokens)."""

    signing_key_file: Path | None = None
    """PEM private key (Ed25519 or RSA) this service signs its own service tokens with;
    its public key must be in every service's key set. When unset, the local dev key
    under .local/dev-keys is used if present (never in production)."""

    signing_key_id: str = ""
    """The ``kid`` of ``signing_key_file`` in the key set (the dev key's id when unset)."""

    drain_seconds: Annotated[float, Field(ge=0, le=300)] = 20.0
    """On SIGTERM: seconds to keep finishing in-flight RPCs after reporting NOT_SERVING."""

    default_deadline_seconds: Annotated[float, Field(gt=0, le=600)] = 10.0
    """Deadline applied to an incoming RPC that arrives without one."""

    outbox_poll_seconds: Annotated[float, Field(gt=0, le=86_400)] = 30.0
    """How often the outbox relay scans for pending events no hint named (a backstop:
    writes hint the relay, which publishes those documents at once, and it scans once at
    start). On FerretDB a scan reads every document of the outbox collections — seconds
    of CPU at a few hundred thousand documents — so it runs rarely."""

    @field_validator("grpc_host")
    @classmethod
    def _host_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @property
    def is_production(self) -> bool:
        """Whether this is a production deployment (no development shortcut may be used)."""
        return self.deployment == "production"

    @property
    def database_name(self) -> str:
        """The Mongo database this service owns."""
        return self.mongo_database or f"guildhall_{self.service_name}"

    def topic(self, name: str) -> str:
        """The physical topic name for a registry topic name."""
        return f"{self.topic_prefix}{name}"


S = TypeVar("S", bound=ServiceSettings)


def _env_name(settings_cls: type[BaseSettings], loc: tuple[int | str, ...]) -> str:
    field = str(loc[0]) if loc else "?"
    prefix = settings_cls.model_config.get("env_prefix", "") or ""
    return f"{prefix}{field}".upper()


def load_settings(settings_cls: type[S], **overrides: object) -> S:
    """Load ``settings_cls`` from the environment (and ``overrides``, for tests).

    Raises:
        ConfigError: naming every missing or invalid environment variable.
    """
    try:
        return settings_cls(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = _env_name(settings_cls, tuple(err["loc"]))
            if err["type"] == "missing":
                problems.append(f"{name} is required but not set")
            else:
                problems.append(f"{name} is invalid: {err['msg']}")
        raise ConfigError(problems) from None
