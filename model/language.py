"""Which language a text is in, offline: py3langid (langid.py's model, trained by Lui and Baldwin
on public multilingual text, BSD licence; its 4.6 MB model ships inside the PyPI package).

Every scorer modbot ships reads English only, so the scoring API must know when a comment is not
English rather than score it as if it were. The model is restricted to widely written languages
(among its 97, chat English like "you suck" otherwise reads as Walloon). On short texts it is
unsure: the top language is taken when it has at least half the probability; English when it is
a close second, or when the text is ASCII and every word of three letters or more is in the
English dictionary the normaliser uses ("hello", "ok": one word says too little for a character
model).
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Sequence
from importlib import resources
from typing import Any

from moderation.types import Language

SURE = 0.5
ROUTE_SURE = 0.9
"""How sure the model must be before a post is taken out of the English scorers' hands. Measured
(docs/evaluation.md): at 0.9 none of OLID's English test tweets and none of the functional suite's
cases is routed away, while 37-96 % of Danish, Portuguese, Spanish, German and Italian posts are;
the rest are read by the English scorers (and the language's own, if it has one) with a note saying
the language was unsure."""
LANGUAGES = [
    "en",
    "de",
    "fr",
    "es",
    "it",
    "pt",
    "nl",
    "sv",
    "da",
    "no",
    "fi",
    "is",
    "pl",
    "cs",
    "sk",
    "sl",
    "hr",
    "sr",
    "bs",
    "bg",
    "ru",
    "uk",
    "be",
    "et",
    "lv",
    "lt",
    "hu",
    "ro",
    "el",
    "tr",
    "ar",
    "he",
    "fa",
    "ur",
    "hi",
    "bn",
    "ta",
    "te",
    "mr",
    "gu",
    "pa",
    "zh",
    "ja",
    "ko",
    "vi",
    "th",
    "id",
    "ms",
    "tl",
    "sw",
    "ca",
    "eu",
    "ga",
    "cy",
    "sq",
    "mk",
    "af",
]
_WORD = re.compile(r"[^\W\d_]+")
_NOT_LANGUAGE = re.compile(r"@[\w.-]+|https?://\S+|www\.\S+|\[?\bURL\b\]?|^RT\b|#")
"""mentions, links, the datasets' @USER and URL placeholders, a retweet's RT and the hash of a
hashtag: handles and links are in no language, and a character model reads them as one"""

_lock = threading.Lock()
_identifier: Any = None


def _model() -> Any:
    global _identifier
    with _lock:
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
            _identifier.set_languages(LANGUAGES)
        return _identifier


@functools.cache
def _english_words() -> frozenset[str]:
    text = resources.files("moderation").joinpath("data/known_words.txt").read_text(encoding="utf-8")
    return frozenset(w for w in text.split() if not w.startswith("#"))


def detect(text: str) -> list[str]:
    """ISO 639 codes, most likely first: one language, or none for a text with no letters."""
    text = _NOT_LANGUAGE.sub(" ", text)
    if not any(c.isalpha() for c in text):
        return []
    ranked = _model().rank(text)[:2]
    top, p = ranked[0]
    if p >= SURE or top == "en":
        return [str(top)]
    words = [w for w in _WORD.findall(text.lower()) if len(w) >= 3]
    if text.isascii() and all(w in _english_words() for w in words):
        return ["en"]
    second, q = ranked[1]
    return ["en"] if second == "en" and q >= p / 2 else [str(top)]


class LanguageId:
    """The Decider's language model (moderation.decider.LanguageModel), with the platform's tag
    (Bluesky's `langs`) as a prior: a tag that names the detected language makes it sure; on an
    unsure text, a tag of English keeps it English."""

    name = "language"

    def __init__(self) -> None:
        from importlib.metadata import version

        self.version = f"py3langid-{version('py3langid')}"

    def identify(self, texts: Sequence[str], hints: Sequence[Sequence[str]]) -> list[Language]:
        out = []
        for text, hint in zip(texts, hints, strict=True):
            found = detect(text)
            if not found:
                out.append(Language(None, False))
                continue
            tags = {h.split("-")[0].lower() for h in hint}
            p = float(_model().classify(_NOT_LANGUAGE.sub(" ", text))[1]) if found[0] != "en" else 1.0
            if found[0] != "en" and "en" in tags and p < ROUTE_SURE:
                out.append(Language("en", False))
            else:
                out.append(Language(found[0], p >= ROUTE_SURE or found[0] in tags))
        return out
