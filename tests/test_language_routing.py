"""Language routing: every shipped text scorer reads English only, so a post surely in another
language is not scored as if it were English; it gets the reason "not scored: language xx" and the
policy for unscored languages (log, or flag), never a silent allow. An unsure one is scored as
English with a note. The language is recorded on the decision and stored (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.config import Config
from bot.storage.store import Store
from model.language import LanguageId
from moderation.decider import Decider
from moderation.types import Author, Decision, Outcome, Post
from tests.conftest import Reader

NOT_ENGLISH = [
    ("de", "Meine Nachbarn haben gestern ein großes Fest im Garten gefeiert und alle eingeladen"),
    ("es", "Mañana vamos a la playa con toda la familia si no llueve demasiado"),
    ("it", "Questa sera andiamo tutti insieme al ristorante vicino alla stazione"),
    ("pt", "Hoje o jogo foi muito bom, o time jogou com vontade do começo ao fim"),
    ("fr", "Je ne comprends pas pourquoi personne ne répond à mes messages depuis hier"),
    ("da", "Jeg har ikke tid i dag, men vi kan mødes i morgen efter arbejde"),
    ("ru", "Сегодня вечером мы пойдём в кино, если ты не против"),
    ("ar", "سنذهب إلى السوق غدا صباحا لشراء الخضار والفواكه"),
    ("zh", "我们明天早上一起去公园散步吧，天气应该很好"),
]


def _decide(
    texts: list[str], policy: dict[str, Any] | None = None, langs: list[str] | None = None
) -> tuple[list[Decision], Reader]:
    reader = Reader()
    config = Config.model_validate({"policy": policy or {}})
    decider = Decider([reader], config.build_policy(), languages=LanguageId())  # type: ignore[list-item]
    ref = {"langs": langs} if langs is not None else {}
    posts = [
        Post("bluesky", "c", "", str(i), Author(f"a{i}"), t, datetime.now(UTC), platform_ref=ref)
        for i, t in enumerate(texts)
    ]
    return [d for d, _ in decider.decide(posts, count=False)], reader


@pytest.mark.parametrize(("code", "text"), NOT_ENGLISH)
def test_a_post_in_a_language_no_scorer_reads_is_never_silently_allowed(code: str, text: str) -> None:
    [decision], reader = _decide([text])
    assert decision.language == code
    assert decision.outcome is Outcome.LOG
    assert decision.reasons[0].source == "language"
    assert decision.reasons[0].message.startswith(f"not scored: language {code}")
    assert reader.read == [] and "reader" not in decision.scores_by_scorer  # no English model guessed at it


def test_a_community_can_send_unscored_languages_to_a_human() -> None:
    [decision], _ = _decide([NOT_ENGLISH[0][1]], {"unscored_languages": "flag"})
    assert decision.outcome is Outcome.FLAG and decision.reasons[0].category == "language"
    [other], _ = _decide([NOT_ENGLISH[0][1]], {"unscored_languages": "log"})
    assert other.outcome is Outcome.LOG
    with pytest.raises(ValueError, match="unscored_languages"):
        Config.model_validate({"policy": {"unscored_languages": "allow"}})


@pytest.mark.parametrize(
    ("text", "langs", "outcome", "language", "read", "first_reason"),
    [
        ("you absolute idiot", None, Outcome.FLAG, "en", True, "reader"),
        ("thanks, see you at the meeting tomorrow", None, Outcome.ALLOW, "en", True, "reader"),
        ("🙂🙂🙂", None, Outcome.ALLOW, None, True, "reader"),  # no letters: nothing to identify
        ("lol i'm dead", None, Outcome.LOG, "cy", True, "language"),  # unsure: read, with a note
        ("lol i'm dead", ["en"], Outcome.ALLOW, "en", True, "reader"),  # the author's tag settles it
        ("Me estoy comiendo", ["es"], Outcome.LOG, "es", False, "language"),  # short, but tagged
    ],
)
def test_english_unsure_and_tagged_posts(
    text: str, langs: list[str] | None, outcome: Outcome, language: str | None, read: bool, first_reason: str
) -> None:
    [decision], reader = _decide([text], langs=langs)
    assert (decision.outcome, decision.language, bool(reader.read)) == (outcome, language, read)
    assert decision.reasons[0].source in (first_reason, "policy")


@pytest.mark.parametrize(
    ("text", "declared", "language"),
    [
        ("Legender dør aldrig", [], "da"),  # the words settle it: Danish writes "aldrig"...
        ("Legender dør aldri", [], "no"),  # ...and Norwegian "aldri"
        ("Det er helt fint", [], "no"),  # the same words in both: a coin toss...
        ("Det er helt fint", ["da", "en"], "da"),  # ...until the community says it writes Danish
        ("Itu mah sdh nenek-nenek sy heran", [], "id"),  # Indonesian, not Malay ("sdh", "heran")
        ("Jangan lupa makan", [], "ms"),  # words both write: a close call...
        ("Jangan lupa makan", ["id"], "id"),  # ...that the community's word settles
        ("thanks, see you at the meeting tomorrow", ["da"], "en"),  # English stays English
        ("Mañana vamos a la playa con toda la familia si no llueve demasiado", ["da"], "es"),  # a prior, not a filter
        ("MAÑANA NO HAY CLASES POR LA LLUVIA", [], "es"),  # shouting is read in lower case
        ("USER USER Mañana vamos a la playa", [], "es"),  # the datasets' USER placeholder is no word
    ],
)
def test_the_community_s_languages_settle_close_ones(text: str, declared: list[str], language: str) -> None:
    reader = Reader()
    config = Config.model_validate({"policy": {"languages": declared}})
    decider = Decider([reader], config.build_policy(), languages=LanguageId())  # type: ignore[list-item]
    post = Post("discord", "g", "c", "1", Author("a"), text, datetime.now(UTC))
    [(decision, _)] = decider.decide([post], count=False)
    assert decision.language == language


def test_declared_languages_are_checked_and_inherited() -> None:
    with pytest.raises(ValueError, match="languages"):
        Config.model_validate({"policy": {"languages": ["Danish"]}})
    config = Config.model_validate(
        {"policy": {"languages": ["da"]}, "communities": {"g": {"channels": {"intl": {"languages": ["en"]}}}}}
    )
    policy = config.build_policy()
    assert policy.rules_for("g", "general").languages == {"da"}
    assert policy.rules_for("g", "intl").languages == {"en"}
    assert policy.rules_for("g", "general").version != Config().build_policy().default.version


def test_the_language_is_stored_with_the_decision(store: Store) -> None:
    texts = ["you absolute idiot", NOT_ENGLISH[0][1]]
    posts = [Post("console", "c", "", str(i), Author(f"a{i}"), t, datetime.now(UTC)) for i, t in enumerate(texts)]
    accepted = store.accept(posts)
    decider = Decider([Reader()], Config().build_policy(), languages=LanguageId())  # type: ignore[list-item]
    decided = decider.decide([p for _, p in accepted])
    store.record([(row, p, d, a) for (row, p), (d, a) in zip(accepted, decided, strict=True)])
    stored = store.decisions_for("console", "c", ["0", "1"])
    assert {k: v.language for k, v in stored.items()} == {"0": "en", "1": "de"}


def test_a_caller_that_settled_the_language_has_every_post_read() -> None:
    """The scoring API answers only for text it accepted as English (languages: ["en"])."""
    reader = Reader()
    decider = Decider([reader], Config().build_policy(), languages=LanguageId())  # type: ignore[list-item]
    post = Post("api", "api", "api", "1", Author("api", anonymous=True), NOT_ENGLISH[0][1], datetime.now(UTC))
    [(decision, _)] = decider.decide([post], count=False, route=False)
    assert len(reader.read) == 1 and "reader" in decision.scores_by_scorer and decision.language is None


def test_the_stats_show_volume_and_flag_rate_per_language(store: Store) -> None:
    from bot.web.queries import stats

    texts = ["you absolute idiot", "thanks for the recipe", NOT_ENGLISH[0][1], "🙂"]
    posts = [Post("console", "c", "", str(i), Author(f"a{i}"), t, datetime.now(UTC)) for i, t in enumerate(texts)]
    accepted = store.accept(posts)
    decider = Decider([Reader()], Config().build_policy(), languages=LanguageId())  # type: ignore[list-item]
    decided = decider.decide([p for _, p in accepted])
    store.record([(row, p, d, a) for (row, p), (d, a) in zip(accepted, decided, strict=True)])
    rows = {r["language"]: (r["decisions"], r["flag_rate"]) for r in stats(store)["per_language"]}
    assert rows == {"en": (2, 0.5), "de": (1, 0.0), "(none)": (1, 0.0)}


@pytest.mark.parametrize(("language", "cases"), [("", {"0", "1"}), ("de", {"1"}), ("en", {"0"}), ("-", set())])
def test_the_queue_filters_by_language(store: Store, language: str, cases: set[str]) -> None:
    from bot.web.queries import QueueFilter, queue

    texts = ["you absolute idiot", NOT_ENGLISH[0][1], "thanks for the recipe"]
    posts = [Post("console", "c", "", str(i), Author(f"a{i}"), t, datetime.now(UTC)) for i, t in enumerate(texts)]
    accepted = store.accept(posts)
    policy = Config.model_validate({"policy": {"unscored_languages": "flag"}}).build_policy()
    decider = Decider([Reader()], policy, languages=LanguageId())  # type: ignore[list-item]
    decided = decider.decide([p for _, p in accepted])
    store.record([(row, p, d, a) for (row, p), (d, a) in zip(accepted, decided, strict=True)])
    found = queue(store, QueueFilter(language=language))
    by_id = {c.id: c.post.id for c in store.cases()}
    assert {by_id[r.id] for r in found.rows} == cases and found.matching == len(cases)
    assert {r.language for r in found.rows} <= {"en", "de"}
