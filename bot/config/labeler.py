"""Settings of modbot's own Bluesky labeler (`[adapters.bluesky.labeler]`): where it serves, its
key, which label each category emits, how each label is declared to the network, and which
reports it takes."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from bot.config.base import Strict, UserPath

GLOBAL_VALUES = frozenset({"!hide", "!warn", "!no-unauthenticated", "porn", "sexual", "nudity", "graphic-media"})
"""Values every Bluesky client already knows; a labeler emits them without declaring them."""
ReportReason = Literal["spam", "violation", "misleading", "sexual", "rude", "other", "appeal"]
"""com.atproto.moderation.defs#reason<Name>, lower-cased: what a user may report for."""


class LabelLocale(Strict):
    lang: str = Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
    name: str = Field(min_length=1, max_length=64)
    description: str = Field(min_length=1, max_length=10_000)


class LabelValue(Strict):
    """How one label value is declared in the labeler's service record (what users see in their
    moderation settings) and how long it lasts."""

    severity: Literal["inform", "alert", "none"] = "alert"
    blurs: Literal["content", "media", "none"] = "none"
    default_setting: Literal["ignore", "warn", "hide"] = "warn"
    adult_only: bool = False
    expires_days: float | None = Field(None, gt=0, le=3650)
    """A label that should lapse (a "new account" label) carries `exp` this long after issue."""
    locales: list[LabelLocale] = Field(min_length=1)


def _value(name: str, description: str, severity: str = "alert", blurs: str = "none") -> LabelValue:
    return LabelValue.model_validate(
        {"severity": severity, "blurs": blurs, "locales": [{"lang": "en", "name": name, "description": description}]}
    )


def _default_values() -> dict[str, LabelValue]:
    return {
        "hate": _value(
            "Hate", "Attacks people for a protected attribute (race, religion, gender, disability...).", blurs="content"
        ),
        "harassment": _value("Harassment", "Insults or attacks aimed at a person.", blurs="content"),
        "threat": _value("Threat", "Threatens violence or harm.", blurs="content"),
        "spam": _value("Spam", "Unsolicited promotion, scams or repeated posting.", severity="inform"),
        "misleading": _value("Misleading", "Repeats a claim that fact-checkers have rated false.", severity="inform"),
    }


class LabelerConfig(Strict):
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(8095, ge=1, le=65535)
    public_url: str = Field("", pattern=r"^(https?://[^/?#\s]+)?$")
    """The origin the DID document's `#atproto_labeler` endpoint names (a reverse proxy's https
    origin in production); what clients and the AppView connect to."""
    key_file: UserPath | None = None
    """The signing key, mode 0600 (default: labeler.key in the data dir); `modbot bluesky labeler
    setup` writes it."""
    key_type: Literal["secp256k1", "p256"] = "secp256k1"
    categories: dict[str, str] = Field(
        default_factory=lambda: {
            "hate": "hate",
            "harassment": "harassment",
            "threat": "threat",
            "spam": "spam",
            "misinformation": "misleading",
            "sexual": "sexual",
        }
    )
    """The label value each category emits (`!warn`/`!hide` allowed); a category left out emits none."""
    values: dict[str, LabelValue] = Field(default_factory=_default_values)
    """Declarations of the custom values (every value `categories` names that is not global)."""
    report_reasons: list[ReportReason] = ["spam", "violation", "misleading", "sexual", "rude", "other", "appeal"]
    """Report reasons accepted from users; `appeal` lets authors appeal a label."""

    @field_validator("categories")
    @classmethod
    def _values_are_labels(cls, value: dict[str, str]) -> dict[str, str]:
        for category, val in value.items():
            if val not in GLOBAL_VALUES and not _is_custom(val):
                raise ValueError(f"categories.{category} = {val!r}: a label value is lowercase letters, digits and '-'")
        return value

    @field_validator("values")
    @classmethod
    def _names_are_custom(cls, value: dict[str, LabelValue]) -> dict[str, LabelValue]:
        for name in value:
            if not _is_custom(name) or name in GLOBAL_VALUES:
                raise ValueError(f"values.{name}: a custom value is lowercase letters, digits and '-' and not global")
        return value

    @model_validator(mode="after")
    def _every_value_declared(self) -> LabelerConfig:
        missing = sorted({v for v in self.categories.values() if v not in GLOBAL_VALUES} - set(self.values))
        if missing:
            raise ValueError(f"categories emit {', '.join(missing)} but [values] does not declare them")
        return self


def _is_custom(val: str) -> bool:
    return 0 < len(val) <= 100 and all(c.islower() or c.isdigit() or c == "-" for c in val) and val.isascii()
