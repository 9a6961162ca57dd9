"""The Perspective-compatible API: the wire format (requests read, refusals as Perspective words
them), attributes and their pinned versions, quotas, keys stored hashed, and a live server on
127.0.0.1 over the shipped models, called over real HTTP. Clients no one here wrote are in
tests/test_perspective_clients.py."""

from __future__ import annotations

import json
import sqlite3
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from bot.perspective import wire
from bot.perspective.attributes import SHIPPED_VERSIONS, served
from bot.perspective.scoring import sentences
from bot.perspective.server import Quotas
from bot.storage.store import Store
from tests.perspective_server import LiveApi

OK = {"comment": {"text": "hello there"}, "requestedAttributes": {"TOXICITY": {}}}

REFUSED = [
    ({**OK, "comment": {"text": "   "}}, "Comment must be non-empty.", "COMMENT_EMPTY"),
    (
        {**OK, "comment": {"text": "x" * 20_481}},
        "Comment text was too many bytes. Value (20481) exceeded limit (20480).",
        "COMMENT_TOO_LONG",
    ),
    ({**OK, "comment": {"text": "é" * 10_241}}, "Value (20482) exceeded limit (20480)", "COMMENT_TOO_LONG"),
    ({"comment": {"text": "hi"}}, "Missing requested_attributes", "NO_REQUESTED_ATTRIBUTES"),
    ({**OK, "requestedAttributes": {"toxicity": {}}}, "Unknown requested attribute: toxicity", "INVALID_REQUEST"),
    (
        {**OK, "requestedAttributes": {"TOXICITY": {"scoreType": "RAW"}}},
        "Requested score type RAW is not supported by attribute TOXICITY",
        "INVALID_REQUEST",
    ),
    ({**OK, "comment": {"text": "<b>hi</b>", "type": "HTML"}}, "only 'PLAIN_TEXT' comments", "INVALID_REQUEST"),
    ({**OK, "comment": "hello"}, "Invalid value at 'comment'", "INVALID_REQUEST"),
    ({**OK, "languages": "en"}, "Invalid value at 'languages'", "INVALID_REQUEST"),
    ({**OK, "doNotStore": "yes"}, "Invalid value at 'do_not_store'", "INVALID_REQUEST"),
    ({**OK, "clientToken": "t" * 201}, "at most 200 characters", "INVALID_REQUEST"),
    ({**OK, "requestedAttributes": {"TOXICITY": {"scoreThreshold": 1.5}}}, "expected 0 to 1", "INVALID_REQUEST"),
    ({**OK, "requestedAttributes": {"TOXICITY": {"scoreThreshold": float("nan")}}}, "0 to 1", "INVALID_REQUEST"),
    (
        {**OK, "context": {"entries": [{"text": "a"}], "articleAndParentComment": {"article": {"text": "b"}}}},
        "Context can have either entries or article_and_parent_comment",
        "INVALID_REQUEST",
    ),
]


@pytest.mark.parametrize(("body", "message", "kind"), REFUSED)
def test_malformed_requests_get_perspectives_errors(body: dict[str, Any], message: str, kind: str) -> None:
    with pytest.raises(wire.ApiError) as caught:
        wire.analyze_request(body)
    error = caught.value.body()["error"]
    assert error["code"] == 400 and error["status"] == "INVALID_ARGUMENT"
    assert message in error["message"]
    assert error["details"][0]["errorType"] == kind


def test_pinned_versions_thresholds_and_the_float_wrapper_are_read() -> None:
    request = wire.analyze_request(
        {
            **OK,
            "requestedAttributes": {
                "TOXICITY@2": {"scoreThreshold": 0.5},
                "INSULT": {"scoreThreshold": {"value": 0.2}},
            },
            "languages": ["en"],
            "clientToken": "t-1",
        }
    )
    assert [(a.key, a.name, a.version, a.threshold) for a in request.attributes] == [
        ("TOXICITY@2", "TOXICITY", 2, 0.5),
        ("INSULT", "INSULT", None, 0.2),
    ]
    assert request.languages == ("en",) and request.client_token == "t-1" and not request.do_not_store


def test_scores_under_a_threshold_are_left_out() -> None:
    assert wire.attribute_scores(0.3, [(0, 5, 0.3)], 0.5) is None
    assert wire.attribute_scores(0.7, [(0, 5, 0.2), (6, 9, 0.7)], 0.5) == {
        "spanScores": [{"begin": 6, "end": 9, "score": {"value": 0.7, "type": "PROBABILITY"}}],
        "summaryScore": {"value": 0.7, "type": "PROBABILITY"},
    }


def test_sentences_and_utf16_offsets() -> None:
    text = "You are great! 🙂 But this? Terrible.\nBye"
    parts = sentences(text)
    assert [text[b:e] for b, e in parts] == ["You are great!", "🙂 But this?", "Terrible.", "Bye"]
    assert wire.utf16_length("🙂 x") == 4  # an emoji is two UTF-16 code units, as Perspective counts


def test_quota_is_a_token_bucket_per_key() -> None:
    quotas = Quotas()
    assert quotas.take("a", 1.0, 0.0) and not quotas.take("a", 1.0, 0.5) and quotas.take("a", 1.0, 1.0)
    assert quotas.take("b", 1.0, 0.5)  # another key has its own bucket
    assert sum(quotas.take("c", 5.0, 10.0) for _ in range(10)) == 5


def test_attributes_are_served_only_from_what_the_stack_scores() -> None:
    produced = {c: ["abuse-model-bd22a46579"] for c in ("hate", "harassment", "threat", "profanity")}
    produced["profanity"].append("alt-profanity-check-1.0")
    got = served(produced)
    assert sorted(got) == ["IDENTITY_ATTACK", "INSULT", "PROFANITY", "THREAT", "TOXICITY"]
    assert got["TOXICITY"].number == 1  # the word list does not number an attribute
    assert served({"profanity": ["alt-profanity-check-1.0"]}).keys() == {"PROFANITY"}
    local = served({c: ["abuse-model-0000000000"] for c in ("hate", "harassment", "threat")})
    assert local["TOXICITY"].number is None  # a locally trained model serves unpinned requests only


def test_every_shipped_model_has_a_version_number() -> None:
    from model.heads import Head
    from model.spamtext import SpamTextModel

    assert Head.load().version in SHIPPED_VERSIONS
    assert SpamTextModel.load().version in SHIPPED_VERSIONS


def test_keys_are_stored_hashed_and_revoked_keys_stop(store: Store) -> None:
    key = store.add_api_key("forum", qps=5, community="movies")
    found = store.api_key(key)
    assert found is not None and (found.name, found.qps, found.community) == ("forum", 5, "movies")
    assert store.api_key(key + "x") is None
    with pytest.raises(ValueError, match="exists already"):
        store.add_api_key("forum")
    store.revoke_api_key("forum")
    assert store.api_key(key) is None
    with pytest.raises(LookupError):
        store.revoke_api_key("forum")


def _post(api: LiveApi, path: str, body: object, key: str | None = None, header: bool = False) -> tuple[int, Any]:
    url = f"{api.url}{path}" + (f"?key={key}" if key and not header else "")
    headers = {"content-type": "application/json"} | ({"x-goog-api-key": key} if key and header else {})
    request = urllib.request.Request(url, json.dumps(body).encode(), headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with LiveApi(tmp_path_factory.mktemp("api")) as live:
        yield live


def test_analyze_scores_abuse_above_kindness_with_sentence_spans(api: LiveApi) -> None:
    attributes = {"TOXICITY": {}, "INSULT": {}, "IDENTITY_ATTACK@3": {}}
    status, kind = _post(api, "/v1alpha1/comments:analyze", {**OK, "requestedAttributes": attributes}, api.key)
    assert status == 200, kind
    text = "I love my neighbours. You are a worthless idiot!"
    body = {"comment": {"text": text}, "requestedAttributes": attributes, "spanAnnotations": True, "clientToken": "c7"}
    status, rude = _post(api, "/v1alpha1/comments:analyze", body, api.key, header=True)
    assert status == 200, rude
    assert rude["languages"] == ["en"] and rude["detectedLanguages"] == ["en"] and rude["clientToken"] == "c7"
    assert set(rude["attributeScores"]) == set(attributes)  # keys mirror the request, @3 included
    insult = rude["attributeScores"]["INSULT"]
    assert insult["summaryScore"]["value"] > 0.5 > kind["attributeScores"]["INSULT"]["summaryScore"]["value"]
    first, second = insult["spanScores"]
    assert (first["begin"], first["end"], second["end"]) == (0, 21, len(text))
    assert second["score"]["value"] > first["score"]["value"]
    whole = kind["attributeScores"]["TOXICITY"]["spanScores"]
    assert [(s["begin"], s["end"]) for s in whole] == [(0, len("hello there"))]


REFUSED_LIVE = [
    ({**OK, "requestedAttributes": {"SEVERE_TOXICITY": {}}}, 400, "is not served by this modbot"),
    ({**OK, "requestedAttributes": {"TOXICITY@1": {}}}, 400, "this modbot serves TOXICITY@3"),
    ({**OK, "requestedAttributes": {"NOT_A_THING": {}}}, 400, "Unknown requested attribute: NOT_A_THING"),
    ({**OK, "languages": ["de"]}, 400, "Attribute TOXICITY does not support request languages: de"),
    (
        {**OK, "comment": {"text": "Das ist eine sehr schöne Stadt und ich wohne gern hier."}},
        400,
        "does not support request languages: de",
    ),
]


@pytest.mark.parametrize(("body", "code", "message"), REFUSED_LIVE)
def test_what_cannot_be_scored_is_refused_never_made_up(api: LiveApi, body: Any, code: int, message: str) -> None:
    status, answer = _post(api, "/v1alpha1/comments:analyze", body, api.key)
    assert status == code and message in answer["error"]["message"], answer


def test_unsupported_attributes_can_be_dropped(api: LiveApi) -> None:
    body = {**OK, "requestedAttributes": {"SEVERE_TOXICITY": {}, "TOXICITY": {}}, "dropUnsupportedAttributes": True}
    status, answer = _post(api, "/v1alpha1/comments:analyze", body, api.key)
    assert status == 200 and set(answer["attributeScores"]) == {"TOXICITY"}


def test_keys_and_quotas(api: LiveApi) -> None:
    status, answer = _post(api, "/v1alpha1/comments:analyze", OK)
    assert status == 403 and answer["error"]["status"] == "PERMISSION_DENIED"
    status, answer = _post(api, "/v1alpha1/comments:analyze", OK, "mb_wrong")
    assert status == 400 and answer["error"]["details"][0]["reason"] == "API_KEY_INVALID"
    codes = [_post(api, "/v1alpha1/comments:analyze", OK, api.slow_key)[0] for _ in range(3)]
    assert codes[0] == 200 and 429 in codes
    status, answer = _post(api, "/v1alpha1/comments:analyze", OK, api.slow_key)
    assert status == 429 and answer["error"]["status"] == "RESOURCE_EXHAUSTED"


def test_nothing_about_a_comment_is_stored_by_default_and_suggestions_are(api: LiveApi) -> None:
    marker = "a very particular sentence about zebras"
    _post(api, "/v1alpha1/comments:analyze", {**OK, "comment": {"text": marker}}, api.key)
    body = {
        "comment": {"text": marker},
        "attributeScores": {"TOXICITY": {"summaryScore": {"value": 0.0}}},
        "communityId": "zoo",
        "clientToken": "s1",
    }
    status, answer = _post(api, "/v1alpha1/comments:suggestscore", body, api.key)
    assert status == 200 and answer == {"detectedLanguages": ["en"], "clientToken": "s1"}
    assert api.store.suggestions("zoo") == [("TOXICITY", "toxicity", 0.0, None)]  # the score, not the words
    with sqlite3.connect(api.db_file) as db:
        assert db.execute("SELECT count(*) FROM posts").fetchone() == (0,)


def test_the_log_names_no_comment_text(api: LiveApi, caplog: pytest.LogCaptureFixture) -> None:
    secret = "my secret words about the harbour"
    with caplog.at_level("DEBUG"):
        _post(api, "/v1alpha1/comments:analyze", {**OK, "comment": {"text": secret}}, api.key)
    assert caplog.records and not any("harbour" in r.getMessage() for r in caplog.records)


def test_stored_comments_when_the_operator_turns_it_on(tmp_path: Path) -> None:
    with LiveApi(tmp_path, store_comments=True) as live:
        _post(live, "/v1alpha1/comments:analyze", {**OK, "communityId": "forum"}, live.key)
        _post(live, "/v1alpha1/comments:analyze", {**OK, "doNotStore": True}, live.key)
        bound = live.store.add_api_key("movies-site", qps=100, community="movies")
        _post(live, "/v1alpha1/comments:analyze", {**OK, "communityId": "elsewhere"}, bound)
        suggestion = {**OK, "attributeScores": {"INSULT": {"summaryScore": {"value": 1}}}, "communityId": "forum"}
        _post(live, "/v1alpha1/comments:suggestscore", suggestion, live.key)
        with sqlite3.connect(live.db_file) as db:
            assert db.execute("SELECT platform, community, text FROM posts ORDER BY id").fetchall() == [
                ("api", "forum", "hello there"),
                ("api", "movies", "hello there"),  # a key made for a community writes only there
            ]
        assert live.store.suggestions("forum") == [("INSULT", "harassment", 1.0, "hello there")]


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"[" * 100_000, b'{"comment": {"text": "hi"}, "n": ' + b"9" * 5000 + b"}", b"\xff\xfe"],
)
def test_unreadable_bodies_are_400s(api: LiveApi, raw: bytes) -> None:
    request = urllib.request.Request(
        f"{api.url}/v1alpha1/comments:analyze?key={api.key}", raw, {"content-type": "application/json"}
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=30)
    assert caught.value.code == 400 and "Invalid JSON payload" in json.load(caught.value)["error"]["message"]


def test_a_comment_of_many_sentences_gets_at_most_a_hundred_spans(api: LiveApi) -> None:
    text = "Ok. " * 1000
    body = {**OK, "comment": {"text": text}, "spanAnnotations": True, "languages": ["en"]}
    status, answer = _post(api, "/v1alpha1/comments:analyze", body, api.key)
    spans = answer["attributeScores"]["TOXICITY"]["spanScores"]
    assert status == 200 and len(spans) == 100 and spans[-1]["end"] == len(text.rstrip())


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("hello", "en"),
        ("ok", "en"),
        ("you suck", "en"),
        ("what kind of idiot name is foo?", "en"),
        ("I love being a trans woman", "en"),
        ("Du bist so dumm", "de"),
        ("Das ist eine sehr schöne Stadt.", "de"),
        ("eres un idiota", "es"),
        ("Ceci est une phrase entièrement écrite en français.", "fr"),
        ("Eu te amo", "pt"),
    ],
)
def test_language_of_short_comments(text: str, language: str) -> None:
    from model.language import detect

    assert detect(text) == [language]
    assert detect("12345 !!!") == []
