"""The discovery document Google's client libraries build a Perspective client from, with
`rootUrl` pointing at this server, so `discovery.build("commentanalyzer", "v1alpha1",
discoveryServiceUrl=...)` works unmodified. The schemas follow Perspective's own."""

from __future__ import annotations

from typing import Any


def _obj(name: str, **properties: Any) -> dict[str, Any]:
    return {"id": name, "type": "object", "properties": properties}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": name}


def _map(of: str) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": _ref(of)}


_STRING = {"type": "string"}
_STRINGS = {"type": "array", "items": _STRING}
_BOOL = {"type": "boolean"}
_TEXT_TYPE = {"type": "string", "enum": ["TEXT_TYPE_UNSPECIFIED", "PLAIN_TEXT", "HTML"]}
_SCORE_TYPE = {
    "type": "string",
    "enum": ["SCORE_TYPE_UNSPECIFIED", "PROBABILITY", "STD_DEV_SCORE", "PERCENTILE", "RAW"],
}

SCHEMAS: dict[str, Any] = {
    "TextEntry": _obj("TextEntry", text=_STRING, type=_TEXT_TYPE),
    "ArticleAndParentComment": _obj(
        "ArticleAndParentComment", article=_ref("TextEntry"), parentComment=_ref("TextEntry")
    ),
    "Context": _obj(
        "Context",
        entries={"type": "array", "items": _ref("TextEntry")},
        articleAndParentComment=_ref("ArticleAndParentComment"),
    ),
    "AttributeParameters": _obj(
        "AttributeParameters", scoreType=_SCORE_TYPE, scoreThreshold={"type": "number", "format": "float"}
    ),
    "Score": _obj("Score", value={"type": "number", "format": "float"}, type=_SCORE_TYPE),
    "SpanScore": _obj(
        "SpanScore",
        begin={"type": "integer", "format": "int32"},
        end={"type": "integer", "format": "int32"},
        score=_ref("Score"),
    ),
    "AttributeScores": _obj(
        "AttributeScores", summaryScore=_ref("Score"), spanScores={"type": "array", "items": _ref("SpanScore")}
    ),
    "AnalyzeCommentRequest": _obj(
        "AnalyzeCommentRequest",
        comment=_ref("TextEntry"),
        context=_ref("Context"),
        requestedAttributes=_map("AttributeParameters"),
        spanAnnotations=_BOOL,
        languages=_STRINGS,
        doNotStore=_BOOL,
        clientToken=_STRING,
        sessionId=_STRING,
        communityId=_STRING,
        dropUnsupportedAttributes=_BOOL,
    ),
    "AnalyzeCommentResponse": _obj(
        "AnalyzeCommentResponse",
        attributeScores=_map("AttributeScores"),
        languages=_STRINGS,
        detectedLanguages=_STRINGS,
        clientToken=_STRING,
    ),
    "SuggestCommentScoreRequest": _obj(
        "SuggestCommentScoreRequest",
        comment=_ref("TextEntry"),
        context=_ref("Context"),
        attributeScores=_map("AttributeScores"),
        languages=_STRINGS,
        communityId=_STRING,
        clientToken=_STRING,
        sessionId=_STRING,
    ),
    "SuggestCommentScoreResponse": _obj(
        "SuggestCommentScoreResponse", detectedLanguages=_STRINGS, requestedLanguages=_STRINGS, clientToken=_STRING
    ),
}

_QUERY = {"type": "string", "location": "query"}
PARAMETERS: dict[str, Any] = {
    "key": _QUERY,
    "alt": {**_QUERY, "default": "json", "enum": ["json", "media", "proto"]},
    "fields": _QUERY,
    "prettyPrint": {"type": "boolean", "location": "query", "default": "true"},
    "quotaUser": _QUERY,
    "access_token": _QUERY,
    "oauth_token": _QUERY,
    "callback": _QUERY,
    "upload_protocol": _QUERY,
    "uploadType": _QUERY,
    "$.xgafv": {**_QUERY, "enum": ["1", "2"]},
}


def _method(name: str, request: str, response: str, description: str) -> dict[str, Any]:
    path = f"v1alpha1/comments:{name}"
    return {
        "id": f"commentanalyzer.comments.{name}",
        "path": path,
        "flatPath": path,
        "httpMethod": "POST",
        "parameters": {},
        "parameterOrder": [],
        "request": _ref(request),
        "response": _ref(response),
        "description": description,
    }


def discovery_document(root_url: str) -> dict[str, Any]:
    """The document for a server reachable at `root_url` (ending in a slash)."""
    return {
        "kind": "discovery#restDescription",
        "discoveryVersion": "v1",
        "id": "commentanalyzer:v1alpha1",
        "name": "commentanalyzer",
        "version": "v1alpha1",
        "title": "Perspective Comment Analyzer API (modbot)",
        "description": "modbot's local, versioned scoring in Perspective's wire format.",
        "protocol": "rest",
        "rootUrl": root_url,
        "baseUrl": root_url,
        "basePath": "",
        "servicePath": "",
        "batchPath": "batch",
        "parameters": PARAMETERS,
        "resources": {
            "comments": {
                "methods": {
                    "analyze": _method(
                        "analyze",
                        "AnalyzeCommentRequest",
                        "AnalyzeCommentResponse",
                        "Analyzes the provided text and returns scores for requested attributes.",
                    ),
                    "suggestscore": _method(
                        "suggestscore",
                        "SuggestCommentScoreRequest",
                        "SuggestCommentScoreResponse",
                        "Suggest comment scores as training data.",
                    ),
                }
            }
        },
        "schemas": SCHEMAS,
    }
