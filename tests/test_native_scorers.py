"""Scorers for other languages (`[scorers.native]`, `modbot train native`): a post surely in a
language with a model of its own is scored by that model, never by the English scorers, and its
reason names the language, the data and the words; a language with no model is still "not scored";
the shipped artifact holds only the languages whose data's licence allows it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from bot.config import Config
from bot.lab import native_training
from bot.lab.evaluation.language_sets import SETS
from bot.runtime.scorers import build_scorers
from model import native
from model.language import LanguageId
from model.native import NativeModels, NativeScorer
from moderation.decider import Decider
from moderation.normalise import normalise
from moderation.scoring import LanguageScorer, ScorerError, ScoringInput
from moderation.types import Author, Decision, Outcome, Post
from tests.conftest import Reader

ONLY_NATIVE = {"profanity": {"enabled": False}, "head": {"enabled": False}, "spam_text": {"enabled": False}}


@pytest.fixture(scope="module")
def shipped() -> NativeScorer:
    return NativeScorer(NativeModels.load())


def _decide(scorer: NativeScorer, texts: list[str], policy: dict | None = None) -> tuple[list[Decision], Reader]:
    english = Reader()
    config = Config.model_validate({"policy": policy or {}})
    decider = Decider([english, scorer], config.build_policy(), languages=LanguageId())  # type: ignore[list-item]
    now = datetime.now(UTC)
    posts = [Post("discord", "g", "c", str(i), Author(f"a{i}"), t, now) for i, t in enumerate(texts)]
    return [d for d, _ in decider.decide(posts, count=False)], english


def test_the_shipped_artifact_holds_only_languages_whose_licence_allows_it(shipped: NativeScorer) -> None:
    shipping = {s.language for s in SETS if s.ships}
    assert shipped.languages == shipping == {"de", "da", "pt", "ko", "zh"}
    assert all(s.commercial for s in SETS if s.ships)
    assert isinstance(shipped, LanguageScorer)
    meta = NativeModels.load().meta["per language"]
    assert {code: row["data"] for code, row in meta.items()}["de"] == "GermEval 2018 (CC BY 4.0)"


@pytest.mark.parametrize(
    ("code", "text", "outcome", "words"),
    [
        ("de", "Du bist so ein dummer Idiot, halt endlich die Fresse", Outcome.FLAG, {"dummer", "Fresse"}),
        ("de", "Meine Nachbarn haben gestern ein großes Fest im Garten gefeiert", Outcome.ALLOW, set()),
        ("pt", "vai tomar no cu seu merda, ninguém aguenta você", Outcome.FLAG, {"cu"}),
        ("pt", "Hoje o jogo foi muito bom, o time jogou com vontade do começo ao fim", Outcome.ALLOW, set()),
        ("da", "Jeg har ikke tid i dag, men vi kan mødes i morgen efter arbejde", Outcome.ALLOW, set()),
    ],
)
def test_a_post_in_a_language_with_a_model_is_scored_by_it(
    shipped: NativeScorer, code: str, text: str, outcome: Outcome, words: set[str]
) -> None:
    [decision], english = _decide(shipped, [text])
    assert decision.language == code and english.read == []  # no English model guessed at it
    assert "native" in decision.scores_by_scorer and decision.outcome is outcome
    if outcome is Outcome.FLAG:
        [reason] = [r for r in decision.reasons if r.source == "native"]
        assert reason.category == "harassment" and f"{code} model (" in reason.message
        assert words <= {text[s.start : s.end].strip(",") for s in reason.spans}
    assert not any(r.message.startswith("not scored") for r in decision.reasons)


def test_english_still_goes_to_the_english_scorers_only(shipped: NativeScorer) -> None:
    [insult, fine], english = _decide(shipped, ["you absolute idiot", "thanks, see you at the meeting"])
    assert english.read == ["you absolute idiot", "thanks, see you at the meeting"]
    assert insult.outcome is Outcome.FLAG and fine.outcome is Outcome.ALLOW
    assert "native" not in insult.scores_by_scorer and "native" not in fine.scores_by_scorer


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("es", "Mañana vamos a la playa con toda la familia si no llueve demasiado"),
        ("fr", "Je ne comprends pas pourquoi personne ne répond à mes messages depuis hier"),
        ("ru", "Сегодня вечером мы пойдём в кино, если ты не против"),
        ("it", "Questa sera andiamo tutti insieme al ristorante vicino alla stazione"),
    ],
)
def test_a_language_with_no_model_is_never_allowed_without_the_not_scored_reason(
    shipped: NativeScorer, code: str, text: str
) -> None:
    [decision], english = _decide(shipped, [text])
    assert decision.language == code and english.read == [] and "native" not in decision.scores_by_scorer
    assert decision.outcome is Outcome.LOG
    assert decision.reasons[0].message.startswith(f"not scored: language {code}")


def test_config_can_keep_only_some_languages_and_names_a_missing_one(tmp_path: Path) -> None:
    config = Config.model_validate({"scorers": {**ONLY_NATIVE, "native": {"languages": ["de"]}}})
    [scorer], _ = build_scorers(config.scorers)
    assert isinstance(scorer, NativeScorer) and scorer.languages == {"de"}
    [danish], _ = _decide(scorer, ["Jeg har ikke tid i dag, men vi kan mødes i morgen efter arbejde"])
    assert danish.reasons[0].message.startswith("not scored: language da")
    with pytest.raises(ScorerError, match="no model for es"):
        NativeModels.load(None, ["es"])
    with pytest.raises(ValueError, match="languages"):
        Config.model_validate({"scorers": {"native": {"languages": ["german"]}}})
    (tmp_path / "bad.npz").write_bytes(b"not an artifact")
    with pytest.raises(ScorerError, match="cannot load the language models"):
        NativeModels.load(tmp_path / "bad.npz")


def test_fit_save_load_round_trip_and_scoring_by_each_inputs_language(tmp_path: Path) -> None:
    rude = ["du bist ein idiot", "so ein idiot", "halt die klappe idiot", "du dummer idiot"]
    kind = ["schönen tag noch", "danke für die hilfe", "bis morgen im büro", "das essen war gut"]
    heads = native.fit("de", rude + kind, {"harassment": [1] * 4 + [0] * 4}, "test templates", 4.0, 1)
    models = NativeModels({"de": heads}, {"name": "test"})
    models.save(tmp_path / "m.npz")
    loaded = NativeModels.load(tmp_path / "m.npz")
    texts = ["was für ein idiot", "danke, schönen tag"]
    assert np.allclose(loaded.by_language["de"].predict(texts), heads.predict(texts))
    assert loaded.version == models.version
    scorer = NativeScorer(loaded)
    high, low = scorer.score([ScoringInput(t, language="de") for t in texts])
    high_text = texts[0]
    assert high.scores["harassment"] > 0.5 > low.scores["harassment"] and high.notes["harassment"].startswith(
        "de model (test templates)"
    )
    assert next(high_text[s:e] for s, e in high.spans["harassment"]) == "idiot"
    with pytest.raises(ScorerError, match="no model for language 'da'"):
        scorer.score([ScoringInput("hej", language="da")])


def test_training_keeps_non_commercial_data_out_unless_asked(tmp_path: Path) -> None:
    assert {s.language for s in native_training.chosen_sets(None, False)} == {"de", "da", "pt", "ko", "zh"}
    assert {"es", "it", "id"} <= {s.language for s in native_training.chosen_sets(None, True)}
    with pytest.raises(ValueError, match="non-commercial licence: es"):
        native_training.chosen_sets(["es"], False)
    with pytest.raises(ValueError, match="non-commercial licence: id"):
        native_training.chosen_sets(["id"], False)
    with pytest.raises(ValueError, match="no labelled data for xx"):
        native_training.chosen_sets(["xx"], False)
    shipped_path = Path(native.__file__).parent / "artifacts" / native.SHIPPED
    with pytest.raises(ValueError, match="never goes into the shipped artifact"):
        native_training.train(Path("unused"), shipped_path, ["es"], noncommercial=True)


DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets"


@pytest.mark.slow
@pytest.mark.skipif(not (DATA / "germeval2018").is_dir(), reason=f"no datasets at {DATA}")
def test_the_shipped_recipe_reproduces_the_shipped_artifact(tmp_path: Path) -> None:
    """The recipe from the shared data gives the shipped models back, compared by what they do:
    the same figures on each test split and the same decisions on its posts. Weights are not
    compared: the solver's last float bits differ between processors (AVX-512 or AVX2)."""
    trained, summary = native_training.train(DATA, tmp_path / "native.npz")
    shipped = NativeModels.load()
    assert set(trained.by_language) == set(shipped.by_language)
    figures = shipped.meta["per language"]
    for code, heads in trained.by_language.items():
        other = shipped.by_language[code]
        assert heads.categories == other.categories
        assert np.allclose(heads.features.idf, other.features.idf, atol=1e-5)
        row = trained.meta["per language"][code]
        assert row["macro-F1"] == pytest.approx(figures[code]["macro-F1"], abs=0.003), code
        [chosen] = [s for s in SETS if s.language == code]
        _, test = chosen.load(DATA / chosen.folder)
        texts = [normalise(t).text for t in test.texts]
        ours, theirs = heads.predict(texts), other.predict(texts)
        assert np.abs(ours - theirs).max() < 0.02, code
        same = (ours >= native_training.THRESHOLD) == (theirs >= native_training.THRESHOLD)
        assert same.mean() >= 0.995, code
    assert "macro-F1" in summary["de"]


def test_a_post_that_only_looks_like_a_language_with_a_model_is_read_by_both(shipped: NativeScorer) -> None:
    """Unsure Danish: the English scorers read it (the language model may be wrong) and so does
    the Danish model, and the decision says the language was unsure."""
    [decision], english = _decide(shipped, ["Hold kæft din idiot"])
    assert decision.language == "da" and english.read == ["Hold kæft din idiot"]
    assert {"reader", "native"} <= set(decision.scores_by_scorer)
    assert decision.outcome is Outcome.FLAG
    assert any(r.message.startswith("language unsure (looks like da)") for r in decision.reasons)
