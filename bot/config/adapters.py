"""Settings of each platform adapter: console, Discord (per guild), Bluesky."""

from __future__ import annotations

import string
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    Field,
    field_validator,
)

from bot.config.base import Strict, UserPath
from bot.config.labeler import LabelerConfig


class ConsoleAdapterConfig(Strict):
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


class DiscordCompression(StrEnum):
    """How a Discord gateway compresses its frames (bot/adapters/discord/gateway.py reads them)."""

    ZLIB_STREAM = "zlib-stream"
    """One zlib stream over the whole connection, each message ending in a sync flush (Discord's
    oldest transport compression; every compatible server has it)."""
    ZSTD_STREAM = "zstd-stream"
    """One zstd stream over the connection, a frame per message (what discord.py asks for)."""
    PAYLOAD = "payload"
    """No transport compression; IDENTIFY asks for large payloads compressed one by one."""
    NONE = "none"
    """Plain JSON text frames."""


ActingOutcome = Literal["hide", "remove", "timeout", "ban"]
DiscordActionKind = Literal["remove", "timeout", "kick", "ban", "warn"]
Snowflake = Annotated[str, Field(pattern=r"^\d{1,20}$")]


WARNING_FIELDS = ("server", "rule", "quote", "appeal")
DEFAULT_WARNING = "Your message in **{server}** was removed for {rule}.{quote} {appeal}"


def _warning_template(text: str | None) -> str | None:
    """A warning template names only the fields a warning fills in, each at most once in braces."""
    if text is None:
        return None
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError as exc:
        raise ValueError(f"not a template ({exc}); write a literal brace as {{{{ or }}}}") from exc
    unknown = sorted({n for n in names if n not in WARNING_FIELDS})
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(unknown)}; a warning may use {', '.join(WARNING_FIELDS)}")
    return text


class DiscordGuildConfig(Strict):
    mod_channel: Snowflake | None = None
    """Channel where flagged cases are posted with review buttons. Keep it private to moderators:
    cases show the post, the author's record and the scores."""
    moderator_roles: list[str] = []
    """Role ids or names allowed to act on cases (holders of Manage Messages always are)."""
    warning: str | None = Field(None, max_length=1500)
    """This server's warning template (else [adapters.discord] warning)."""
    appeal: str | None = Field(None, max_length=500)
    """This server's appeal line (else [adapters.discord] appeal)."""

    _template = field_validator("warning")(classmethod(lambda cls, v: _warning_template(v)))


class DiscordConfig(Strict):
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
    appeal: str = Field(
        "To appeal, reply to this message or press Appeal, and a moderator will look again.", max_length=500
    )
    """The appeal line of warnings ({appeal} in the template)."""
    warning: str = Field(DEFAULT_WARNING, max_length=1500)
    """What a warned author is told: {server} the server's name, {rule} the rule in plain words,
    {quote} the part of their message that triggered it (a sentence, or nothing), {appeal}."""

    _template = field_validator("warning")(classmethod(lambda cls, v: _warning_template(v)))

    _keep_default_actions = field_validator("actions")(classmethod(lambda cls, v: _with_defaults(cls, "actions", v)))

    sharded: bool = False
    """Use discord.py's AutoShardedBot (for bots in more than about 2,500 guilds)."""
    api_url: str = ""
    """REST base URL; empty means Discord's own. For a proxy, or the test suite's fake Discord."""
    gateway_url: str = ""
    compression: DiscordCompression = Field(DiscordCompression.ZLIB_STREAM, strict=False)
    """How the gateway compresses its frames: "zlib-stream" (Discord's, and every compatible
    server's), "zstd-stream", "payload" (each large payload compressed on its own, asked in
    IDENTIFY) or "none"."""
    catch_up_hours: float = Field(24.0, ge=0, le=24 * 14)
    """After a gap (a stop, a restart, a session the gateway would not resume), read each channel's
    history back this far from now, from the last message modbot stored there; 0 turns catch-up off."""
    catch_up_messages: int = Field(500, ge=1, le=10_000)
    """At most this many missed messages per channel and gap (the oldest first); beyond it the rest
    are logged as not caught up."""


BlueskyActionKind = Literal["reply", "report", "label", "hide_reply", "mute", "block"]


class BlueskyConfig(Strict):
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
    notifications_backfill: bool = False
    """First start only (nothing read yet): decide the notifications the AppView still holds.
    Off: start from now, so a new bot does not answer old mentions."""
    community: str = Field("", max_length=200)
    """Community name for policy and the review queue; empty: the bot's handle."""
    moderation_service_did: str = Field("did:plc:ar7c4by46qjdydhdevvrndac", pattern=r"^did:[a-z]+:[A-Za-z0-9._:%-]+$")
    """Where reports go (Bluesky's own moderation service by default; or your Ozone labeler)."""
    labeler_did: str | None = Field(None, pattern=r"^did:[a-z]+:[A-Za-z0-9._:%-]+$")
    """An Ozone labeler the bot account moderates, for the `label` action when modbot's own
    labeler ([adapters.bluesky.labeler]) is off."""
    label: str = Field("rude", pattern=r"^[a-z0-9-]{1,128}$")
    """Label value emitted by the `label` action."""
    mention_reply: str = Field("", max_length=300)
    """If set, allowed posts that mention the bot with a question get this reply (replies under the
    bot's posts do not: they are often members asking each other; the reply assistant drafts those)."""
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
    labeler: LabelerConfig = Field(default_factory=LabelerConfig)
    """modbot as a labeler of its own: `label` actions sign and serve labels as the bot account."""

    _keep_default_actions = field_validator("actions")(classmethod(lambda cls, v: _with_defaults(cls, "actions", v)))


def _with_defaults(model: type[BaseModel], field: str, value: dict[str, Any]) -> dict[str, Any]:
    """A mapping field where the keys a user sets replace the defaults' and the others stay."""
    defaults: dict[str, Any] = model.model_fields[field].get_default(call_default_factory=True)
    return {**defaults, **value}


class AdaptersConfig(Strict):
    console: ConsoleAdapterConfig = ConsoleAdapterConfig()
    discord: DiscordConfig = Field(default_factory=DiscordConfig)
    bluesky: BlueskyConfig = Field(default_factory=BlueskyConfig)
