"""Which language a text is in, offline: py3langid (langid.py's model, trained by Lui and Baldwin
on public multilingual text, BSD licence; its 4.6 MB model ships inside the PyPI package).

Every scorer modbot ships reads English only, so the scoring API must know when a comment is not
English rather than score it as if it were. The model is restricted to widely written languages
(among its 97, chat English like "you suck" otherwise reads as Walloon). On short texts it is
unsure: the top language is taken when it has at least half the probability; English when it is
a close second, or when the text is ASCII and every word of three letters or more is in the
English dictionary the normaliser uses ("hello", "ok": one word says too little for a character
model). Where the model's first choice is not English, its closest candidates are re-weighed by
how common the post's words are in each (model/language_words.py), which settles the languages
that share their spelling.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Sequence
from importlib import resources
from typing import Any

from model.language_words import CANDIDATES, weighed
from moderation.types import Language

SURE = 0.5
ROUTE_SURE = 0.9
"""How sure the model must be before a post is taken out of the English scorers' hands. Measured
(docs/evaluation.md): at 0.9 none of OLID's English test tweets and none of the functional suite's
cases is routed away, while 68-100 % of the other sets' posts are (72 % of Danish, 98 % of German);
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
_NOT_LANGUAGE = re.compile(r"@[\w.-]+|https?://\S+|www\.\S+|\[?\b(?:URL|USER)\b\]?|^RT\b|#")
"""mentions, links, the datasets' @USER, USER and URL placeholders, a retweet's RT and the hash of
a hashtag: handles and links are in no language, and a character model reads them as one"""
SHOUTED = 0.6
"""the share of capital letters past which a text is read in lower case: the model learned from
ordinary prose, where "CÁLLATE ZORRA" has no trigrams it knows (it read as Hungarian)"""


def _cleaned(text: str) -> str:
    text = _NOT_LANGUAGE.sub(" ", text)
    letters = [c for c in text if c.isalpha()]
    if letters and sum(c.isupper() for c in letters) >= SHOUTED * len(letters):
        return text.lower()
    return text


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
    found, _ = _read(text)
    return [] if found is None else [found]


def _read(
    text: str, words_weigh: bool = True, declared: frozenset[str] | set[str] = frozenset()
) -> tuple[str | None, dict[str, float]]:
    """The language taken for `text` (None without letters) and every language's probability.
    The English rules read the character model alone. Then, unless a `declared` language is among
    the candidates (the author's or the community's word settles a close call, and the words would
    only outvote it), the words choose among the close ones. `words_weigh` False leaves them out
    (to measure what they bring)."""
    text = _cleaned(text)
    if not any(c.isalpha() for c in text):
        return None, {}
    ranked = [(str(code), float(p)) for code, p in _model().rank(text)]
    (top, p), (second, q) = ranked[0], ranked[1]
    if top == "en":
        return "en", dict(ranked)
    if p < SURE:
        long_words = [w for w in _WORD.findall(text.lower()) if len(w) >= 3]
        english = text.isascii() and all(w in _english_words() for w in long_words)
        if english or (second == "en" and q >= p / 2):
            return "en", dict(ranked)
    close = {code for code, _ in ranked[:CANDIDATES]}
    if words_weigh and not close & declared:
        ranked = weighed(ranked, _WORD.findall(unicodedata.normalize("NFC", text).casefold()))
    return ranked[0][0], dict(ranked)


class LanguageId:
    """The Decider's language model (moderation.decider.LanguageModel), with two priors: the
    platform's tag (Bluesky's `langs`, the author's word) and the languages a community says it
    writes in (`[policy] languages`). A post the model reads as another language than those, where
    one of them is close, is taken as that one; a tag that names the language makes it sure; on an
    unsure text, a tag of English keeps it English. A post read as English stays English: English
    is what every scorer reads, so no prior may take a post out of their hands."""

    name = "language"

    def __init__(self, words_weigh: bool = True) -> None:
        from importlib.metadata import version

        self.words_weigh = words_weigh
        words = f"+wordfreq-{version('wordfreq')}" if words_weigh else ""
        self.version = f"py3langid-{version('py3langid')}{words}"

    def identify(
        self,
        texts: Sequence[str],
        hints: Sequence[Sequence[str]],
        expected: Sequence[frozenset[str]] | None = None,
    ) -> list[Language]:
        out = []
        for i, (text, hint) in enumerate(zip(texts, hints, strict=True)):
            tags = {h.split("-")[0].lower() for h in hint}
            declared = tags | (expected[i] if expected is not None else frozenset())
            found, ranked = _read(text, self.words_weigh, declared)
            if found is None:
                out.append(Language(None, False))
                continue
            if found == "en":
                out.append(Language("en", True))
                continue
            code, p = _with_prior(ranked, found, declared)
            if code != "en" and "en" in tags and p < ROUTE_SURE:
                out.append(Language("en", False))
            else:
                out.append(Language(code, p >= ROUTE_SURE or code in tags))
        return out


PRIOR = 10.0
"""The odds a declared language gets over the others. Danish and Norwegian, Indonesian and Malay
share most of their spelling, and on a short post the model's choice between them is close to a
coin toss that the author's or the community's word settles; on a sentence the model is sure of
(0.999 and more), odds of 10 change nothing."""


def _with_prior(ranked: dict[str, float], found: str, declared: set[str] | frozenset[str]) -> tuple[str, float]:
    """The language and its probability once declared languages weigh PRIOR times more."""
    weighted = {code: p * (PRIOR if code in declared else 1.0) for code, p in ranked.items()}
    total = sum(weighted.values()) or 1.0
    best = max(weighted, key=weighted.__getitem__)
    return (best, weighted[best] / total) if weighted[best] > weighted[found] else (found, weighted[found] / total)
