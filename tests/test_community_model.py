"""A community's own model (moderation/community.py, model/community.py, `modbot learn`): what it
does to a score, what it may never do, how it is fitted from verdicts, stored, and used by the
Decider in shadow and live."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from bot.storage.store import Store
from model.community import Example, TooFewVerdicts, _capped, fit, load, load_all, model_path, save
from moderation.community import HELD, NAME, SHADOW_NAME, Adjustment, CommunityModel, Stage, logit
from moderation.decider import Decider
from moderation.policy import Policy, PolicyRules
from moderation.types import Author, Outcome, Post
from tests.conftest import Reader

FLAGS = {"hate": 0.5, "harassment": 0.5}


def _model(bias: float, held: frozenset[str] = HELD, applies_from: float = 0.3, width: int = 0) -> CommunityModel:
    """Inputs: the hate and harassment logits (standardised as they are) and `width` vector dims
    that weigh nothing; each category's offset is `bias`, its cut at logit 0."""
    size = 2 + width
    a = Adjustment(np.zeros(size), bias, applies_from, 40, 10, 0.0)
    return CommunityModel(
        "console",
        "c",
        Stage.SHADOW,
        ("hate", "harassment"),
        np.zeros(size),
        np.ones(size),
        {"hate": a, "harassment": a},
        held,
    )


@pytest.mark.parametrize(
    ("category", "base", "bias", "held", "flagged", "why"),
    [
        ("harassment", 0.9, -10.0, HELD, False, "overturned here: cleared"),
        ("harassment", 0.6, 10.0, HELD, True, "confirmed here: kept"),
        ("hate", 0.9, -10.0, HELD, True, "hate is held at its flag threshold"),
        ("hate", 0.9, -10.0, frozenset(), False, "an admin let hate be lowered"),
        ("hate", 0.4, 10.0, HELD, True, "holding never stops a raise"),
        ("hate", 0.4, -10.0, HELD, False, "a post under the threshold is not lifted to it by holding"),
    ],
)
def test_what_a_community_model_does_to_a_score(
    category: str, base: float, bias: float, held: frozenset[str], flagged: bool, why: str
) -> None:
    result = _model(bias, held).adjust({category: base}, None, FLAGS)
    assert (result.scores[category] >= FLAGS[category]) is flagged, why
    assert f"{base:.2f} from the shared models" in result.notes[category]
    if category in held and base >= FLAGS[category] and bias < 0:
        assert result.scores[category] == FLAGS[category] and "held at the flag threshold" in result.notes[category]


def test_the_cut_lands_on_the_policys_flag_threshold_and_nothing_applies_below_the_verdicts() -> None:
    model = _model(bias=0.0, applies_from=0.5)
    at_cut = replace(model, adjustments={"harassment": replace(model.adjustments["harassment"], cut=logit(0.7))})
    assert at_cut.adjust({"harassment": 0.7}, None, {"harassment": 0.35}).scores["harassment"] == pytest.approx(0.35)
    assert model.adjust({"harassment": 0.45}, None, FLAGS).scores == {}, "no verdict covered a score this low"
    wide = _model(bias=-10.0, width=3)
    assert wide.adjust({"harassment": 0.9}, None, FLAGS).scores == {}, "no vector: nothing to weigh"
    assert wide.adjust({"harassment": 0.9}, [0.0, 0.0], FLAGS).scores == {}, "a vector of another width"
    assert wide.adjust({"harassment": 0.9}, [0.0, 0.0, 0.0], FLAGS).scores["harassment"] < 0.5


def _verdicts(n: int, seed: int = 0, moderators: int = 3) -> list[Example]:
    """Harassment flags a community overturns when the post is about a game (vector dim 0 high)
    and confirms otherwise, with one verdict in ten the other way."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        game = bool(i % 2)
        vector = [float(game) + rng.normal(0, 0.3), rng.normal(0, 1), rng.normal(0, 1)]
        confirmed = (not game) != (rng.random() < 0.1)
        out.append(
            Example(
                {"harassment": float(rng.uniform(0.5, 0.95))}, vector, "harassment", confirmed, f"m{i % moderators}"
            )
        )
    return out


def test_fitted_from_verdicts_it_learns_the_communitys_norm_the_same_way_every_time() -> None:
    examples = _verdicts(120)
    model = fit("console", "c", examples, minimum=30)
    assert model.stage is Stage.SHADOW and set(model.adjustments) == {"harassment"}
    assert fit("console", "c", examples, minimum=30).version == model.version, "deterministic per seed"
    game = model.adjust({"harassment": 0.8}, [1.0, 0.0, 0.0], FLAGS).scores["harassment"]
    insult = model.adjust({"harassment": 0.8}, [0.0, 0.0, 0.0], FLAGS).scores["harassment"]
    assert game < 0.5 <= insult
    assert model.trained_on == {"m0": 40, "m1": 40, "m2": 40}


@pytest.mark.parametrize(
    ("examples", "said"),
    [
        ([replace(e, confirmed=True) for e in _verdicts(60)], "10 confirmed and 10 overturned"),
        (
            [replace(e, confirmed=True) for e in _verdicts(60)[:51]] + _verdicts(60)[51:],
            "10 confirmed and 10 overturned",
        ),
        (_verdicts(20), "30 verdicts"),
        ([], "no verdicts"),
    ],
)
def test_too_little_evidence_is_refused(examples: list[Example], said: str) -> None:
    with pytest.raises(TooFewVerdicts, match=said):
        fit("console", "c", examples, minimum=30)


def test_one_moderator_weighs_at_most_the_cap() -> None:
    examples = [Example({}, None, "hate", True, "loud")] * 8 + [Example({}, None, "hate", True, "quiet")] * 2
    weights = _capped(examples, 1 / 3)
    assert weights[:8].sum() == pytest.approx(10 / 3) and weights[8:].sum() == 2
    assert (_capped(examples[:8], 1 / 3) == 1).all(), "a community with one moderator learns from all of them"


def test_stored_and_loaded_and_a_damaged_file_is_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    model = fit("discord", "guild/1 with odd ids", _verdicts(80), minimum=30)
    path = model_path(tmp_path, model.platform, model.community)
    save(model, path)
    assert load(path).version == model.version and load(path).community == "guild/1 with odd ids"
    broken = model_path(tmp_path, "discord", "other")
    broken.write_bytes(b"not a model")
    with caplog.at_level(logging.ERROR):
        found = [m for _, m in load_all(tmp_path)]
    assert [m.community for m in found] == [model.community]
    assert str(broken) in caplog.text and "shared models alone" in caplog.text
    assert list(load_all(tmp_path / "nowhere")) == []


class Vectors:
    """An embedder a test can see: the branch vector says whether a post is about a game."""

    label = "vectors"

    def encode(self, texts: Sequence[str], with_branch: bool = True) -> tuple[None, list[list[float]]]:
        return None, [[float("game" in t), 0.0, 0.0] for t in texts]


def _post(community: str, text: str) -> Post:
    return Post("console", community, "general", text, Author("a"), text, datetime.now(UTC))


@pytest.mark.parametrize("stage", list(Stage))
def test_the_decider_logs_a_shadow_model_and_lets_a_live_one_decide(stage: Stage) -> None:
    rules = PolicyRules(thresholds={"harassment": {Outcome.FLAG: 0.5}})
    decider = Decider([Reader()], Policy(default=rules), Vectors())
    model = replace(fit("console", "gamers", _verdicts(120), minimum=30), stage=stage)
    decider.communities[("console", "gamers")] = model
    posts = [
        _post("gamers", "you idiot, what a game"),
        _post("gamers", "you idiot"),
        _post("others", "what a game, idiot"),
    ]
    (game, _), (insult, _), (elsewhere, _) = decider.decide(posts)
    assert insult.outcome is Outcome.FLAG and elsewhere.outcome is Outcome.FLAG
    assert elsewhere.scorer_versions.get(NAME) is None and SHADOW_NAME not in elsewhere.scores_by_scorer
    assert game.scorer_versions[NAME] == model.version
    if stage is Stage.SHADOW:
        assert game.outcome is Outcome.FLAG, "a shadow model acts never"
        assert game.scores_by_scorer[SHADOW_NAME]["harassment"] < 0.5
        assert json.dumps(game.scores_by_scorer), "stored as JSON"
    else:
        assert game.outcome is Outcome.ALLOW
        assert game.reasons[0].source == NAME and "for this community" in game.reasons[0].message


def test_modbot_learn_end_to_end_on_sqlite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`modbot scan` flags under a strict config, two moderators confirm the insults and overturn
    the cheerful swearing, `modbot learn fit` writes a shadow model (audit-logged), the next scan
    logs its scores beside each decision and changes nothing, `learn status` counts what it would
    have changed, `learn retire` removes it."""
    from bot.cli import main
    from bot.config import load_config
    from bot.runtime.wiring import open_store
    from bot.storage.schema import AuditRow

    rude = [
        f"you are a {w} {n}"
        for w in ("worthless", "pathetic", "brainless")
        for n in ("idiot", "moron", "loser", "clown")
    ]
    cheerful = [
        f"{s} what a {t}" for s in ("fuck yeah", "holy shit", "damn") for t in ("game", "goal", "match", "save")
    ]
    config = tmp_path / "modbot.toml"
    config.write_text(
        f'[data]\ndir = "{tmp_path / "data"}"\n[policy.thresholds]\nprofanity = {{ log = 0.5 }}\n'
        "harassment = { flag = 0.01 }\nhate = { flag = 0.99 }\nthreat = { flag = 0.99 }\n"
    )

    def scan(texts: list[str], name: str) -> None:
        feed = tmp_path / f"{name}.jsonl"
        feed.write_text(
            "".join(json.dumps({"id": f"{name}{i}", "author": f"a{i}", "text": t}) + "\n" for i, t in enumerate(texts))
        )
        assert main(["--config", str(config), "scan", str(feed)]) == 0

    scan(rude + cheerful, "first")
    store = open_store(load_config(config))
    for n, case in enumerate(store.cases()):
        verdict = "--remove" if case.post.text in rude else "--approve"
        assert main(["--config", str(config), "resolve", str(case.id), verdict, "--as", f"mod{n % 2}"]) == 0
    capsys.readouterr()
    assert main(["--config", str(config), "learn", "fit", "console", "--platform", "console", "--minimum", "5"]) == 0
    said = capsys.readouterr().out
    assert "in shadow" in said and "24 verdicts" in said
    ((path, model),) = load_all(tmp_path / "data")
    assert model.stage is Stage.SHADOW and model.trained_on == {"mod0": 12, "mod1": 12}
    scan(["holy shit what a comeback", "you are a spineless idiot"], "second")
    latest = {d.post.text: d for d in store.stored_for_replay(datetime(2000, 1, 1, tzinfo=UTC)).__next__()}
    assert SHADOW_NAME in latest["holy shit what a comeback"].scores_by_scorer
    assert all(
        d.outcome.needs_review
        for t, d in latest.items()
        if t in ("holy shit what a comeback", "you are a spineless idiot")
    )
    capsys.readouterr()
    assert main(["--config", str(config), "learn", "status"]) == 0
    status = capsys.readouterr().out
    assert "console/console: shadow" in status
    assert "flags it would have cleared: 1" in status and "flags it would have kept: 1" in status, status
    assert main(["--config", str(config), "learn", "retire", "console", "--platform", "console", "--as", "admin"]) == 0
    assert not path.exists()
    actions = store.transaction(lambda s: list(s.scalars(select(AuditRow.action))))
    assert "community_model.fit" in actions and "community_model.retired" in actions


@pytest.mark.slow
def test_a_model_that_would_breach_a_bias_floor_is_not_promoted(tmp_path: Path) -> None:
    """Verdicts from a moderator who confirms every flag on a post naming Muslims, however kind,
    and overturns the same flags on posts naming other groups, teach a model that reads Muslims'
    name as hate: promotion refuses it, naming the identity and the AUC it would break. A model
    that changes nothing is promoted. The shipped stack, the functional suite's own identities."""
    from bot.config import Config
    from bot.lab.community import promote
    from bot.runtime.scorers import build_scorers

    config = Config()
    scorers, embedder = build_scorers(config.scorers)
    decider = Decider(scorers, config.build_policy(), embedder)
    frames = (
        "my {} neighbours are lovely",
        "I am proud of my {} friends",
        "{} families run the bakery on our street",
        "we had dinner with some {} colleagues",
        "the {} students won the science fair",
        "a {} couple moved in next door",
    )
    groups = {"Muslim": True, "Christian": False, "Buddhist": False, "Jewish": False, "Hindu": False, "Sikh": False}
    texts = [(f.format(g), confirmed) for f in frames for g, confirmed in groups.items() for _ in range(2)]
    read = decider.read([_post("poisoned", t) for t, _ in texts])
    examples = [Example(s, v, "hate", confirmed, "one") for (_, confirmed), (s, v) in zip(texts, read, strict=True)]
    poisoned = fit("console", "poisoned", examples, minimum=10)
    path = model_path(tmp_path, "console", "poisoned")
    save(poisoned, path)
    checked = promote(path, decider)
    assert any(r.startswith("Muslims ") and "AUC" in r for r in checked.refusals), checked.refusals
    assert load(path).stage is Stage.SHADOW, "a refused model stays in shadow"

    unchanged = Adjustment(np.zeros(poisoned.mean.size), 0.0, 0.0, 10, 5, 0.0)
    harmless = replace(poisoned, adjustments={"hate": unchanged})
    save(harmless, path)
    assert promote(path, decider).refusals == []
    assert load(path).stage is Stage.LIVE


def test_replay_keeps_a_live_models_scores_and_rescores_when_it_changes(store: Store) -> None:
    from bot.lab.replay import Replayed, replay

    rules = PolicyRules(thresholds={"harassment": {Outcome.FLAG: 0.5}})
    decider = Decider([Reader()], Policy(default=rules), Vectors())
    model = replace(fit("console", "gamers", _verdicts(120), minimum=30), stage=Stage.LIVE)
    decider.communities[("console", "gamers")] = model
    accepted = store.accept([_post("gamers", "you idiot, what a game"), _post("gamers", "you idiot")])
    decided = decider.decide([p for _, p in accepted])
    store.record([(row, post, d, acts) for (row, post), (d, acts) in zip(accepted, decided, strict=True)])
    assert [d.outcome for d, _ in decided] == [Outcome.ALLOW, Outcome.FLAG]

    def replayed() -> tuple[dict[Replayed, int], int]:
        tally = replay(store.stored_for_replay(datetime(2000, 1, 1, tzinfo=UTC)), decider)
        return dict(tally.how), sum(n for (before, after), n in tally.moves.items() if before is not after)

    assert replayed() == ({Replayed.STORED: 2}, 0), "the same model: its stored scores stand"
    decider.communities[("console", "gamers")] = replace(model, held=frozenset({"harassment"}))
    assert replayed() == ({Replayed.RESCORED: 2}, 1), "another version rescores: held, the game post flags again"
    del decider.communities[("console", "gamers")]
    assert replayed() == ({Replayed.STORED: 2}, 1), "without the model the shared scores decide"


def test_a_running_service_follows_the_folder(tmp_path: Path) -> None:
    """What `modbot learn` writes reaches a running service without a restart: the folder is read
    again only when a file in it changed."""
    from model.community import CommunityFolder

    folder = CommunityFolder(tmp_path)
    assert folder.changed() == {} and folder.changed() is None
    model = fit("console", "c", _verdicts(80), minimum=30)
    path = model_path(tmp_path, "console", "c")
    save(model, path)
    assert (found := folder.changed()) is not None and found[("console", "c")].stage is Stage.SHADOW
    assert folder.changed() is None
    save(replace(model, stage=Stage.LIVE), path)  # promoted
    assert (found := folder.changed()) is not None and found[("console", "c")].stage is Stage.LIVE
    path.unlink()  # retired
    assert folder.changed() == {}


def test_the_scoring_apis_suggested_scores_teach_its_community(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`comments:suggestscore` from a client of the Perspective-compatible API is that client's
    verdict: `modbot learn fit --platform api` learns from the suggestions whose comment text was
    kept (one API key counts as one moderator), and none from those without it."""
    from bot.cli import main
    from bot.config import load_config
    from bot.runtime.wiring import open_store
    from bot.storage.api_keys import Suggestion

    config = tmp_path / "modbot.toml"
    config.write_text(f'[data]\ndir = "{tmp_path / "data"}"\n')
    store = open_store(load_config(config))
    rude = [
        f"you are a {w} {n}"
        for w in ("worthless", "pathetic", "brainless")
        for n in ("idiot", "moron", "loser", "clown")
    ]
    fine = [f"{s} what a {t}" for s in ("fuck yeah", "holy shit", "damn") for t in ("game", "goal", "match", "save")]
    for text in rude + fine:
        store.suggest_scores(
            "forum-bot", "forum", text, [Suggestion("INSULT", "harassment", float(text in rude))], None
        )
    store.suggest_scores("forum-bot", "forum", None, [Suggestion("INSULT", "harassment", 1.0)], None)  # no text kept
    assert main(["--config", str(config), "learn", "fit", "forum", "--platform", "api", "--minimum", "5"]) == 0
    assert "24 verdicts" in capsys.readouterr().out
    ((_, model),) = load_all(tmp_path / "data")
    assert (model.platform, model.community) == ("api", "forum") and model.trained_on == {"api key forum-bot": 24}
    assert model.adjustments["harassment"].confirmed == 12
