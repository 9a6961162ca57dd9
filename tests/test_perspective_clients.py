"""Perspective clients no one here wrote, installed from PyPI, against a live `modbot api` on
127.0.0.1: Google's own google-api-python-client, built from modbot's discovery document exactly
as Perspective's documentation builds it from Google's (only `discoveryServiceUrl` changes), and
PyPI's `perspective` package, which has no base-URL setting: its client keeps the URL in one
attribute (`PerspectiveAPI(key).api_client.url`), which the test points at modbot."""

from __future__ import annotations

import json
import urllib.error
from collections.abc import Iterator
from typing import Any

import pytest
from googleapiclient import discovery
from googleapiclient.errors import HttpError
from perspective import PerspectiveAPI

from tests.perspective_server import LiveApi


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    with LiveApi(tmp_path_factory.mktemp("clients")) as live:
        yield live


def _google(api: LiveApi, key: str) -> Any:
    return discovery.build(
        "commentanalyzer",
        "v1alpha1",
        developerKey=key,
        discoveryServiceUrl=f"{api.url}/$discovery/rest?version=v1alpha1",
        static_discovery=False,
        cache_discovery=False,
    )


def test_google_api_python_client_analyzes_with_spans_and_languages(api: LiveApi) -> None:
    client = _google(api, api.key)
    text = "Thanks for the recipe. You are a pathetic moron."
    answer = (
        client.comments()
        .analyze(
            body={
                "comment": {"text": text},
                "requestedAttributes": {"TOXICITY": {}, "INSULT": {}},
                "spanAnnotations": True,
                "languages": ["en"],
                "doNotStore": True,
            }
        )
        .execute()
    )
    assert answer["languages"] == ["en"]
    spans = answer["attributeScores"]["INSULT"]["spanScores"]
    assert [s["begin"] for s in spans] == [0, text.index("You")]
    assert spans[1]["score"]["value"] > 0.5 > spans[0]["score"]["value"]
    suggested = (
        client.comments()
        .suggestscore(
            body={
                "comment": {"text": text},
                "attributeScores": {"INSULT": {"summaryScore": {"value": 1.0}}},
                "communityId": "recipes",
                "clientToken": "r-1",
            }
        )
        .execute()
    )
    assert suggested["clientToken"] == "r-1"
    assert api.store.suggestions("recipes") == [("INSULT", "harassment", 1.0, None)]


@pytest.mark.parametrize(
    ("key", "body", "status", "words"),
    [
        ("mb_not_a_key", {}, 400, "API key not valid"),
        ("", {"languages": ["fr"]}, 400, "does not support request languages: fr"),
        ("", {"requestedAttributes": {"FLIRTATION": {}}}, 400, "FLIRTATION is not served"),
    ],
)
def test_google_api_python_client_sees_perspectives_errors(
    api: LiveApi, key: str, body: dict[str, Any], status: int, words: str
) -> None:
    client = _google(api, key or api.key)
    request = {"comment": {"text": "hello"}, "requestedAttributes": {"TOXICITY": {}}} | body
    with pytest.raises(HttpError) as caught:
        client.comments().analyze(body=request).execute()
    assert caught.value.resp.status == status and words in str(caught.value)


def test_google_api_python_client_over_quota(api: LiveApi) -> None:
    client = _google(api, api.slow_key)
    request = {"comment": {"text": "hello"}, "requestedAttributes": {"TOXICITY": {}}}
    with pytest.raises(HttpError) as caught:
        for _ in range(3):
            client.comments().analyze(body=request).execute()
    assert caught.value.resp.status == 429 and "Quota exceeded" in str(caught.value)


def _pypi_client(api: LiveApi, key: str) -> PerspectiveAPI:
    client = PerspectiveAPI(key)
    client.api_client.url = f"{api.url}/v1alpha1/{{endpoint}}"
    return client


def test_pypi_perspective_client(api: LiveApi) -> None:
    client = _pypi_client(api, api.key)
    scores = client.score("you absolute idiot, nobody wants you here", tests=["TOXICITY", "INSULT"])
    assert scores["INSULT"] > 0.5 and scores["TOXICITY"] >= scores["INSULT"]
    answer = client.analyze_comment(
        "What a lovely day. I hope you all enjoy it!", span_annotations=True, languages=["en"], client_token="p-2"
    )
    assert answer["clientToken"] == "p-2" and len(answer["attributeScores"]["TOXICITY"]["spanScores"]) == 2
    client.suggest_score("What a lovely day.", {"TOXICITY": {"summaryScore": {"value": 0.0}}}, community_id="days")
    assert api.store.suggestions("days") == [("TOXICITY", "toxicity", 0.0, None)]


@pytest.mark.parametrize(
    ("key", "text", "status", "words"),
    [
        ("mb_not_a_key", "hello", 400, "API key not valid"),
        ("", "Ceci est une phrase entièrement écrite en français, sans aucun doute.", 400, "languages: fr"),
    ],
)
def test_pypi_perspective_client_errors(api: LiveApi, key: str, text: str, status: int, words: str) -> None:
    with pytest.raises(urllib.error.HTTPError) as caught:
        _pypi_client(api, key or api.key).analyze_comment(text)
    assert caught.value.code == status and words in json.load(caught.value)["error"]["message"]


def test_pypi_perspective_client_over_quota(api: LiveApi) -> None:
    client = _pypi_client(api, api.slow_key)
    with pytest.raises(urllib.error.HTTPError) as caught:
        for _ in range(3):
            client.analyze_comment("hello")
    assert caught.value.code == 429
