"""Text normalisation for scoring, keeping a map back to what the user wrote.

Evasion tricks (homoglyphs, zero-width joiners, leetspeak, `f u c k`, `f*ck`, zalgo) make the same
word look different to a model; the scoring view undoes them. Moderators must see evidence in the
raw text, so every output character remembers the raw code point it came from.

The passes run to a fixed point (undoing one trick can expose another), which is also what makes
`normalise(normalise(x).text).text == normalise(x).text` hold.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from moderation.respell import respell_words, unmask_words
from moderation.types import Span

_MAX_PASSES = 6

# A list of (character, raw index) pairs in two parallel lists; every pass maps one to another.
_Chars = list[str]
_Src = list[int]


@dataclass(frozen=True, slots=True)
class Normalised:
    raw: str
    text: str
    offsets: tuple[int, ...]
    """offsets[i] is the index in `raw` of the code point that produced text[i]."""

    def to_raw(self, start: int, end: int) -> Span:
        """Map a half-open range of `text` to the range of `raw` it came from."""
        if not self.offsets:
            return Span(0, 0)
        start = max(0, min(start, len(self.offsets) - 1))
        end = max(start + 1, min(end, len(self.offsets)))
        lo = min(self.offsets[start:end])
        hi = max(self.offsets[start:end]) + 1
        return Span(lo, hi)


def normalise(raw: str) -> Normalised:
    chars: _Chars = list(raw)
    src: _Src = list(range(len(raw)))
    for _ in range(_MAX_PASSES):
        new_chars, new_src = _one_pass(chars, src)
        if new_chars == chars:
            break
        chars, src = new_chars, new_src
    return Normalised(raw=raw, text="".join(chars), offsets=tuple(src))


def _one_pass(chars: _Chars, src: _Src) -> tuple[_Chars, _Src]:
    chars, src = _strip_markdown(chars, src)
    chars, src = _drop_invisible(chars, src)
    chars, src = _fold_compatibility(chars, src)
    chars, src = _fold_confusables(chars, src)
    chars, src = _undo_leetspeak(chars, src)
    chars, src = _join_separated_letters(chars, src)
    chars, src = unmask_words(chars, src)
    chars, src = _squeeze_repeats(chars, src)
    chars, src = respell_words(chars, src)
    chars, src = _restore_apostrophes(chars, src)
    return _collapse_whitespace(chars, src)


def _delete(chars: _Chars, src: _Src, doomed: set[int]) -> tuple[_Chars, _Src]:
    if not doomed:
        return chars, src
    keep = [i for i in range(len(chars)) if i not in doomed]
    return [chars[i] for i in keep], [src[i] for i in keep]


# --- markdown -------------------------------------------------------------------------------------

_MD_PATTERNS = (
    # bold, underline, strike, spoiler: only at a word's edge (`f**k` is a mask, not markup)
    re.compile(r"(?<![^\W_])(?:\*\*|__|~~|\|\|)|(?:\*\*|__|~~|\|\|)(?![^\W_])"),
    re.compile(r"`+"),  # code spans and fences
    re.compile(r"(?m)^[ \t]*(?:#{1,6}|-#|>+)[ \t]+"),  # headings, Discord subtext, quotes
    re.compile(r"(?:(?<=\s)|^)[*_](?=\S)|(?<=\S)[*_](?=\s|$|[.,!?;:)])"),  # *em* and _em_ at word edges
)
_MD_LINK = re.compile(r"\[([^\[\]\n]{1,500})\]\((?:[^()\s]{1,2000})\)")


def _strip_markdown(chars: _Chars, src: _Src) -> tuple[_Chars, _Src]:
    text = "".join(chars)
    doomed: set[int] = set()
    for m in _MD_LINK.finditer(text):
        doomed.add(m.start())  # "["
        doomed.update(range(m.end(1), m.end()))  # "](url)"
    for pattern in _MD_PATTERNS:
        for m in pattern.finditer(text):
            doomed.update(range(m.start(), m.end()))
    return _delete(chars, src, doomed)


# --- invisible and control characters -------------------------------------------------------------


def _drop_invisible(chars: _Chars, src: _Src) -> tuple[_Chars, _Src]:
    """Zero-width characters, bidi controls, variation selectors and C0/C1 controls go; tabs and
    newlines become spaces so words on either side stay apart."""
    if _printable_ascii(chars):
        return chars, src
    out_c: _Chars = []
    out_s: _Src = []
    for c, s in zip(chars, src, strict=True):
        cat = unicodedata.category(c)
        if c in "\t\n\r\v\f":
            out_c.append(" ")
        elif cat in ("Cf", "Cc", "Cs", "Co", "Cn") or _is_variation_selector(c):
            continue
        else:
            out_c.append(c)
        out_s.append(s)
    return out_c, out_s


def _printable_ascii(chars: _Chars) -> bool:
    """Most posts are plain printable ASCII, which several passes leave as it is: they skip the
    per-character work (a third of the normaliser's time on tweets)."""
    text = "".join(chars)
    return text.isascii() and text.isprintable()


def _is_variation_selector(c: str) -> bool:
    o = ord(c)
    return 0xFE00 <= o <= 0xFE0F or 0xE0100 <= o <= 0xE01EF


# --- compatibility forms and diacritics -----------------------------------------------------------


def _fold_compatibility(chars: _Chars, src: _Src) -> tuple[_Chars, _Src]:
    """NFKC per code point; diacritics on Latin letters are dropped (`fück` -> `fuck`), and so are
    stacks of combining marks on them (zalgo). Marks on other scripts stay: there they are letters."""
    if _printable_ascii(chars):
        return chars, src
    out_c: _Chars = []
    out_s: _Src = []
    for c, s in zip(chars, src, strict=True):
        if unicodedata.combining(c) or unicodedata.category(c) in ("Mn", "Me"):
            if out_c and (out_c[-1].isascii() or out_c[-1] == " "):
                continue
            out_c.append(c)
            out_s.append(s)
            continue
        folded = _fold_char(c)
        out_c.extend(folded)
        out_s.extend([s] * len(folded))
    return out_c, out_s


@cache
def _fold_char(c: str) -> str:
    if c.isascii():
        return c
    decomposed = unicodedata.normalize("NFKD", c)
    base = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    if base and base.isascii() and base.isprintable():
        return base
    composed = unicodedata.normalize("NFKC", c)
    # NFKC of a lone code point can produce a sequence that itself still folds; settle it here.
    if composed != c and len(composed) > 0:
        return "".join(_fold_char(ch) if ch != c else ch for ch in composed)
    return composed


# --- homoglyphs (Unicode TR39 confusables) --------------------------------------------------------


@cache
def _confusable_table() -> dict[str, str]:
    """Non-ASCII code point -> ASCII letter or digit it is confusable with, from the TR39 data that
    the `confusable_homoglyphs` package ships."""
    import confusable_homoglyphs

    data_file = Path(confusable_homoglyphs.__file__).with_name("confusables.json")
    data: dict[str, list[dict[str, str]]] = json.loads(data_file.read_text(encoding="utf-8"))
    table: dict[str, str] = {}
    for char, homoglyphs in data.items():
        if len(char) != 1 or char.isascii():
            continue
        ascii_forms = [h["c"] for h in homoglyphs if len(h["c"]) == 1 and h["c"].isascii() and h["c"].isalnum()]
        if not ascii_forms:
            continue
        # Prefer a letter of the same case, then any letter, then a digit.
        lower = char.islower()
        ascii_forms.sort(key=lambda a: (not a.isalpha(), a.islower() != lower))
        table[char] = ascii_forms[0]
    return table


_TOKEN = re.compile(r"\S+")


def _fold_confusables(chars: _Chars, src: _Src) -> tuple[_Chars, _Src]:
    """Fold homoglyphs inside tokens that mix them with ASCII (`pаypal` with a Cyrillic а), and in
    all-homoglyph tokens when the post is mostly Latin. Text that is simply written in Cyrillic or
    Greek is left alone."""
    if _printable_ascii(chars):  # the table folds only non-ASCII characters
        return chars, src
    table = _confusable_table()
    text = "".join(chars)
    tokens = [(m.start(), m.end()) for m in _TOKEN.finditer(text)]
    mixed: list[tuple[int, int]] = []
    pure: list[tuple[int, int]] = []
    latin_letters = other_letters = 0
    for a, b in tokens:
        tok = text[a:b]
        has_ascii = any(ch.isascii() and ch.isalnum() for ch in tok)
        letters = [ch for ch in tok if ch.isalpha()]
        if has_ascii:
            mixed.append((a, b))
            latin_letters += len(letters)
        else:
            other_letters += len(letters)
            if letters and all(ch in table for ch in letters):
                pure.append((a, b))
    spans = mixed + (pure if latin_letters > other_letters else [])
    if not spans:
        return chars, src
    out = list(chars)
    for a, b in spans:
        for i in range(a, b):
            out[i] = table.get(out[i], out[i])
    return out, src


# --- leetspeak, separators, masks, elongation -----------------------------------------------------

_LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
         "@": "a", "$": "s", "!": "i", "|": "l", "+": "t"}  # fmt: skip
_LEET_RUN = re.compile(r"[A-Za-z0-9@$!|+]+")


_PUNCTUATION = frozenset("!|")


def _one_word(run: str, i: int) -> bool:
    """Whether punctuation at `i` sits inside one word (`b!tch`, `sh!thead`, `pr!ck`) rather than
    between two written without a space (`presse!warum`, `economia!avete`, `tun!auf`): a short
    part on one side and no long word on the other."""
    before = len(run[:i].rstrip("!|"))
    after = len(run[i + 1 :].lstrip("!|"))
    return min(before, after) <= 2 and max(before, after) <= 6


def _undo_leetspeak(chars: _Chars, src: _Src) -> tuple[_Chars, _Src]:
    """Leet characters between letters of one word become letters (`sh1t`, `b!tch`, `a$$h0le`).
    Leading and trailing digit groups stay (`covid19`, `5pm`), and a leading `@` stays (mentions)."""
    text = "".join(chars)
    out = list(chars)
    changed = False
    for m in _LEET_RUN.finditer(text):
        run = m.group()
        letters = [i for i, ch in enumerate(run) if ch.isalpha()]
        if len(letters) < 2 or len(letters) == len(run):
            continue
        first, last = letters[0], letters[-1]
        for i, ch in enumerate(run):
            if ch in _LEET and not ch.isalpha():
                inside = first < i < last and (ch not in _PUNCTUATION or _one_word(run, i))
                trailing_symbol = i > last and ch in "$" and all(c == "$" for c in run[last + 1 :])
                leading_symbol = i < first and ch == "$"
                if inside or trailing_symbol or leading_symbol:
                    out[m.start() + i] = _LEET[ch]
                    changed = True
    return (out, src) if changed else (chars, src)


_SEP = r"[ .\-_*·•,/|~+:]{1,3}"
_SPACED = re.compile(rf"(?<![\w])[A-Za-z](?:{_SEP}[A-Za-z]){{2,}}(?![\w])")


def _join_separated_letters(chars: _Chars, src: _Src) -> tuple[_Chars, _Src]:
    """`f u c k`, `f.u.c.k`, `f-u-c-k`: three or more single letters with separators between."""
    text = "".join(chars)
    doomed: set[int] = set()
    for m in _SPACED.finditer(text):
        doomed.update(m.start() + i for i, ch in enumerate(m.group()) if not ch.isalpha())
    return _delete(chars, src, doomed)


_REPEAT = re.compile(r"([A-Za-z])\1{2,}")


def _squeeze_repeats(chars: _Chars, src: _Src) -> tuple[_Chars, _Src]:
    """`fuuuuuck` -> `fuuck`: elongation adds emphasis, not meaning, and breaks vocabularies."""
    text = "".join(chars)
    doomed: set[int] = set()
    for m in _REPEAT.finditer(text):
        doomed.update(range(m.start() + 2, m.end()))
    return _delete(chars, src, doomed)


# where the apostrophe goes, counted from the word's end; only words that mean nothing else
_CONTRACTED = {
    w: 1
    for w in (
        "dont",
        "doesnt",
        "didnt",
        "isnt",
        "arent",
        "wasnt",
        "werent",
        "wont",
        "cant",
        "couldnt",
        "wouldnt",
        "shouldnt",
        "havent",
        "hasnt",
        "hadnt",
        "aint",
        "mustnt",
        "neednt",
    )
}
_CONTRACTED |= {"im": 1, "ive": 2, "youre": 2, "theyre": 2, "youve": 2, "theyve": 2, "thats": 1, "whats": 1}
_CONTRACTION = re.compile(r"(?<![\w'’])(?:" + "|".join(_CONTRACTED) + r")(?![\w'’])", re.IGNORECASE)


def _restore_apostrophes(chars: _Chars, src: _Src) -> tuple[_Chars, _Src]:
    """`dont` -> `don't`, `arent` -> `aren't`: casual posts drop the apostrophe, which hides the
    negation from a model that learned it from edited text; the apostrophe takes the raw position
    of the letter before it."""
    text = "".join(chars)
    out_c, out_s = list(chars), list(src)
    for inserted, m in enumerate(_CONTRACTION.finditer(text)):
        at = m.end() - _CONTRACTED[m.group().lower()] + inserted
        out_c.insert(at, "'")
        out_s.insert(at, out_s[at - 1])
    return out_c, out_s


_UNCOLLAPSED = re.compile(r"\s\s|[^\S ]|^\s|\s$")


def _collapse_whitespace(chars: _Chars, src: _Src) -> tuple[_Chars, _Src]:
    if not _UNCOLLAPSED.search("".join(chars)):
        return chars, src
    out_c: _Chars = []
    out_s: _Src = []
    for c, s in zip(chars, src, strict=True):
        if c.isspace():
            if not out_c or out_c[-1] == " ":
                continue
            c = " "
        out_c.append(c)
        out_s.append(s)
    if out_c and out_c[-1] == " ":
        out_c.pop()
        out_s.pop()
    return out_c, out_s
