"""Writing a batch of drafts: grounding (the knowledge folder, the fact-check, the rule), a
template or the model, then the gates every draft passes."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from bot.assistant.triggers import RULE_WORDS, TASKS, CommunityReply
from bot.config import ReplyConfig
from bot.storage.drafts import DraftOutcome, DraftView
from bot.storage.records import DraftStatus
from bot.storage.schema import ClaimRow
from bot.storage.store import Store
from model.knowledge import Chunk, Embedding, KnowledgeBase
from moderation.drafting import PROMPT_VERSION, Passage, Prompt, build_prompt, check_draft, fit
from moderation.injection import detect
from moderation.links import without_urls


class Generator(Protocol):
    """What the writer needs of a language model (model.drafter.LocalGenerator in production)."""

    version: str

    def generate(self, prompts: Sequence[Prompt], max_new_tokens: int, max_seconds: float) -> list[str]: ...


GeneratorFactory = Callable[[ReplyConfig, Path], Generator]
"""Builds the writer's model from the [reply] settings and the models folder (loaded lazily, in the
worker thread). The composition root passes `local_generator`; tests pass a stand-in."""


def local_generator(cfg: ReplyConfig, models_dir: Path) -> Generator:
    from model.drafter import LocalGenerator

    return LocalGenerator(cfg.model or None, models_dir, cfg.dtype, cfg.threads or None, cfg.device)


class Knowledge(Protocol):
    def search(self, query: str, k: int = 3, files: str | None = None) -> list[Chunk]: ...


@dataclass
class _Job:
    draft: DraftView
    settings: CommunityReply
    passages: list[Passage] = field(default_factory=list)
    prompt: Prompt | None = None
    text: str | None = None
    suffix: str = ""
    rejected: list[str] = field(default_factory=list)


class DraftWriter:
    """Writes drafts for a batch: retrieval, template or model, then the gates. Synchronous; the
    worker runs it in a thread. `check` scores texts with the filter layer."""

    def __init__(
        self,
        cfg: ReplyConfig,
        generator: Callable[[], Generator],
        knowledge: Callable[[Path], Knowledge],
        claim: Callable[[int], ClaimRow | None],
    ) -> None:
        self.cfg = cfg
        self._generator_factory = generator
        self._generator: Generator | None = None
        self._knowledge_factory = knowledge
        self._knowledge: dict[Path, tuple[float, Knowledge]] = {}
        self._claim = claim
        self._lock = threading.Lock()

    @property
    def generator(self) -> Generator:
        with self._lock:
            if self._generator is None:
                self._generator = self._generator_factory()
            return self._generator

    def knowledge_for(self, folder: Path | None) -> Knowledge | None:
        """The folder's index, rebuilt when a file in it changed (moderators edit the FAQ live)."""
        if folder is None:
            return None
        stamp = max((p.stat().st_mtime for p in folder.rglob("*.md")), default=0.0) if folder.is_dir() else -1.0
        cached = self._knowledge.get(folder)
        if cached is None or cached[0] != stamp:
            self._knowledge[folder] = (stamp, self._knowledge_factory(folder))
        return self._knowledge[folder][1]

    def prepare(self, drafts: Sequence[DraftView]) -> list[_Job]:
        """Grounding and prompt for each draft, or its final text (templates), or why it cannot be written."""
        jobs = []
        indexes: dict[Path | None, Knowledge | None] = {}  # each folder checked once per batch
        for draft in drafts:
            job = _Job(draft, CommunityReply.resolve(self.cfg, draft.post.community))
            folder = job.settings.knowledge_dir
            try:
                if folder not in indexes:
                    indexes[folder] = self.knowledge_for(folder)
                self._prepare(job, indexes[folder])
            except Exception as exc:  # a broken knowledge folder fails this draft, not the worker
                job.rejected.append(f"could not prepare the draft: {type(exc).__name__}: {exc}")
            jobs.append(job)
        return jobs

    def _prepare(self, job: _Job, kb: Knowledge | None) -> None:
        draft, settings = job.draft, job.settings
        post_text = draft.post.text
        uses_model = draft.trigger in ("question", "request") or draft.trigger in self.cfg.model_for
        if uses_model and (found := detect(post_text)):
            job.rejected.extend(f"the post looks like a prompt injection: {m.describe()}" for m in found)
            return
        match draft.trigger:
            case "question" | "request":
                query = post_text + (" " + str(draft.params.get("note", "")) if draft.params.get("note") else "")
                job.passages = [c.passage() for c in kb.search(query)] if kb else []
                if job.passages and job.passages[0].urls:
                    job.suffix = f" {job.passages[0].urls[0]}"
            case "misinformation":
                claim = self._claim(int(draft.params["claim_id"]))
                if claim is None:
                    job.rejected.append(f"fact-check {draft.params['claim_id']} is no longer in the store")
                    return
                rating, publisher = claim.rating or "unrated", claim.publisher or "unknown"
                fields = {"claim": claim.claim, "rating": rating, "publisher": publisher, "url": claim.url}
                facts = f'Fact-checkers ({publisher}) rated the claim "{claim.claim}" {rating}.'
                job.passages = [Passage(f"fact-check {claim.id}", facts, (claim.url,) if claim.url else ())]
                job.suffix = f" {claim.url}" if claim.url else ""
                if "misinformation" not in self.cfg.model_for:
                    job.text, job.suffix = settings.templates.misinformation.format(**fields).strip(), ""
            case "rule_reminder":
                category = str(draft.params.get("category", ""))
                rules = kb.search(f"{RULE_WORDS.get(category, category)} {post_text}", k=1, files="rules") if kb else []
                if not rules:
                    job.rejected.append("no community rule found: add a rules*.md file to the knowledge folder")
                    return
                rule = rules[0].passage()
                job.passages = [rule]
                url = rule.urls[0] if rule.urls else ""
                job.suffix = f" {url}" if url else ""
                if "rule_reminder" not in self.cfg.model_for:
                    title = rule.source.split(" § ", 1)[-1].split(" › ")[-1]
                    rule_text = without_urls(rule.text)  # the template places {url} itself
                    filled = settings.templates.rule_reminder.format(rule=title, rule_text=rule_text, url=url)
                    job.text, job.suffix = " ".join(filled.split()), ""
            case other:
                job.rejected.append(f"unknown draft trigger {other!r}")
                return
        if job.text is None:
            job.prompt = build_prompt(settings.persona, TASKS[draft.trigger], post_text, job.passages)

    def generate(self, jobs: Sequence[_Job]) -> str | None:
        """Fill in the model's text for every job that needs it, in one batch. Returns the model
        version, or None when no job needed the model."""
        todo = [j for j in jobs if j.prompt is not None and not j.rejected]
        if not todo:
            return None
        generator = self.generator
        texts = generator.generate(
            [j.prompt for j in todo if j.prompt is not None], self.cfg.max_new_tokens, self.cfg.timeout_seconds
        )
        for job, text in zip(todo, texts, strict=True):
            job.text = fit(text.strip(), job.suffix, job.draft.post.platform)
        return generator.version

    def gate(
        self, jobs: Sequence[_Job], scores: Sequence[dict[str, float]], model_version: str | None
    ) -> list[DraftOutcome]:
        out = []
        for job, draft_scores in zip(jobs, scores, strict=True):
            citations = tuple(dict.fromkeys(u for p in job.passages for u in p.urls))
            if job.rejected:
                out.append(unwritten(DraftStatus.REJECTED, job.rejected, citations))
                continue
            text = job.text or ""
            prompt = job.prompt or Prompt((), "", frozenset(citations))
            sources = [job.draft.post.text, *(p.text for p in job.passages)]
            result = check_draft(text, job.draft.post.platform, prompt, draft_scores, self.cfg.gate_threshold, sources)
            out.append(
                DraftOutcome(
                    DraftStatus.PROPOSED if result.passed else DraftStatus.REJECTED,
                    text,
                    text,
                    result.reasons,
                    citations,
                    {k: round(v, 4) for k, v in draft_scores.items()},
                    model_version if job.prompt is not None else "template",
                    PROMPT_VERSION,
                )
            )
        return out


def unwritten(
    status: Literal[DraftStatus.REJECTED, DraftStatus.FAILED], reasons: Sequence[str], citations: tuple[str, ...] = ()
) -> DraftOutcome:
    return DraftOutcome(status, None, None, tuple(reasons), citations, {}, None, PROMPT_VERSION)


def build_writer(
    cfg: ReplyConfig,
    data_dir: Path,
    store: Store,
    embedder: Embedding | None,
    generator: GeneratorFactory = local_generator,
) -> DraftWriter:
    """The writer with the configured model (loaded on first draft, in the worker thread) and the
    knowledge folders indexed with the shared embedding (loaded here if no scorer needed it)."""
    shared: list[Embedding] = [embedder] if embedder is not None else []

    def embedding() -> Embedding:
        if not shared:
            from model.embedding import Embedder

            shared.append(Embedder())
        return shared[0]

    return DraftWriter(
        cfg,
        lambda: generator(cfg, data_dir / "models"),
        lambda folder: KnowledgeBase.from_folder(folder, embedding()),
        store.fact_check,
    )
