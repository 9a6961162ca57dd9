"""A community's knowledge folder (markdown: rules, FAQ, links), chunked and searchable, so that a
draft rests on what the moderators wrote and cites only their links.

Chunks follow the headings (a rule or an FAQ entry is usually one section); long sections are
split at paragraphs. Search is hybrid like claim matching: BM25 catches the exact words of a
question ("seed swap"), the shared embedding catches paraphrase ("when do we trade seeds?").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from moderation.drafting import Passage
from moderation.links import urls_in
from moderation.retrieval import BM25, fuse
from moderation.scoring import ScorerError

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
MAX_CHUNK_CHARS = 800
MAX_FILE_BYTES = 2_000_000


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
    """Every *.md file under the folder, in name order. Unreadable or huge files are errors that name
    the file: a knowledge base that silently lost its rules would ground drafts on nothing."""
    if not folder.is_dir():
        raise ScorerError(f"knowledge folder {folder} does not exist or is not a folder")
    chunks: list[Chunk] = []
    for path in sorted(folder.rglob("*.md")):
        rel = path.relative_to(folder).as_posix()
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise ScorerError(f"knowledge file {path} is over {MAX_FILE_BYTES} bytes")
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ScorerError(f"knowledge file {path} cannot be read as UTF-8 text: {exc}") from exc
        chunks.extend(chunk_markdown(rel, text))
    return chunks


class KnowledgeBase:
    def __init__(self, chunks: Sequence[Chunk], embedder: Embedding) -> None:
        self.chunks = list(chunks)
        self._embedder = embedder
        texts = [f"{c.heading}\n{c.text}" for c in self.chunks]
        vectors = embedder.embed(texts) if texts else []
        self._vectors = np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)
        self._bm25 = BM25(texts)

    @classmethod
    def from_folder(cls, folder: Path, embedder: Embedding) -> KnowledgeBase:
        return cls(load_folder(folder), embedder)

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
