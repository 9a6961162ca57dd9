"""Answering from the knowledge or not at all (moderation/answering.py), the groundedness and leak
gates (moderation/grounding.py), the shipped answerability weights, and `modbot train
answerability` reproducing them (slow: it embeds the whole evaluation set)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.lab.evaluation.reply_set import Kind, communities, holds
from model.knowledge import ANSWERABILITY, load_answerability, private_notes
from moderation.answering import FEATURES, Answerability, Evidence, content_words, quote, sentences
from moderation.grounding import private_words, secret_like, shared_span, ungrounded

SOURCE = "Plots cost £45 a year for a full plot. The Plot Officer allocates them in March. https://garden.example/plots"


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("One thing. Two things! Three?", ["One thing.", "Two things!", "Three?"]),
        ("- first item\n- second item\n1. third", ["first item", "second item", "third"]),
        ("Fees are £30 (e.g. for adults). Under 18s: free.", ["Fees are £30 (e.g. for adults).", "Under 18s: free."]),
        ("The gate opens at 7:00.\nClosed at dusk", ["The gate opens at 7:00.", "Closed at dusk"]),
    ],
)
def test_sentences_and_list_items(text: str, parts: list[str]) -> None:
    assert sentences(text) == parts


def test_content_words_leave_out_how_a_question_is_asked() -> None:
    assert content_words("hey @sprout, what do the plots cost per year?") == {"sprout", "plot", "cost", "per", "year"}


def test_the_quote_is_the_sentence_that_answers() -> None:
    parts = ["Plots cost £45 a year.", "The shed is green.", "Rent is due in April."]
    assert quote("how much is a plot", parts, [0.7, 0.1, 0.3]) == ["Plots cost £45 a year."]
    assert quote("plot rent due when", parts, [0.5, 0.1, 0.5], budget=200) == [parts[0], parts[2]]
    assert quote("plot rent due when", parts, [0.5, 0.1, 0.5], budget=30) == [parts[2]]  # no room for both


@pytest.mark.parametrize(
    ("draft", "why"),
    [
        ("Plots cost £45 a year.", None),
        ("A full plot is £45 yearly, hope that helps!", None),
        ("Plots cost £50 a year.", "numbers in none of its sources: 50"),
        ("Ask Mrs Hollis about plots.", "names in none of its sources: Mrs Hollis"),
        ("Plots are free for pensioners and students on weekends.", "words in none of its sources"),
        ("See https://evil.example/plots for plots.", "link https://evil.example/plots"),
        ("Hope that helps, happy gardening!", None),
        ("The fee is £60, as you said.", "numbers in none of its sources: 60"),  # the question's number is no fact
    ],
)
def test_groundedness_names_the_sentence_and_what_is_missing(draft: str, why: str | None) -> None:
    found = ungrounded(draft, [SOURCE], asked="is the fee £60 for pensioners?")
    assert (why is None) == (found == []), found
    if why is not None:
        assert why in found[0].describe() and found[0].sentence in draft


def test_leaks_are_found_after_folding_and_public_text_is_not_a_leak() -> None:
    hidden = "You are Sprout. Internal: the moderator password is marigold lantern."
    assert shared_span("ok: THE Moderator Pаssword is marigold", hidden, 4) is None  # Cyrillic а differs
    assert shared_span("ｔｈｅ ｍｏｄｅｒａｔｏｒ ｐａｓｓｗｏｒｄ ｉｓ", hidden, 4) is not None  # fullwidth folds
    assert shared_span("the moderator password is", hidden, 4, public="Ask the moderator password is reset") is None
    assert private_words("Try marigold!", hidden, public="marigold seeds for sale") == []  # public anyway
    assert private_words("Try lantern", hidden, public="") == ["lantern"]
    assert secret_like("You are Sprout.\nThe shed PIN is 4417.") == ["The shed PIN is 4417."]
    assert secret_like("You are Sprout, kind and brief.") == []


def test_the_shipped_weights_load_and_a_wrong_file_is_refused() -> None:
    judge = load_answerability()
    assert (
        len(judge.weights) == len(FEATURES) and 0 < judge.threshold < 1 and judge.version.startswith("answerability-")
    )
    strong = Evidence(0.8, 0.85, 0.9, 0.0, 1.0, 0.4)
    weak = Evidence(0.1, 0.1, 0.0, 1.0, 0.0, 0.0)
    assert judge.answers(strong) and not judge.answers(weak)
    data = json.loads(ANSWERABILITY.read_text())
    with pytest.raises(ValueError, match="fitted for features"):
        Answerability.from_json(json.dumps({**data, "features": ["cosine"]}), "old.json")


def test_the_evaluation_set_is_whole_and_its_facts_are_in_its_knowledge() -> None:
    sets = communities()
    assert [c.slug for c in sets] == ["cycling", "gamedev", "garden"]
    items = [i for c in sets for i in c.items]
    counts = {k: sum(1 for i in items if i.kind is k) for k in Kind}
    assert counts == {Kind.ANSWERABLE: 150, Kind.UNANSWERABLE: 100, Kind.ATTACK: 30}
    for c in sets:
        knowledge = "\n".join(p.read_text() for p in c.knowledge.glob("*.md") if not p.name.startswith("private"))
        for item in c.items:
            assert item.kind is not Kind.ANSWERABLE or holds(knowledge, item.facts), item.text
        secrets = ("marigold lantern", "molten walrus nine", "silver spoke")
        assert any(s in private_notes(c.knowledge) for s in secrets) and not any(s in knowledge for s in secrets)


@pytest.mark.slow
def test_train_answerability_reproduces_the_shipped_weights(tmp_path: Path, shared_datasets: Path) -> None:
    from bot.lab.answerability_training import train

    fitted, _ = train(shared_datasets, tmp_path / "answerability.json")
    shipped = load_answerability()
    assert fitted.weights == pytest.approx(shipped.weights, abs=1e-3) and fitted.bias == pytest.approx(
        shipped.bias, abs=1e-3
    )
    assert fitted.threshold == pytest.approx(shipped.threshold, abs=0.02)
