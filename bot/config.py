"""Configuration: one TOML file, a strict schema, one clear message per problem.

Unknown keys are errors (a typo in a threshold name must not silently leave a community
unprotected) and every number has bounds. Secrets never live in the file: the file names the
environment variable that holds them.
"""

from __future__ import annotations

import itertools
import os
import re
import string
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from moderation.policy import Policy, PolicyRules
from moderation.types import CATEGORIES, RENAMED, Outcome

Category = Literal["hate", "harassment", "threat", "sexual", "profanity", "toxicity", "spam", "misinformation"]
OutcomeName = Literal["log", "flag", "hide", "remove", "timeout", "ban"]
Score = Annotated[float, Field(ge=0.0, le=1.0)]


def _not_empty(value: Any) -> Any:
    """An empty path would mean the current directory, wherever the service happens to start."""
    if isinstance(value, str) and not value.strip():
        raise ValueError("an empty path; leave the key out for the default")
    return value


UserPath = Annotated[Path, BeforeValidator(_not_empty), Field(strict=False), AfterValidator(lambda p: p.expanduser())]
"""TOML has no path type: a path is a string, the one coercion a strict config allows."""


def _ordered(outcomes: dict[str, float]) -> dict[str, float]:
    """A stronger outcome at a lower score than a weaker one would never let the weaker happen
    (remove at 0.6 under flag at 0.8 removes what it was meant to flag): refused, not guessed."""
    ranked = sorted(outcomes.items(), key=lambda kv: Outcome(kv[0]).severity)
    for (weak, low), (strong, high) in itertools.pairwise(ranked):
        if high < low:
            raise ValueError(
                f"{strong} ({high}) must not be below {weak} ({low}): a stronger outcome needs a higher score"
            )
    return outcomes


Thresholds = dict[Category, Annotated[dict[OutcomeName, Score], AfterValidator(_ordered)]]

assert set(get_args(Category)) == set(CATEGORIES), "Category literal out of step with moderation.types"

DEFAULT_THRESHOLDS: dict[str, dict[str, float]] = {
    # Swearing at nobody is how many communities talk: on its own it is logged, never flagged.
    "profanity": {"log": 0.8},
    # Attacks on a protected group go to a human (and `review_only` keeps them there).
    # Thresholds from the abuse model's dev splits (docs/evaluation.md): near the best F1.
    "hate": {"flag": 0.5},
    "threat": {"flag": 0.4},
    "harassment": {"flag": 0.5},
    "sexual": {"flag": 0.7},
    # Scored only by detoxify (the shipped model has no toxicity output): rudeness of any kind is
    # too broad to act on alone; logged as context.
    "toxicity": {"log": 0.9},
    "spam": {"flag": 0.6},
    "misinformation": {"log": 0.55},
}
REVIEW_ONLY: list[Category] = ["hate", "threat"]
"""Categories that never act on their own: identity words and threats in jest or in quotation
trip classifiers far more often than they are meant, and a wrong removal of a post about a
group is the error a moderator least wants the bot to make."""


class ConfigError(Exception):
    """Every problem found in a configuration file, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _Strict(BaseModel):
    # strict: `port = "80"` or `shadow = "yes"` is an error, not a guess at what was meant
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def default_data_dir() -> Path:
    if env := os.environ.get("MODBOT_DATA_DIR"):
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "modbot"


class DataConfig(_Strict):
    dir: UserPath = Field(default_factory=default_data_dir)
    """Where the SQLite database, action logs and model caches live."""


class DatabaseConfig(_Strict):
    url: str = ""
    """SQLAlchemy URL. Empty: SQLite file `modbot.db` in the data dir."""
    url_env: str = Field("MODBOT_DATABASE_URL", pattern=r"^[A-Z_][A-Z0-9_]*$")
    """Environment variable that, when set, overrides `url` (keeps passwords out of the file)."""

    @field_validator("url")
    @classmethod
    def _no_secret(cls, url: str) -> str:
        if url:
            check_database_url(url, "database.url")
        return url


def masked(url: str) -> str:
    """The URL with whatever stands between `user:` and the last `@` of its address hidden, also
    when an unencoded `@` inside the password would make a parser split it elsewhere."""
    return re.sub(r"(://[^:/@]*:)[^/]*@", r"\1***@", url)


def check_database_url(url: str, where: str, password_allowed: bool = False) -> None:
    """A URL SQLAlchemy can parse, and outside the environment one without a password."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise ValueError(
            f"{where} is not a database URL SQLAlchemy can read ({masked(url)}); percent-encode special characters"
        ) from None
    if parsed.password and not password_allowed:
        raise ValueError(
            f"{where} holds a password ({masked(url)}); secrets never live in the file: put the whole URL "
            "in the environment variable named by database.url_env"
        )


class PipelineConfig(_Strict):
    batch_size: int = Field(128, ge=1, le=1024)
    """The most posts scored together. A batch waits at most batch_wait_ms for company, so the cap
    binds only when posts queue up; then bigger batches pad less and share the fixed costs
    (every offline scorer: 204 posts/s at 32, 305 at 128; bench/scorer_throughput.py)."""
    batch_wait_ms: int = Field(50, ge=0, le=10_000)
    queue_size: int = Field(1000, ge=1, le=100_000)
    max_post_chars: int = Field(200_000, ge=1_000, le=10_000_000)
    retry_failed_seconds: float = Field(300.0, ge=0, le=86_400)
    """How often posts whose scoring failed are tried again while running (0: only at start)."""
    decision_spool: int = Field(10_000, ge=100, le=1_000_000)
    """Decisions kept in memory while the database is down; when full, scoring and ingest wait."""
    ingest_spool: int = Field(100_000, ge=0, le=10_000_000)
    """Posts kept on local disk (<data dir>/ingest-spool.db) while the database is down, stored when
    it returns; when full, ingest pauses. 0: no spool, adapters wait instead."""
    ingest_spool_path: UserPath | None = None
    """Where that spool lives (default <data dir>/ingest-spool.db): on another disk than the
    database, it still takes posts when the database's disk is full."""


class ProfanityConfig(_Strict):
    enabled: bool = True
    span_threshold: Score = 0.5


class DetoxifyConfig(_Strict):
    enabled: bool = False
    model_type: Literal["original", "unbiased", "multilingual", "original-small", "unbiased-small"] = "original"
    checkpoint: UserPath | None = None
    huggingface_config_path: UserPath | None = None
    device: str = Field("cpu", pattern=r"^(cpu|cuda(:\d+)?|mps)$")
    download: bool = False
    batch_size: int = Field(16, ge=1, le=256)
    cascade: bool = False
    """Ask detoxify only about posts whose highest abuse score from the other scorers lies in
    [cascade_low, cascade_high); for those, its scores replace theirs in its categories."""
    cascade_low: Score = 0.15
    cascade_high: Score = 0.85

    @model_validator(mode="after")
    def _band(self) -> DetoxifyConfig:
        if self.cascade_low >= self.cascade_high:
            raise ValueError(f"cascade_low ({self.cascade_low}) must be below cascade_high ({self.cascade_high})")
        return self


class EmbeddingConfig(_Strict):
    enabled: bool = False
    """Computed only when a head needs it; enable to compute and keep it for every post anyway."""
    model_dir: UserPath | None = None
    device: str = Field("cpu", pattern=r"^(cpu|cuda(:\d+)?|mps)$")
    batch_size: int = Field(16, ge=1, le=1024)
    """Texts encoded together, cut from the pipeline's batch in order of token count: smaller
    batches pad less, so 16 beat 32 by half on tweet-length posts (bench/scorer_throughput.py)."""
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    """auto: bf16 where the processor multiplies bf16 natively (AVX-512 BF16, AMX), else fp32."""


class HeadConfig(_Strict):
    enabled: bool = True
    """The abuse model trained by `modbot train` (the encoder fine-tuned end to end, one output
    per category); on by default: it is the best offline scorer modbot has (docs/models.md)."""
    artifact: UserPath | None = None
    """A head trained elsewhere; default: the one shipped in the package."""


class SpamTextConfig(_Strict):
    enabled: bool = True
    """The spam-text classifier trained by `modbot train spam` (category `spam`, offline, shipped)."""
    artifact: UserPath | None = None
    """A model trained elsewhere; default: the one shipped in the package."""


class SpamConfig(_Strict):
    """Spam and coordinated-abuse rules (category `spam`); each describes its match in the reason."""

    enabled: bool = True
    author_burst: int = Field(8, ge=2, le=10_000)
    burst_seconds: int = Field(60, ge=1, le=86_400)
    community_burst: int = Field(300, ge=2, le=1_000_000)
    duplicate_accounts: int = Field(3, ge=2, le=10_000)
    duplicate_seconds: int = Field(600, ge=1, le=86_400)
    max_links: int = Field(4, ge=0, le=1000)
    max_mentions: int = Field(6, ge=0, le=1000)
    new_account_hours: int = Field(24, ge=0, le=8760)
    redis_url: str = ""
    """Share counters between workers through Redis (redis://host:port/db); empty: in this process."""


class ClaimsConfig(_Strict):
    enabled: bool = False
    """Match posts against the fact-checks imported with `modbot claims import` (category misinformation)."""
    adapt: bool = True
    """Pass posts and fact-checks through the map `modbot train claims` fitted to fact-check matching
    (CheckThat! dev MAP@5 0.81 -> 0.88, docs/evaluation.md); false: the plain embedding (and no re-ranker)."""
    map: UserPath | None = None
    """A map trained elsewhere (`modbot train claims --out`); default: the one shipped in the package."""
    rerank: bool = True
    """Re-order the best 30 candidates of a matching post with the re-ranker fitted with the map
    (word-piece alignment, word and number overlap; docs/evaluation.md). Needs `adapt`."""
    rerank_from: float = Field(0.5, ge=0.0, le=1.0)
    """Only posts whose best first-stage match reaches this similarity are re-ranked (each costs
    an encoder pass for the post and its uncached candidates). Keep it at or below the lowest
    misinformation threshold: posts under it report no fact-check anyway."""


class DomainsConfig(_Strict):
    enabled: bool = False
    """Mark links to domains listed in `file` (categories misinformation or spam)."""
    file: UserPath | None = None
    """Lines of `domain  category  reason` (docs/configuration.md#domain-reputation); needed when enabled."""


class ScorersConfig(_Strict):
    profanity: ProfanityConfig = ProfanityConfig()
    claims: ClaimsConfig = ClaimsConfig()
    head: HeadConfig = HeadConfig()
    detoxify: DetoxifyConfig = DetoxifyConfig()
    embedding: EmbeddingConfig = EmbeddingConfig()
    spam: SpamConfig = SpamConfig()
    spam_text: SpamTextConfig = SpamTextConfig()
    domains: DomainsConfig = DomainsConfig()


class PolicyConfig(_Strict):
    shadow: bool = False
    exempt_users: list[str] = []
    exempt_roles: list[str] = []
    review_only: list[Category] = Field(default_factory=lambda: list(REVIEW_ONLY))
    timeout_minutes: int = Field(60, ge=1, le=40_320)
    thresholds: Thresholds = Field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))  # type: ignore[arg-type]

    @field_validator("thresholds", mode="after")
    @classmethod
    def _over_defaults(cls, given: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        """Category by category over the defaults: a file that sets only profanity must not
        switch hate and spam off; `hate = {}` does that on purpose."""
        return {**DEFAULT_THRESHOLDS, **given}


class PolicyOverride(_Strict):
    """Unset fields inherit; `thresholds` replaces the inherited map category by category."""

    shadow: bool | None = None
    exempt_users: list[str] | None = None
    exempt_roles: list[str] | None = None
    review_only: list[Category] | None = None
    timeout_minutes: int | None = Field(None, ge=1, le=40_320)
    thresholds: Thresholds = {}


class CommunityConfig(PolicyOverride):
    channels: dict[str, PolicyOverride] = {}


class ConsoleAdapterConfig(_Strict):
    enabled: bool = True
    source: str = "-"
    """A JSON Lines file, a folder of *.jsonl files, or `-` for standard input."""
    follow: bool = False
    """Keep reading as the file grows / new files appear in the folder, until stopped."""
    poll_seconds: float = Field(1.0, ge=0.05, le=3600)
    community: str = Field("console", min_length=1, max_length=200)
    """Community for posts that do not name one."""
    actions_log: UserPath | None = None
    """JSON Lines file the console platform writes carried-out actions to (default: data dir)."""


ActingOutcome = Literal["hide", "remove", "timeout", "ban"]
DiscordActionKind = Literal["remove", "timeout", "kick", "ban", "warn"]
Snowflake = Annotated[str, Field(pattern=r"^\d{1,20}$")]


class DiscordGuildConfig(_Strict):
    mod_channel: Snowflake | None = None
    """Channel where flagged cases are posted with review buttons."""
    moderator_roles: list[str] = []
    """Role ids or names allowed to act on cases (holders of Manage Messages always are)."""


class DiscordConfig(_Strict):
    enabled: bool = False
    token_env: str = Field("MODBOT_DISCORD_TOKEN", pattern=r"^[A-Z_][A-Z0-9_]*$")
    application_id: Snowflake | None = None
    """Needed by `modbot discord invite-url` only."""
    guilds: dict[Snowflake, DiscordGuildConfig] = {}
    actions: dict[ActingOutcome, list[DiscordActionKind]] = Field(
        default_factory=lambda: {  # type: ignore[arg-type]
            "hide": ["remove"],
            "remove": ["remove", "warn"],
            "timeout": ["remove", "timeout", "warn"],
            "ban": ["remove", "ban"],
        }
    )
    """What each acting outcome does on Discord; outcomes left out keep these defaults. Discord has
    no "hide": a hidden post is removed."""
    ban_delete_message_seconds: int = Field(3600, ge=0, le=604_800)
    appeal: str = Field("reply to this message to reach the moderators", max_length=500)

    _keep_default_actions = field_validator("actions")(classmethod(lambda cls, v: _with_defaults(cls, "actions", v)))

    sharded: bool = False
    """Use discord.py's AutoShardedBot (for bots in more than about 2,500 guilds)."""
    api_url: str = ""
    """REST base URL; empty means Discord's own. For a proxy, or the test suite's fake Discord."""
    gateway_url: str = ""


BlueskyActionKind = Literal["reply", "report", "label", "hide_reply", "mute", "block"]


class BlueskyConfig(_Strict):
    enabled: bool = False
    service: str = Field("https://bsky.social", pattern=r"^https?://")
    """Where the bot account logs in (its PDS or the entryway)."""
    handle: str = ""
    """The bot account's handle (or DID)."""
    plc_directory: str = Field("https://plc.directory", pattern=r"^https?://")
    """Where did:plc identities are registered; their first operation dates an account's creation."""
    password_env: str = Field("MODBOT_BLUESKY_APP_PASSWORD", pattern=r"^[A-Z_][A-Z0-9_]*$")
    """Environment variable holding an app password (Settings → App passwords), never the main one."""
    source: Literal["firehose", "notifications"] = "firehose"
    firehose_url: str = Field("wss://bsky.network/xrpc", pattern=r"^wss?://")
    """subscribeRepos of a relay (whole network) or of one PDS."""
    firehose_start_cursor: int | None = Field(None, ge=0)
    """First start only (no stored cursor): replay from this seq; 0 = all the service still holds.
    Unset: start live."""
    watch: Literal["all", "replies", "mentions", "accounts"] = "mentions"
    """all posts; replies in threads started by watched accounts; mentions of the bot; posts by watched accounts."""
    watch_accounts: list[str] = []
    """DIDs or handles for `replies` and `accounts` (the bot itself is always watched for `replies`)."""
    poll_seconds: float = Field(15.0, ge=1.0, le=3600)
    """How often notifications are fetched (source = "notifications")."""
    community: str = Field("", max_length=200)
    """Community name for policy and the review queue; empty: the bot's handle."""
    moderation_service_did: str = Field("did:plc:ar7c4by46qjdydhdevvrndac", pattern=r"^did:[a-z]+:[A-Za-z0-9._:%-]+$")
    """Where reports go (Bluesky's own moderation service by default; or your Ozone labeler)."""
    labeler_did: str | None = Field(None, pattern=r"^did:[a-z]+:[A-Za-z0-9._:%-]+$")
    """An Ozone labeler the bot account moderates; needed for the `label` action."""
    label: str = Field("rude", pattern=r"^[a-z0-9-]{1,128}$")
    """Label value emitted by the `label` action."""
    mention_reply: str = Field("", max_length=300)
    """If set, allowed posts that mention the bot with a question get this reply (until drafted replies exist)."""
    actions: dict[ActingOutcome, list[BlueskyActionKind]] = Field(
        default_factory=lambda: {  # type: ignore[arg-type]
            "hide": ["hide_reply"],
            "remove": ["hide_reply", "report"],
            "timeout": ["hide_reply", "report", "mute"],
            "ban": ["hide_reply", "report", "block"],
        }
    )
    """What each acting outcome does on Bluesky; outcomes left out keep these defaults."""
    actions_per_minute: int = Field(30, ge=1, le=3000)

    _keep_default_actions = field_validator("actions")(classmethod(lambda cls, v: _with_defaults(cls, "actions", v)))


def _with_defaults(model: type[BaseModel], field: str, value: dict[str, Any]) -> dict[str, Any]:
    """A mapping field where the keys a user sets replace the defaults' and the others stay."""
    defaults: dict[str, Any] = model.model_fields[field].get_default(call_default_factory=True)
    return {**defaults, **value}


class AdaptersConfig(_Strict):
    console: ConsoleAdapterConfig = ConsoleAdapterConfig()
    discord: DiscordConfig = Field(default_factory=DiscordConfig)
    bluesky: BlueskyConfig = Field(default_factory=BlueskyConfig)


DraftTrigger = Literal["question", "request", "misinformation", "rule_reminder"]
TEMPLATE_FIELDS: dict[str, frozenset[str]] = {
    "misinformation": frozenset({"claim", "rating", "publisher", "url"}),
    "rule_reminder": frozenset({"rule", "rule_text", "url"}),
}


def _check_template(kind: str, template: str) -> str:
    """A template may use only the fields its trigger fills, so a typo fails at start, not at 3 a.m."""
    try:
        used = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise ValueError(f"not a valid template: {exc}") from exc
    unknown = sorted(used - TEMPLATE_FIELDS[kind])
    if unknown:
        allowed = ", ".join("{" + f + "}" for f in sorted(TEMPLATE_FIELDS[kind]))
        raise ValueError(f"unknown field(s) {', '.join(unknown)}; allowed: {allowed}")
    return template


class ReplyTemplates(_Strict):
    misinformation: str = Field(
        'For context: fact-checkers ({publisher}) rated a similar claim {rating}: "{claim}" {url}',
        max_length=1000,
    )
    rule_reminder: str = Field('A friendly reminder of our rule "{rule}": {rule_text} {url}', max_length=1000)

    _misinformation = field_validator("misinformation")(
        classmethod(lambda cls, v: _check_template("misinformation", v))
    )
    _rule_reminder = field_validator("rule_reminder")(classmethod(lambda cls, v: _check_template("rule_reminder", v)))


DEFAULT_PERSONA = (
    "You are modbot, the assistant of this community's moderators. You answer members briefly and politely, "
    "using only the facts you are given; when they do not answer the question, say that a moderator will follow up."
)


class ReplyCommunityConfig(_Strict):
    """Per-community reply settings; unset fields inherit from [reply]."""

    persona: str | None = Field(None, max_length=4000)
    knowledge_dir: UserPath | None = None
    triggers: list[DraftTrigger] | None = None
    auto_send: bool | None = None
    templates: ReplyTemplates | None = None


class ReplyConfig(_Strict):
    enabled: bool = False
    """Draft replies with the local model (loads it: ~0.5 GB of memory for the default)."""
    model: str = ""
    """A local model folder or a hub id already in the local Hugging Face cache; empty: the bundled
    SmolLM2-135M-Instruct."""
    dtype: Literal["float32", "bfloat16"] = "float32"
    device: str = Field("cpu", pattern=r"^(cpu|cuda(:\d+)?|mps)$")
    threads: int = Field(0, ge=0, le=512)
    """torch threads for generation; 0: torch's default."""
    max_new_tokens: int = Field(80, ge=8, le=2048)
    timeout_seconds: float = Field(60.0, ge=1.0, le=3600)
    """Generation of one batch stops after this long; what was written by then is gated as usual."""
    batch_size: int = Field(4, ge=1, le=64)
    triggers: list[DraftTrigger] = ["question", "request", "misinformation", "rule_reminder"]
    rule_reminder_outcomes: list[OutcomeName] = ["flag"]
    """Decisions that get a rule-reminder draft (a removed post cannot be replied to)."""
    model_for: list[Literal["misinformation", "rule_reminder"]] = []
    """Triggers the model writes instead of their template (questions and requests always use the model)."""
    persona: str = Field(DEFAULT_PERSONA, max_length=4000)
    knowledge_dir: UserPath | None = None
    """Markdown files (rules, FAQ, links) drafts are grounded on; files named rules*.md hold the rules."""
    gate_threshold: Score = 0.5
    """A draft the filter scores at or above this in any category is rejected (stricter than posts)."""
    auto_send: bool = False
    """Send drafts that pass every gate without a moderator (never in shadow mode)."""
    auto_send_per_hour: int = Field(10, ge=1, le=10_000)
    templates: ReplyTemplates = ReplyTemplates()
    communities: dict[str, ReplyCommunityConfig] = {}


class WebConfig(_Strict):
    enabled: bool = False
    """Serve the review dashboard from `modbot run` (`modbot web` serves it alone)."""
    host: str = Field("127.0.0.1", min_length=1, max_length=200)
    """Loopback by default: put a TLS reverse proxy in front to reach it from elsewhere."""
    port: int = Field(8765, ge=0, le=65535)
    secure_cookies: bool = True
    """Send the session cookie only over HTTPS (browsers treat http://127.0.0.1 and localhost as secure)."""
    session_hours: int = Field(12, ge=1, le=720)
    max_failed_logins: int = Field(5, ge=1, le=100)
    """Failed logins in a row for one name from one client address before that address must wait
    (1 s, doubling with each further failure, at most `lockout_minutes`); other addresses are not
    affected, so a stranger's guesses cannot lock a moderator out."""
    lockout_minutes: int = Field(15, ge=1, le=1440)
    login_attempts_per_minute: int = Field(10, ge=1, le=1000)
    """Per client address, whatever the account: slows password guessing across accounts."""
    trusted_proxies: list[str] = []
    """Addresses or networks of reverse proxies whose X-Forwarded-For names the client; from
    anyone else the header is ignored (behind an unlisted proxy every client is the proxy)."""

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, proxies: list[str]) -> list[str]:
        import ipaddress

        for proxy in proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(f"{proxy!r} is not an IP address or network") from None
        return proxies


class ScaleConfig(_Strict):
    redis_url: str = ""
    """Empty: one process does everything. Set: `modbot run --role ingest|worker|web` processes
    share the work through a Redis Stream (docs/operations.md#scaling-out)."""
    stream: str = Field("modbot:posts", min_length=1, max_length=200)
    group: str = Field("modbot-workers", min_length=1, max_length=200)
    claim_idle_seconds: float = Field(30.0, ge=1.0, le=3600)
    """A worker that read posts and did not acknowledge them this long is taken to be dead: another takes them."""


class HealthConfig(_Strict):
    enabled: bool = False
    """Serve /healthz, /readyz and Prometheus /metrics (no login: keep it on loopback or a private network)."""
    host: str = Field("127.0.0.1", min_length=1, max_length=200)
    port: int = Field(9101, ge=0, le=65535)


class RetentionConfig(_Strict):
    post_text_days: int = Field(0, ge=0, le=36_500)
    """Purge post text (and drafts about it) this many days after it arrived, once its case is
    closed; decisions and text hashes stay. 0 keeps text forever. The service purges hourly."""


class ExecutorConfig(_Strict):
    max_attempts: int = Field(5, ge=1, le=50)
    backoff_seconds: float = Field(1.0, ge=0.0, le=600)


class LoggingConfig(_Strict):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["text", "json"] = "text"


class Config(_Strict):
    data: DataConfig = Field(default_factory=DataConfig)
    database: DatabaseConfig = DatabaseConfig()
    pipeline: PipelineConfig = PipelineConfig()
    scorers: ScorersConfig = ScorersConfig()
    policy: PolicyConfig = PolicyConfig()
    communities: dict[str, CommunityConfig] = {}
    adapters: AdaptersConfig = AdaptersConfig()
    executor: ExecutorConfig = ExecutorConfig()
    reply: ReplyConfig = ReplyConfig()
    web: WebConfig = WebConfig()
    retention: RetentionConfig = RetentionConfig()
    health: HealthConfig = HealthConfig()
    scale: ScaleConfig = ScaleConfig()
    logging: LoggingConfig = LoggingConfig()

    def database_url(self) -> str:
        if env := os.environ.get(self.database.url_env):
            try:
                check_database_url(env, f"${self.database.url_env}", password_allowed=True)
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
