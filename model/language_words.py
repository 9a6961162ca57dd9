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
in docs/evaluation.md (bench/language_id.py and --no-words): Danish 0.790 -> 0.821, Indonesian
0.798 -> 0.877, Spanish 0.950 -> 0.979, no English post moved. A list takes about 3 MB once read,
and only the languages posts come close to are read.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

CANDIDATES = 3
"""how many of the character model's best languages the words choose between"""
UNSEEN = 1e-7
"""the frequency given to a word a list lacks: a tenth of the rarest word a small list keeps (1e-6;
a name, a typo and a slang word are unseen in every language alike, and so weigh nothing)"""
WEIGHT = 0.5
"""the power the words' likelihood is raised to: words and the letters the character model read
are partly the same evidence. Half is the usual tempering of two correlated experts, not a figure
chosen on the evaluation sets. Measured before declared languages skipped the words: at full
weight the words outvoted a community's declared language (Indonesian declared 0.983 -> 0.927;
0.942 at 0.5, 0.954 at 0.3), while undeclared Indonesian barely moved (0.867, 0.871, 0.869)"""
_LIST_NAMES = {"no": "nb", "tl": "fil"}
"""py3langid's code where wordfreq's list has another name: Norwegian Bokmål for Norwegian, and
Filipino for Tagalog"""


@functools.cache
def frequencies(code: str) -> dict[str, float] | None:
    """The word -> frequency list of a language (wordfreq's own cached dict: read, never changed),
    or None where wordfreq has none (Swahili, Welsh)."""
    from wordfreq import available_languages, get_frequency_dict

    name = _LIST_NAMES.get(code, code)
    if name not in available_languages(wordlist="small"):
        return None
    found: dict[str, float] = get_frequency_dict(name, wordlist="small")
    return found


def weighed(ranked: Sequence[tuple[str, float]], words: Sequence[str]) -> list[tuple[str, float]]:
    """`ranked` (the character model's languages and probabilities, best first, summing to 1) with
    its best CANDIDATES re-weighed by how likely `words` (case-folded, NFC) are in each; they share
    the probability they had between them, and everything below them keeps its own. A candidate
    with no word list is taken to fit the words no better than the worst listed one, so the words
    may move a listed language past it but never it past a listed one. With no words, a first
    choice with no list, or fewer than two lists to compare, the ranking is kept as it is."""
    top = list(ranked[:CANDIDATES])
    if not words or not top or frequencies(top[0][0]) is None:
        return list(ranked)
    fits = {code: _log_likelihood(code, words) for code, _ in top if frequencies(code) is not None}
    if len(fits) < 2:
        return list(ranked)
    worst = min(fits.values())
    scores = {code: math.log(max(p, 1e-300)) + WEIGHT * fits.get(code, worst) for code, p in top}
    high = max(scores.values())
    odds = {code: math.exp(s - high) for code, s in scores.items()}
    mass, total = sum(p for _, p in top), sum(odds.values())
    out = [(code, mass * odds[code] / total if code in odds else p) for code, p in ranked]
    return sorted(out, key=lambda pair: pair[1], reverse=True)


def _log_likelihood(code: str, words: Sequence[str]) -> float:
    listed = frequencies(code) or {}
    return sum(math.log(listed.get(word, 0.0) + UNSEEN) for word in words)
