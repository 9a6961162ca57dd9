"""Word evidence for language identification: how often each word of a post is written in each
language the character model hesitates between, from wordfreq's small lists (Robyn Speer's
wordfreq 3.1: about 30,000 words a language counted over Wikipedia, subtitles, news, books, web
text and Twitter; code Apache-2.0, lists CC BY-SA 4.0, inside the PyPI package, which modbot reads
and does not redistribute).

A character n-gram model cannot tell apart languages that share most of their spelling on a short
post (Danish from Norwegian and Swedish, Indonesian from Malay, Portuguese from Spanish), but their
everyday words differ ("hvad" is Danish, "hva" Norwegian, "vad" Swedish; "tidak" is mostly
Indonesian, "tak" mostly Malay). Each candidate's probability is multiplied by the likelihood of
the post's words under its list, as a naive Bayes model would, so a sentence the character model is
sure of keeps its language and a close call goes to the language whose words these are. Measured
in docs/evaluation.md: Danish 0.790 -> 0.821, Indonesian 0.800 -> 0.871, Spanish 0.950 -> 0.979,
no English post moved.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

CANDIDATES = 3
"""how many of the character model's best languages the words choose between"""
UNSEEN = 1e-7
"""the frequency given to a word a list lacks: about that of the rarest word the small lists keep
(a name, a typo and a slang word are unseen in every language alike, and so weigh nothing)"""
WEIGHT = 0.5
"""the power the words' likelihood is raised to: words and the letters the character model read
are the same evidence twice, and taken at full weight they outvote a community's declared language
(Indonesian declared 0.983 -> 0.927 at 1.0, 0.942 at 0.5, 0.954 at 0.3; undeclared 0.867, 0.871,
0.869). Half is the usual tempering of two correlated experts; it is not the best of the three on these
sets (0.3 is), and was not chosen for them"""
_LIST_NAMES = {"no": "nb", "tl": "fil"}
"""py3langid's code where wordfreq's list has another name: Norwegian Bokmål for Norwegian, and
Filipino for Tagalog"""


@functools.cache
def frequencies(code: str) -> dict[str, float] | None:
    """The word -> frequency list of a language, or None where wordfreq has none (Swahili, Welsh)."""
    from wordfreq import available_languages, get_frequency_dict

    name = _LIST_NAMES.get(code, code)
    if name not in available_languages(wordlist="small"):
        return None
    return dict(get_frequency_dict(name, wordlist="small"))


def weighed(ranked: Sequence[tuple[str, float]], words: Sequence[str]) -> list[tuple[str, float]]:
    """`ranked` (the character model's languages and probabilities, best first, summing to 1) with
    its best CANDIDATES re-weighed by how likely `words` (lower case) are in each. Candidates
    without a word list, and everything below them, keep their probability; the re-weighed ones
    share the probability they had between them. With no words, or a first choice that has no
    list, the model's ranking is kept as it is: a language with no list cannot be compared."""
    if not words or not ranked:
        return list(ranked)
    top = ranked[:CANDIDATES]
    listed = [(code, p) for code, p in top if frequencies(code) is not None]
    if frequencies(top[0][0]) is None or len(listed) < 2:
        return list(ranked)
    scores = {code: math.log(max(p, 1e-300)) + WEIGHT * _log_likelihood(code, words) for code, p in listed}
    high = max(scores.values())
    odds = {code: math.exp(s - high) for code, s in scores.items()}
    mass = sum(p for _, p in listed)
    total = sum(odds.values())
    moved = {code: mass * o / total for code, o in odds.items()}
    out = [(code, moved.get(code, p)) for code, p in ranked]
    return sorted(out, key=lambda pair: pair[1], reverse=True)


def _log_likelihood(code: str, words: Sequence[str]) -> float:
    listed = frequencies(code) or {}
    return sum(math.log(listed.get(word, 0.0) + UNSEEN) for word in words)
