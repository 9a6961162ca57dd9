"""A community's knowledge folder (markdown: rules, FAQ, links), chunked and searchable, so that a
draft rests on what the moderators wrote and cites only their links.

Chunks follow the headings (a rule or an FAQ entry is usually one section); long sections are
split at paragraphs. Search is hybrid like claim matching: BM25 catches the exact words of a
question ("seed swap"), the shared embedding catches paraphrase ("when do we trade seeds?").
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from moderation.answering import Answerability, Evidence, content_words, evidence, quote, sentences
from moderation.drafting import Passage
from moderation.links import urls_in
from moderation.retrieval import BM25, fuse
from moderation.scoring import ScorerError

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
MAX_CHUNK_CHARS = 800
MAX_FILE_BYTES = 2_000_000
PRIVATE = "private"
"""Files whose name starts with this hold the moderators' private notes: never retrieved, never
quoted, and a draft that repeats them is rejected."""
ANSWERABILITY = Path(__file__).parent / "artifacts" / "answerability.json"


class Embedding(Protocol):
    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


@dataclass(frozen=True, slots=True)
class Chunk:
    file: str
    heading: str
    text: str

    @property
    def source(self) -> str:
        return f"{self.file} § {self.heading}" if self.heading else self.file

    def passage(self) -> Passage:
        return Passage(self.source, self.text, tuple(dict.fromkeys(urls_in(self.text))))


def chunk_markdown(name: str, text: str) -> list[Chunk]:
    """Sections under their heading path; paragraphs grouped up to MAX_CHUNK_CHARS."""
    chunks: list[Chunk] = []
    path: list[str] = []
    lines: list[str] = []

    def flush() -> None:
        body = "\n".join(lines).strip()
        lines.clear()
        if not body:
            return
        heading = " › ".join(path)
        current = ""
        for para in re.split(r"\n\s*\n", body):
            para = para.strip()
            if current and len(current) + len(para) + 2 > MAX_CHUNK_CHARS:
                chunks.append(Chunk(name, heading, current))
                current = ""
            current = f"{current}\n\n{para}" if current else para
            while len(current) > MAX_CHUNK_CHARS:  # one huge paragraph: cut at a sentence if possible
                cut = current.rfind(". ", 0, MAX_CHUNK_CHARS) + 1 or MAX_CHUNK_CHARS
                chunks.append(Chunk(name, heading, current[:cut].strip()))
                current = current[cut:].strip()
        if current:
            chunks.append(Chunk(name, heading, current))

    for line in text.splitlines():
        m = _HEADING.match(line)
        if m:
            flush()
            level = len(m.group(1))
            del path[level - 1 :]
            path.extend([""] * (level - 1 - len(path)))
            path.append(m.group(2))
            path[:] = [p for p in path if p]
        else:
            lines.append(line)
    flush()
    return chunks


def load_folder(folder: Path) -> list[Chunk]:
    """Every *.md file under the folder but the private notes, in name order. Unreadable or huge
    files are errors that name the file: a knowledge base that silently lost its rules would ground
    drafts on nothing."""
    return [c for path, rel in _files(folder, private=False) for c in chunk_markdown(rel, _read(path))]


def private_notes(folder: Path | None) -> str:
    """The moderators' private notes (`private*.md`) of a knowledge folder, for the leak gate."""
    if folder is None or not folder.is_dir():
        return ""
    return "\n".join(_read(path) for path, _ in _files(folder, private=True))


def _files(folder: Path, private: bool) -> list[tuple[Path, str]]:
    if not folder.is_dir():
        raise ScorerError(f"knowledge folder {folder} does not exist or is not a folder")
    found = [(p, p.relative_to(folder).as_posix()) for p in sorted(folder.rglob("*.md"))]
    return [(p, rel) for p, rel in found if p.name.startswith(PRIVATE) == private]


def _read(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ScorerError(f"knowledge file {path} is over {MAX_FILE_BYTES} bytes")
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScorerError(f"knowledge file {path} cannot be read as UTF-8 text: {exc}") from exc


def load_answerability(path: Path = ANSWERABILITY) -> Answerability:
    """The shipped answerability weights (`modbot train answerability` writes them)."""
    try:
        return Answerability.from_json(path.read_text(encoding="utf-8"), str(path))
    except (OSError, ValueError, KeyError) as exc:
        raise ScorerError(f"answerability weights {path} cannot be loaded: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Candidate:
    chunk: Chunk
    evidence: Evidence
    sentences: list[str]
    similarities: list[float]
    """each sentence's cosine with the question"""


@dataclass(frozen=True, slots=True)
class Found:
    """The chunk that best answers a question, why it is believed to, and what to quote."""

    chunk: Chunk
    evidence: Evidence
    probability: float
    quote: list[str]


class KnowledgeBase:
    def __init__(self, chunks: Sequence[Chunk], embedder: Embedding, private: str = "") -> None:
        self.chunks = list(chunks)
        self.private = private
        """the folder's private notes, read with it: what no draft may repeat"""
        self._embedder = embedder
        texts = [f"{c.heading}\n{c.text}" for c in self.chunks]
        vectors = embedder.embed(texts) if texts else []
        self._vectors = np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)
        self._bm25 = BM25(texts)
        self._sentences = [sentences(c.text) for c in self.chunks]
        flat = [x for parts in self._sentences for x in parts]
        embedded = np.asarray(embedder.embed(flat) if flat else [], dtype=np.float32).reshape(len(flat), -1)
        bounds = np.cumsum([0] + [len(parts) for parts in self._sentences])
        self._sentence_vectors = [embedded[bounds[i] : bounds[i + 1]] for i in range(len(self.chunks))]
        self._words = [content_words(t) for t in texts]
        self._df = Counter(w for words in self._words for w in words)

    @classmethod
    def from_folder(cls, folder: Path, embedder: Embedding) -> KnowledgeBase:
        return cls(load_folder(folder), embedder, private_notes(folder))

    def search(self, query: str, k: int = 3, files: str | None = None, min_similarity: float = 0.2) -> list[Chunk]:
        """The k best chunks for the query (optionally only from files whose name starts with
        `files`), leaving out those with neither a shared word nor a similar meaning."""
        if not self.chunks:
            return []
        [q] = self._embedder.embed([query])
        cosine = self._vectors @ np.asarray(q, dtype=np.float32)
        lexical = self._bm25.scores(query)
        out = []
        for i in fuse([cosine, lexical]):
            chunk = self.chunks[i]
            if files is not None and not chunk.file.rsplit("/", 1)[-1].startswith(files):
                continue
            if lexical[i] <= 0 and cosine[i] < min_similarity:
                continue
            out.append(chunk)
            if len(out) == k:
                break
        return out

    def _idf(self, word: str) -> float:
        n = len(self.chunks)
        return math.log(1 + (n - self._df.get(word, 0) + 0.5) / (self._df.get(word, 0) + 0.5))

    def candidates(self, question: str, k: int = 3) -> list[Candidate]:
        """The k best chunks by fused rank, each with the evidence the answerability score reads."""
        if not self.chunks:
            return []
        [q] = self._embedder.embed([question])
        vector = np.asarray(q, dtype=np.float32)
        cosine = self._vectors @ vector
        lexical = self._bm25.scores(question)
        top_lexical = float(lexical.max()) or 1.0
        out = []
        ranked = fuse([cosine, lexical])[:k]
        for i in ranked:
            others = [float(cosine[j]) for j in ranked if j != i]
            similarities = [float(x) for x in self._sentence_vectors[i] @ vector]
            found = evidence(
                question,
                self._words[i],
                self._idf,
                self._idf("\0"),
                float(cosine[i]),
                max(similarities, default=0.0),
                float(lexical[i]) / top_lexical,
                float(cosine[i]) - max(others, default=0.0),
            )
            out.append(Candidate(self.chunks[i], found, self._sentences[i], similarities))
        return out

    def consult(self, question: str, judge: Answerability, budget: int = 240, k: int = 3) -> Found | None:
        """Of the k best chunks, the one most likely to answer the question, with the sentences to
        quote from it; None when the folder is empty. Whether it does answer is `judge`'s call."""
        best: Found | None = None
        for c in self.candidates(question, k):
            chance = judge.probability(c.evidence)
            if best is None or chance > best.probability:
                best = Found(c.chunk, c.evidence, chance, quote(question, c.sentences, c.similarities, budget))
        return best
