"""The whole configuration: reading the TOML file, turning every validation error into one line a
moderator can act on, and building the policy."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, get_args

from pydantic import (
    BaseModel,
    Field,
    ValidationError,
)

import bot.config.runtime as runtime
from bot.config.adapters import AdaptersConfig
from bot.config.base import ConfigError, Strict
from bot.config.filtering import (
    CommunityConfig,
    PolicyConfig,
    PolicyOverride,
    ScorersConfig,
)
from bot.config.replies import ReplyConfig
from moderation.policy import Policy, PolicyRules
from moderation.types import CATEGORIES, RENAMED, Outcome


class Config(Strict):
    data: runtime.DataConfig = Field(default_factory=runtime.DataConfig)
    database: runtime.DatabaseConfig = runtime.DatabaseConfig()
    pipeline: runtime.PipelineConfig = runtime.PipelineConfig()
    scorers: ScorersConfig = ScorersConfig()
    policy: PolicyConfig = PolicyConfig()
    communities: dict[str, CommunityConfig] = {}
    adapters: AdaptersConfig = AdaptersConfig()
    executor: runtime.ExecutorConfig = runtime.ExecutorConfig()
    reply: ReplyConfig = ReplyConfig()
    web: runtime.WebConfig = runtime.WebConfig()
    api: runtime.ApiConfig = runtime.ApiConfig()
    retention: runtime.RetentionConfig = runtime.RetentionConfig()
    health: runtime.HealthConfig = runtime.HealthConfig()
    scale: runtime.ScaleConfig = runtime.ScaleConfig()
    logging: runtime.LoggingConfig = runtime.LoggingConfig()

    def database_url(self) -> str:
        if env := os.environ.get(self.database.url_env):
            try:
                runtime.check_database_url(env, f"${self.database.url_env}", password_allowed=True)
            except ValueError as exc:
                raise ConfigError([str(exc)]) from None
            return env
        if self.database.url:
            return self.database.url
        return f"sqlite:///{self.data.dir / 'modbot.db'}"

    def build_policy(self) -> Policy:
        base = _rules(self.policy)
        communities: dict[str, PolicyRules] = {}
        channels: dict[tuple[str, str], PolicyRules] = {}
        for name, community in self.communities.items():
            c_rules = _override(base, community)
            communities[name] = c_rules
            for channel, override in community.channels.items():
                channels[(name, channel)] = _override(c_rules, override)
        return Policy(default=base, communities=communities, channels=channels)


def _rules(p: PolicyConfig) -> PolicyRules:
    return PolicyRules(
        thresholds={c: {Outcome(o): t for o, t in m.items()} for c, m in p.thresholds.items()},
        shadow=p.shadow,
        exempt_users=frozenset(p.exempt_users),
        exempt_roles=frozenset(p.exempt_roles),
        review_only=frozenset(p.review_only),
        timeout_seconds=p.timeout_minutes * 60,
        unscored_languages=Outcome(p.unscored_languages),
        languages=frozenset(p.languages),
    )


def _override(base: PolicyRules, o: PolicyOverride) -> PolicyRules:
    thresholds = dict(base.thresholds)
    thresholds.update({c: {Outcome(k): v for k, v in m.items()} for c, m in o.thresholds.items()})
    return PolicyRules(
        thresholds=thresholds,
        shadow=base.shadow if o.shadow is None else o.shadow,
        exempt_users=base.exempt_users if o.exempt_users is None else frozenset(o.exempt_users),
        exempt_roles=base.exempt_roles if o.exempt_roles is None else frozenset(o.exempt_roles),
        review_only=base.review_only if o.review_only is None else frozenset(o.review_only),
        timeout_seconds=base.timeout_seconds if o.timeout_minutes is None else o.timeout_minutes * 60,
        unscored_languages=base.unscored_languages if o.unscored_languages is None else Outcome(o.unscored_languages),
        languages=base.languages if o.languages is None else frozenset(o.languages),
    )


def load_config(path: Path | None) -> Config:
    """Read and validate `path`; None means the embedded defaults. Raises ConfigError."""
    if path is None:
        return Config()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path}: not UTF-8 text (byte {exc.start})"]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"]) from exc
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError([_describe(path, err) for err in exc.errors()]) from exc


def _describe(path: Path, err: Any) -> str:
    loc = [str(p) for p in err["loc"] if p != "[key]"]
    key = ".".join(loc) or "(top level)"
    if "[key]" in err["loc"]:
        key += " (the key itself)"
    if err["type"] == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        hint = f"; allowed keys here: {', '.join(allowed)}" if allowed else ""
        return f"{path}: {key}: unknown key{hint}"
    value = err.get("input")
    if err["type"] == "literal_error" and isinstance(value, str) and value in RENAMED:
        return (
            f"{path}: {key}: the category {value!r} is now {RENAMED[value]!r} "
            f"(categories: {', '.join(CATEGORIES)}); rename it in the file"
        )
    shown = "" if isinstance(value, dict) or key == "database.url" else f" (got {value!r})"
    message = err["msg"].removeprefix("Value error, ")
    return f"{path}: {key}: {message}{shown}"


def _allowed_keys(loc: list[str]) -> list[str]:
    """Walk the schema along `loc` to list the keys a table accepts there."""
    node: Any = Config
    for part in loc:
        if isinstance(node, type) and issubclass(node, BaseModel):
            if part not in node.model_fields:
                return []
            node = node.model_fields[part].annotation
        else:
            args = get_args(node)  # a dict-valued table (communities.NAME): step into its values
            if len(args) != 2:
                return []
            node = args[1]
    if isinstance(node, type) and issubclass(node, BaseModel):
        return sorted(node.model_fields)
    return []
