"""Gates that read what a draft says: every factual sentence must rest on the text it was given,
and nothing hidden (persona, instructions, moderators' private notes) may come back out.

Groundedness is alignment, not entailment: a sentence is supported when its numbers, links and
names all occur in the sources and most of its content words do. That is crude but it cannot be
talked round, and it catches what a small model does wrong most often (inventing a fee, a day, a
place); a sentence of courtesy ("Hope that helps!") states nothing and passes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from moderation.answering import content_words, sentences
from moderation.links import urls_in

SUPPORTED_SHARE = 0.75
"""Of a sentence's content words, the share its sources must hold (stemmed)."""
COURTESY = frozenset(
    (
        "hope", "help", "happy", "glad", "welcome", "great", "thank", "thanks", "sorry", "feel", "free", "let", "know",
        "ask", "anytime", "enjoy", "good", "luck", "cheer", "best", "wish", "hi", "hello", "hey", "there", "member",
        "friend", "question", "answer",
    )
)  # fmt: skip
_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+(?:\s[A-Z][a-z]+)*")
_WORDS = re.compile(r"[^\W_]+")
SECRET_WORDS = re.compile(
    r"\b(password|passphrase|passcode|secret|api[ _-]?key|token|pin|access code|padlock|combination|private key)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Unsupported:
    sentence: str
    why: str

    def describe(self) -> str:
        return f'"{self.sentence}" ({self.why})'


def unsupported_numbers(draft: str, sources: Sequence[str]) -> list[str]:
    """Numbers (dates, times, amounts) in the draft that appear in none of its sources: the commonest
    way a small model invents facts, and all a template's text is checked for."""
    return sorted(numbers_in([draft]) - numbers_in(sources))


def numbers_in(texts: Sequence[str]) -> set[str]:
    return {n for t in texts for n in _NUMBER.findall(t)}


def ungrounded(draft: str, sources: Sequence[str], asked: str = "") -> list[Unsupported]:
    """Each sentence of the draft that states what its sources do not, with what is missing.
    `asked` (the member's post) lends its words, so an answer may name what was asked, but not its
    numbers, links or names: "is the fee £50?" must not come back as a fact."""
    joined = "\n".join(sources)
    lowered = joined.lower()
    numbers = numbers_in(sources)
    links = set(urls_in(joined))
    known = content_words(joined) | content_words(asked)
    out = []
    for sentence in sentences(draft):
        bare = sentence
        for url in urls_in(sentence):
            if url not in links:
                out.append(Unsupported(sentence, f"link {url} is in none of its sources"))
            bare = bare.replace(url, " ")
        if invented := sorted(numbers_in([bare]) - numbers):
            out.append(Unsupported(sentence, f"numbers in none of its sources: {', '.join(invented)}"))
            continue
        if names := [n for n in _NAME.findall(bare) if n.lower() not in lowered]:
            out.append(Unsupported(sentence, f"names in none of its sources: {', '.join(names)}"))
            continue
        words = content_words(bare) - COURTESY
        if len(words) >= 3 and len(words & known) / len(words) < SUPPORTED_SHARE:
            missing = ", ".join(sorted(words - known)[:5])
            out.append(Unsupported(sentence, f"words in none of its sources: {missing}"))
    return out


def folded_words(text: str) -> list[str]:
    """Words after compatibility folding, case folding and accent stripping: "Ｐａｓｓ" is "pass"."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _WORDS.findall(plain)


def shared_span(draft: str, hidden: str, n: int, public: str = "") -> str | None:
    """A run of `n` words (folded) that the draft repeats from the hidden text and that no public
    text (the knowledge it quotes) also holds, if any."""
    words = folded_words(hidden)
    grams = {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}
    shown = folded_words(public)
    grams -= {tuple(shown[i : i + n]) for i in range(len(shown) - n + 1)}
    said = folded_words(draft)
    for i in range(len(said) - n + 1):
        if tuple(said[i : i + n]) in grams:
            return " ".join(said[i : i + n])
    return None


def private_words(draft: str, private: str, public: str) -> list[str]:
    """Words of the private notes the draft uses that no public text (knowledge, post) uses: a
    one-word secret ("swordfish") is too short for any n-gram."""
    known = set(folded_words(public))
    said = set(folded_words(draft))
    return sorted(w for w in set(folded_words(private)) - known if len(w) >= 4 and w in said)


def secret_like(text: str) -> list[str]:
    """Lines of a persona that look like they hold a secret: a persona is sent to the model with
    every draft, and a model can be talked into repeating it."""
    return [line.strip() for line in text.splitlines() if SECRET_WORDS.search(line)]
