"""Runtime settings, read from the environment by `Settings()` in `bot.__main__` only.

Tests build `Settings(...)` directly with keyword arguments; nothing reads the environment at
import time.
"""

from __future__ import annotations

import base64
import binascii
import re
import sys
from typing import Any, Self
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.core.errors import ConfigError
from bot.core.settings_errors import PREFIX, BilingualValueError, lines

# Sandbox credentials: the fake WeCom and the server share them, so the whole product works on a
# laptop with no corp account. They are public on purpose and accepted only in sandbox mode.
SANDBOX_CORP_ID = "wwsandbox0000000001"
SANDBOX_AGENT_ID = 1000002
SANDBOX_SECRET = "sandbox-secret"
SANDBOX_TOKEN = "sandboxtoken"
SANDBOX_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
SANDBOX_INGEST_TOKEN = "sandbox-ingest-token"
SANDBOX_SESSION_SECRET = "sandbox-session-secret-0123456789abcdef"
# Production refuses shorter (guessable) secrets, and the public sandbox ones above.
MIN_SESSION_SECRET = 32
MIN_INGEST_TOKEN = 16

_ASYNC_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_AES_KEY_RE = re.compile(r"^[A-Za-z0-9+/]{43}$")


def _env(*names: str) -> Any:
    """Accept both the documented env name and the Python field name."""
    return AliasChoices(*names)


class Settings(BaseSettings):
    """Everything the server needs to start; see README for each variable."""

    model_config = SettingsConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    corp_id: str = Field("", validation_alias=_env("WECOM_CORP_ID", "corp_id"))
    agent_id: int = Field(0, validation_alias=_env("WECOM_AGENT_ID", "agent_id"))
    secret: SecretStr = Field(SecretStr(""), validation_alias=_env("WECOM_SECRET", "secret"))
    token: SecretStr = Field(SecretStr(""), validation_alias=_env("WECOM_TOKEN", "token"))
    aes_key: SecretStr = Field(SecretStr(""), validation_alias=_env("WECOM_AES_KEY", "aes_key"))
    wecom_api_base: str = Field("", validation_alias=_env("WECOM_API_BASE", "wecom_api_base"))
    database_url: str = Field(
        "sqlite+aiosqlite:///data/sidekick.db",
        validation_alias=_env("DATABASE_URL", "database_url"),
    )
    redis_url: str | None = Field(None, validation_alias=_env("REDIS_URL", "redis_url"))
    host: str = Field("127.0.0.1", validation_alias=_env("HOST", "host"))
    port: int = Field(8080, validation_alias=_env("PORT", "port"), ge=0, le=65535)
    sandbox: bool = Field(False, validation_alias=_env("SIDEKICK_SANDBOX", "sandbox"))
    public_url: str = Field("", validation_alias=_env("SIDEKICK_PUBLIC_URL", "public_url"))
    timezone: str = Field("Asia/Shanghai", validation_alias=_env("SIDEKICK_TIMEZONE", "timezone"))
    admins: str = Field("", validation_alias=_env("SIDEKICK_ADMINS", "admins"))
    supervisors: str = Field("", validation_alias=_env("SIDEKICK_SUPERVISORS", "supervisors"))
    session_secret: SecretStr = Field(
        SecretStr(""), validation_alias=_env("SIDEKICK_SESSION_SECRET", "session_secret")
    )
    ingest_token: SecretStr = Field(
        SecretStr(""), validation_alias=_env("SIDEKICK_INGEST_TOKEN", "ingest_token")
    )
    robot_webhook_key: str = Field(
        "", validation_alias=_env("SIDEKICK_ROBOT_WEBHOOK_KEY", "robot_webhook_key")
    )
    log_level: str = Field("INFO", validation_alias=_env("SIDEKICK_LOG_LEVEL", "log_level"))
    # 微信客服: userids that take kf handovers (round robin); empty: hand over to the queue.
    kf_servicers: str = Field("", validation_alias=_env("SIDEKICK_KF_SERVICERS", "kf_servicers"))
    # Callback pipeline tuning; the defaults suit production, tests shorten them.
    reply_budget: float = Field(
        3.0, validation_alias=_env("SIDEKICK_REPLY_BUDGET", "reply_budget"), gt=0, le=4.5
    )
    inbox_lease: float = Field(
        60.0, validation_alias=_env("SIDEKICK_INBOX_LEASE", "inbox_lease"), gt=0
    )
    inbox_sweep_interval: float = Field(
        15.0, validation_alias=_env("SIDEKICK_INBOX_SWEEP", "inbox_sweep_interval"), gt=0
    )
    inbox_max_attempts: int = Field(
        5, validation_alias=_env("SIDEKICK_INBOX_MAX_ATTEMPTS", "inbox_max_attempts"), ge=1
    )
    # How often each worker checks whether the stored knowledge base changed (an import).
    kb_poll: float = Field(10.0, validation_alias=_env("SIDEKICK_KB_POLL", "kb_poll"), gt=0)
    # How often each worker redoes the KB's calibration with the misses recorded since.
    kb_recalibrate: float = Field(
        3600.0, validation_alias=_env("SIDEKICK_KB_RECALIBRATE", "kb_recalibrate"), gt=0
    )
    # A rep's pick of an answer becomes a similar question (and may drive auto-replies) once a
    # supervisor accepts it, or once this many distinct reps made the same pick.
    kb_proposal_quorum: int = Field(
        2, validation_alias=_env("SIDEKICK_KB_PROPOSAL_QUORUM", "kb_proposal_quorum"), ge=1
    )
    # How often the reminder scheduler looks for due follow-ups and unsent escalation alerts.
    scheduler_interval: float = Field(
        30.0, validation_alias=_env("SIDEKICK_SCHEDULER_INTERVAL", "scheduler_interval"), gt=0
    )
    # How often the address book (departments, members, names, who left) is mirrored from
    # WeCom, once across all workers; 0 turns the sync off (members are then synced one by
    # one, with user/get, when first seen).
    directory_sync_interval: float = Field(
        3600.0, validation_alias=_env("SIDEKICK_DIRECTORY_SYNC", "directory_sync_interval"),
        ge=0,
    )  # fmt: skip
    # Outbox delivery: a claim older than the lease is taken over (the sender crashed); poll
    # interval; sends in flight per worker; attempts before an effect is parked; how long a
    # stopping worker lets sends in flight finish.
    outbox_lease: float = Field(
        60.0, validation_alias=_env("SIDEKICK_OUTBOX_LEASE", "outbox_lease"), gt=0
    )
    outbox_poll: float = Field(
        2.0, validation_alias=_env("SIDEKICK_OUTBOX_POLL", "outbox_poll"), gt=0
    )
    outbox_concurrency: int = Field(
        16, validation_alias=_env("SIDEKICK_OUTBOX_CONCURRENCY", "outbox_concurrency"), ge=1
    )
    outbox_max_attempts: int = Field(
        10, validation_alias=_env("SIDEKICK_OUTBOX_MAX_ATTEMPTS", "outbox_max_attempts"), ge=1
    )
    outbox_grace: float = Field(
        5.0, validation_alias=_env("SIDEKICK_OUTBOX_GRACE", "outbox_grace"), ge=0
    )
    # gunicorn's worker count (the Procfile reads it): sandbox mode refuses a mounted fake
    # WeCom in more than one worker.
    web_concurrency: int = Field(1, validation_alias=_env("WEB_CONCURRENCY", "web_concurrency"))
    # Retention (PIPL), in days; 0 keeps. Done callbacks and delivered effects are plumbing that
    # carries decrypted customer messages; message texts are the product's history.
    retain_inbox_days: int = Field(
        30, validation_alias=_env("SIDEKICK_RETAIN_INBOX_DAYS", "retain_inbox_days"), ge=0
    )
    retain_message_days: int = Field(
        0, validation_alias=_env("SIDEKICK_RETAIN_MESSAGE_DAYS", "retain_message_days"), ge=0
    )
    # Where files the server writes for admins go (customer data exports).
    data_dir: str = Field("data", validation_alias=_env("SIDEKICK_DATA_DIR", "data_dir"))
    # Seconds a client has to send a whole request body (slow-body connections are closed).
    body_timeout: float = Field(
        20.0, validation_alias=_env("SIDEKICK_BODY_TIMEOUT", "body_timeout"), gt=0
    )
    # Fault injection for the crash-recovery test only: "kill_after_inbox_commit".
    fault: str = Field("", validation_alias=_env("SIDEKICK_FAULT", "fault"))

    # --- customer lifecycle (issue 13; docs/lifecycle.md) ---
    # The stages, in funnel order; the first is every new customer's.
    lifecycle_stages: str = Field(
        "初步了解,意向明确,报价阶段,已成交,流失客户",
        validation_alias=_env("SIDEKICK_STAGES", "lifecycle_stages"),
    )
    # Activity tiers: last interaction within the first number of days = 高活跃, within the
    # second = 中度互动, older = 沉默N天, never = 未互动.
    activity_windows: str = Field(
        "7,30", validation_alias=_env("SIDEKICK_ACTIVITY_WINDOWS", "activity_windows")
    )
    # Seconds between SOP scheduler passes.
    sop_interval: float = Field(
        60.0, validation_alias=_env("SIDEKICK_SOP_INTERVAL", "sop_interval"), gt=0
    )
    # Customers a rep may claim from the 公海 pool per day (the corp's local day).
    pool_daily_claims: int = Field(
        10, validation_alias=_env("SIDEKICK_POOL_DAILY_CLAIMS", "pool_daily_claims"), ge=0
    )
    # A departed member's customers: "pool", "successor:<userid>" (离职继承), or "" (the
    # supervisors are told and decide with /transfer or /departpool).
    departure_policy: str = Field(
        "", validation_alias=_env("SIDEKICK_DEPARTURE_POLICY", "departure_policy")
    )

    @field_validator("lifecycle_stages")
    @classmethod
    def _check_stages(cls, value: str) -> str:
        names = [s.strip() for s in value.split(",") if s.strip()]
        if len(names) < 2 or len(set(names)) != len(names) or any(len(n) > 32 for n in names):
            raise BilingualValueError(
                "应为至少 2 个不重复的阶段名，用逗号分隔，每个最多 32 字",
                "must be at least 2 distinct comma-separated stage names of at most 32 chars",
            )
        return value

    @property
    def stage_names(self) -> tuple[str, ...]:
        """The configured stages, in order."""
        return tuple(s.strip() for s in self.lifecycle_stages.split(",") if s.strip())

    @property
    def activity_days(self) -> tuple[int, int]:
        """(high-activity window, silent threshold) in days."""
        parts = [int(p) for p in self.activity_windows.split(",") if p.strip().isdigit()]
        return (parts[0], parts[1]) if len(parts) == 2 and parts[0] < parts[1] else (7, 30)

    @field_validator("aes_key")
    @classmethod
    def _check_aes_key(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value()
        if raw and not _AES_KEY_RE.fullmatch(raw):
            raise BilingualValueError(
                "应为 43 位的 EncodingAESKey（字母和数字）",
                "must be the 43-character EncodingAESKey: letters and digits",
            )
        if raw:
            try:
                base64.b64decode(raw + "=", validate=True)
            except binascii.Error:
                raise BilingualValueError(
                    "不是有效的 EncodingAESKey", "is not a valid base64 key"
                ) from None
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError:
            raise BilingualValueError(
                "不是数据库地址，应形如 sqlite+aiosqlite:///data/sidekick.db",
                "is not a database URL",
            ) from None
        if url.drivername not in _ASYNC_DRIVERS:
            raise BilingualValueError(
                f"不支持 {url.drivername}，请用 sqlite+aiosqlite:///路径 或"
                " postgresql+asyncpg://用户:密码@主机/库名",
                f"driver {url.drivername!r} is not supported: use sqlite+aiosqlite:///path"
                " or postgresql+asyncpg://user:password@host/db",
            )
        return value

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str) -> str:
        if not value:
            return value
        parts = urlsplit(value)
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.path.strip("/")
            or parts.query
            or parts.fragment
        ):
            raise BilingualValueError(
                "应为本服务对外的地址，例如 https://sidekick.example.com",
                "must be this server's public origin, e.g. https://sidekick.example.com",
            )
        return value.rstrip("/")

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        if value.upper() not in _LOG_LEVELS:
            levels = ", ".join(_LOG_LEVELS)
            raise BilingualValueError(f"应为 {levels} 之一", f"must be one of {levels}")
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise BilingualValueError(
                "不是有效的时区，例如 Asia/Shanghai",
                "is not an IANA time zone such as Asia/Shanghai",
            ) from None
        return value

    @model_validator(mode="after")
    def _fill_sandbox(self) -> Self:
        if not self.sandbox:
            return self
        defaults = {
            "corp_id": SANDBOX_CORP_ID,
            "agent_id": SANDBOX_AGENT_ID,
            "secret": SecretStr(SANDBOX_SECRET),
            "token": SecretStr(SANDBOX_TOKEN),
            "aes_key": SecretStr(SANDBOX_AES_KEY),
            "ingest_token": SecretStr(SANDBOX_INGEST_TOKEN),
            "session_secret": SecretStr(SANDBOX_SESSION_SECRET),
            # The demo org the sandbox's fake WeCom serves (bot.sandbox.demo.DEMO_MEMBERS).
            "supervisors": "lead1",
            "admins": "boss",
        }
        for name, value in defaults.items():
            current = getattr(self, name)
            empty = not (current.get_secret_value() if isinstance(current, SecretStr) else current)
            if empty:
                object.__setattr__(self, name, value)
        return self

    def require_complete(self) -> None:
        """Raise ConfigError naming the first missing variable (production start-up)."""
        required = {
            "WECOM_CORP_ID": self.corp_id,
            "WECOM_AGENT_ID": self.agent_id,
            "WECOM_SECRET": self.secret.get_secret_value(),
            "WECOM_TOKEN": self.token.get_secret_value(),
            "WECOM_AES_KEY": self.aes_key.get_secret_value(),
            "SIDEKICK_SESSION_SECRET": self.session_secret.get_secret_value(),
        }
        for env_name, value in required.items():
            if not value:
                raise ConfigError(
                    f"{env_name}: 未设置；试用请设 SIDEKICK_SANDBOX=1"
                    " (required, or set SIDEKICK_SANDBOX=1 for the sandbox)"
                )
        if self.sandbox:
            return  # the public sandbox secrets are fine where nothing real is at stake
        if not self.public_url:
            # OAuth's redirect_uri and sign-in links are built from it; without it they would
            # follow the request's Host header, which anyone can set.
            raise ConfigError(
                "SIDEKICK_PUBLIC_URL: 未设置，应为本服务对外的 https 地址"
                " (required: this server's public origin, e.g. https://sidekick.example.com)"
            )
        self._require_strong(
            "SIDEKICK_SESSION_SECRET", self.session_secret, MIN_SESSION_SECRET,
            SANDBOX_SESSION_SECRET,
        )  # fmt: skip
        if self.ingest_token.get_secret_value():  # unset: the ingest endpoint stays disabled
            self._require_strong(
                "SIDEKICK_INGEST_TOKEN", self.ingest_token, MIN_INGEST_TOKEN, SANDBOX_INGEST_TOKEN
            )

    @staticmethod
    def _require_strong(env_name: str, value: SecretStr, min_len: int, public: str) -> None:
        raw = value.get_secret_value()
        if len(raw) < min_len or raw == public:
            raise ConfigError(
                f"{env_name}: 至少 {min_len} 个随机字符，且不能用沙盒的内置值 (must be at least"
                f" {min_len} random characters, not the sandbox's built-in value)"
            )

    @property
    def api_base(self) -> str:
        """Where the WeCom client sends requests: the real API, an override, or the sandbox."""
        if self.wecom_api_base:
            return self.wecom_api_base.rstrip("/")
        if self.sandbox:
            return f"http://127.0.0.1:{self.port}/sandbox/wecom"
        return "https://qyapi.weixin.qq.com"

    @property
    def admin_ids(self) -> frozenset[str]:
        """Userids seeded as admins."""
        return frozenset(u.strip() for u in self.admins.split(",") if u.strip())

    @property
    def supervisor_ids(self) -> frozenset[str]:
        """Userids seeded as supervisors."""
        return frozenset(u.strip() for u in self.supervisors.split(",") if u.strip())

    @property
    def kf_servicer_ids(self) -> tuple[str, ...]:
        """Userids that take kf handovers, in the configured order."""
        return tuple(u.strip() for u in self.kf_servicers.split(",") if u.strip())


LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def load_settings(*, complete: bool = True) -> Settings:
    """Settings from the environment; exits with one clear line naming a bad variable.

    complete=False (admin commands that only touch the database) skips the WeCom settings.
    """
    try:
        settings = Settings()
        if complete and not settings.sandbox:
            settings.require_complete()
        if complete and settings.sandbox and settings.host not in LOOPBACK:
            # The sandbox's sign-in stand-in lets anyone be any member: never on a network.
            raise ConfigError(
                f"HOST: 沙盒模式只能监听本机地址 (127.0.0.1)，不是 {settings.host} "
                "(sandbox mode lets anyone sign in as any member: listen on loopback only)"
            )
    except ValidationError as exc:
        sys.exit("\n".join(lines(exc, Settings.model_fields)))
    except ConfigError as exc:
        sys.exit(f"{PREFIX}: {exc}")
    return settings
