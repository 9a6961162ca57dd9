"""Settings of the filter: each scorer, the spam and domain rules, the policy and its community
and channel overrides."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from bot.config.base import (
    DEFAULT_THRESHOLDS,
    REVIEW_ONLY,
    Category,
    Score,
    Strict,
    Thresholds,
    UserPath,
)


class ProfanityConfig(Strict):
    enabled: bool = True
    span_threshold: Score = 0.5


class DetoxifyConfig(Strict):
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


class EmbeddingConfig(Strict):
    enabled: bool = False
    """Computed only when a head needs it; enable to compute and keep it for every post anyway."""
    model_dir: UserPath | None = None
    device: str = Field("cpu", pattern=r"^(cpu|cuda(:\d+)?|mps)$")
    batch_size: int = Field(16, ge=1, le=1024)
    """Texts encoded together, cut from the pipeline's batch in order of token count: smaller
    batches pad less, so 16 beat 32 by half on tweet-length posts (bench/scorer_throughput.py)."""
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    """auto: bf16 where the processor multiplies bf16 natively (AVX-512 BF16, AMX), else fp32."""


class HeadConfig(Strict):
    enabled: bool = True
    """The abuse model trained by `modbot train` (the encoder fine-tuned end to end, one output
    per category); on by default: it is the best offline scorer modbot has (docs/models.md)."""
    artifact: UserPath | None = None
    """A head trained elsewhere; default: the one shipped in the package."""
    identity_swaps: int = Field(2, ge=0, le=8)
    """A post naming a group (moderation/data/identity_terms.txt) is scored as the mean over it
    and this many copies naming other groups, so that the group's name weighs less than what is
    said of it (madlibs 43 -> 49 of 50 identities, docs/models.md); each copy costs one more
    encoder pass for such posts. 0: as written only."""


class SpamTextConfig(Strict):
    enabled: bool = True
    """The spam-text classifier trained by `modbot train spam` (category `spam`, offline, shipped)."""
    artifact: UserPath | None = None
    """A model trained elsewhere; default: the one shipped in the package."""


LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")]


class NativeConfig(Strict):
    """Scorers for posts in other languages than English, one per language, trained on that
    language's own data by `modbot train native` (offline, shipped for the languages whose data
    allows it). A post surely in one of them is scored by its language's model, not the English ones."""

    enabled: bool = True
    artifact: UserPath | None = None
    """A model trained elsewhere (say with --noncommercial); default: the one shipped in the package."""
    languages: list[LanguageCode] | None = None
    """Only these of the artifact's languages (ISO 639-1); default: all of them."""


class SpamConfig(Strict):
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


class ClaimsConfig(Strict):
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


class DomainsConfig(Strict):
    enabled: bool = False
    """Mark links to domains listed in `file` (categories misinformation or spam)."""
    file: UserPath | None = None
    """Lines of `domain  category  reason` (docs/configuration.md#domain-reputation); needed when enabled."""


class ScorersConfig(Strict):
    profanity: ProfanityConfig = ProfanityConfig()
    claims: ClaimsConfig = ClaimsConfig()
    head: HeadConfig = HeadConfig()
    detoxify: DetoxifyConfig = DetoxifyConfig()
    embedding: EmbeddingConfig = EmbeddingConfig()
    spam: SpamConfig = SpamConfig()
    spam_text: SpamTextConfig = SpamTextConfig()
    native: NativeConfig = NativeConfig()
    domains: DomainsConfig = DomainsConfig()


UnscoredLanguages = Literal["log", "flag"]
"""What a post surely in a language no text scorer reads gets: logged with the reason, or flagged
for a human (a community that must see everything)."""


class PolicyConfig(Strict):
    shadow: bool = False
    exempt_users: list[str] = []
    exempt_roles: list[str] = []
    review_only: list[Category] = Field(default_factory=lambda: list(REVIEW_ONLY))
    timeout_minutes: int = Field(60, ge=1, le=40_320)
    unscored_languages: UnscoredLanguages = "log"
    languages: list[LanguageCode] = []
    """The languages posts here are written in (ISO 639-1), if the community knows: language ID
    gives them odds of 10 to 1, which settles a short post between close languages (Danish or
    Norwegian). A post read as English stays English; other languages are still recognised."""
    thresholds: Thresholds = Field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))  # type: ignore[arg-type]

    @field_validator("thresholds", mode="after")
    @classmethod
    def _over_defaults(cls, given: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        """Category by category over the defaults: a file that sets only profanity must not
        switch hate and spam off; `hate = {}` does that on purpose."""
        return {**DEFAULT_THRESHOLDS, **given}


class PolicyOverride(Strict):
    """Unset fields inherit; `thresholds` replaces the inherited map category by category."""

    shadow: bool | None = None
    exempt_users: list[str] | None = None
    exempt_roles: list[str] | None = None
    review_only: list[Category] | None = None
    timeout_minutes: int | None = Field(None, ge=1, le=40_320)
    unscored_languages: UnscoredLanguages | None = None
    languages: list[LanguageCode] | None = None
    thresholds: Thresholds = {}


class CommunityConfig(PolicyOverride):
    channels: dict[str, PolicyOverride] = {}
