"""Spelling disguises undone against a lexicon of charged words, for the scoring view.

People write `h*te`, `vrmin`, `worthelss` and `scuuum` so that a filter's vocabulary misses the
word while every reader still sees it. A model that learned `vermin` from edited text sees `vrmin`
as an unknown name. Two passes put the word back:

- a masked word (`f*ck`, `h#te`) becomes the one lexicon word it can stand for, each mask
  character standing for one letter;
- a word no dictionary knows becomes the lexicon word it is with one letter dropped, two
  neighbouring letters swapped or a letter doubled, when exactly one lexicon word fits.

The lexicon (data/charged_words.txt) holds the words people disguise: insults, slurs, swearing,
contempt and violence. Repairing a word decides nothing; the model still reads the whole post.
Real words and their inflections are never touched (data/known_words.txt), nor words under four
letters (`hte` is more often `the` than `hate`), nor four-letter words short of a letter (`sine` is
not `swine`), nor capitalised words (names: `Tash` is not `trash`, even first in a sentence).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from importlib import resources

_Chars = list[str]
_Src = list[int]

_MIN_LETTERS = 4


def _words(name: str) -> frozenset[str]:
    text = resources.files("moderation").joinpath(f"data/{name}").read_text(encoding="utf-8")
    return frozenset(w.strip().lower() for w in text.splitlines() if w.strip() and not w.startswith("#"))


@cache
def lexicon() -> frozenset[str]:
    """The charged words a disguise is undone to."""
    return _words("charged_words.txt")


@cache
def _known() -> frozenset[str]:
    return _words("known_words.txt")


_SUFFIXES = ("s", "es", "d", "ed", "r", "er", "ers", "ing", "ly", "y")


def _is_known(word: str) -> bool:
    """A dictionary word, or one of its inflections: `pics`, `cons`, `rapped`, `looser`."""
    if word in _known():
        return True
    bases = (word[: -len(s)] for s in _SUFFIXES if word.endswith(s) and len(word) - len(s) >= 3)
    return any(b in _known() or (b[-1] == b[-2] and b[:-1] in _known()) for b in bases)


@cache
def _dropped() -> dict[str, str | None]:
    """Each lexicon word with one inner letter left out -> that word (None where two words fit).
    People keep a word's first and last letters so that it still reads; a real word that lacks a
    charged word's first or last letter (`pics`, `shoo`) is not a disguise."""
    out: dict[str, str | None] = {}
    for word in lexicon():
        for i in range(1, len(word) - 1):
            key = word[:i] + word[i + 1 :]
            out[key] = word if out.get(key, word) == word else None
    return out


def _swapped(word: str) -> set[str]:
    """Two neighbouring letters swapped, the first letter kept."""
    return {word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(1, len(word) - 1) if word[i] != word[i + 1]}


def _undoubled(word: str) -> set[str]:
    """`haate` -> `hate`: the word with one of its doubled letters written once."""
    return {word[:i] + word[i + 1 :] for i in range(len(word) - 1) if word[i] == word[i + 1]}


def repair(word: str) -> str | None:
    """The lexicon word `word` disguises, or None. Only lower-case words (names stay as written)."""
    if len(word) < _MIN_LETTERS or word in lexicon() or _is_known(word):
        return None
    fits = {w for w in _undoubled(word) | _swapped(word) if w in lexicon()}
    dropped = _dropped().get(word) if len(word) > _MIN_LETTERS else None
    if dropped:
        fits.add(dropped)
    return fits.pop() if len(fits) == 1 else None


_WORD = re.compile(r"(?<![\w'’*#%@])[A-Za-z]+(?![\w'’*#%@])")


def respell_words(chars: _Chars, src: _Src) -> tuple[_Chars, _Src]:
    """Every disguised word in the text put back; the repaired letters keep the raw positions of
    the letters they replace (an inserted letter takes its neighbour's)."""
    return _rewrite(chars, src, _WORD, _respelt)


def _respelt(word: str) -> str | None:
    if word[0].isupper() and not word.isupper():
        return None
    fixed = repair(word.lower())
    return None if fixed is None else _cased(fixed, word)


_MASKED = re.compile(r"(?<![\w*#])[A-Za-z]+[*#%]+[A-Za-z*#%]*(?![\w*#])")


def unmask_words(chars: _Chars, src: _Src) -> tuple[_Chars, _Src]:
    """`f*ck`, `sh*t`, `f**k`, `h#te`: a word with mask characters becomes the one lexicon word it
    can stand for (each mask character standing for one letter). Ambiguous masks stay as written."""
    return _rewrite(chars, src, _MASKED, _unmasked)


def _unmasked(word: str) -> str | None:
    pattern = re.compile("".join("[a-z]" if ch in "*#%" else re.escape(ch.lower()) for ch in word))
    found = {w for w in lexicon() if len(w) == len(word) and pattern.fullmatch(w)}
    return found.pop() if len(found) == 1 else None


def _rewrite(chars: _Chars, src: _Src, words: re.Pattern[str], fix: Callable[[str], str | None]) -> tuple[_Chars, _Src]:
    """Each match of `words` that `fix` has a replacement for, replaced; every new letter keeps the
    raw position of the letter it stands on (an inserted one its neighbour's), so evidence spans
    still point at what the author wrote."""
    out_c: _Chars = []
    out_s: _Src = []
    pos = 0
    for m in words.finditer("".join(chars)):
        new = fix(m.group())
        if new is None:
            continue
        start, end = m.start(), m.end()
        out_c.extend(chars[pos:start])
        out_s.extend(src[pos:start])
        out_c.extend(new)
        out_s.extend(src[start + min(k, end - start - 1)] for k in range(len(new)))
        pos = end
    if not pos:
        return chars, src
    out_c.extend(chars[pos:])
    out_s.extend(src[pos:])
    return out_c, out_s


def _cased(fixed: str, written: str) -> str:
    if written.isupper():
        return fixed.upper()
    return fixed.capitalize() if written[0].isupper() else fixed
