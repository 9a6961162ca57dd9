"""Writing a batch of drafts: grounding (the knowledge folder, the fact-check, the rule), a
template or the model, then the gates every draft passes."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, Protocol

from bot.assistant.triggers import RULE_WORDS, TASKS, CommunityReply
from bot.config import ReplyConfig
from bot.storage.drafts import DraftOutcome, DraftView
from bot.storage.records import DraftStatus
from bot.storage.schema import ClaimRow
from bot.storage.store import Store
from model.injection_text import InjectionTextModel
from model.knowledge import Chunk, Embedding, Found, KnowledgeBase, load_answerability
from moderation.answering import Answerability, budget_for, quoted_answer, uncited
from moderation.drafting import (
    PROMPT_VERSION,
    GateResult,
    Passage,
    Prompt,
    build_prompt,
    check_draft,
    fit,
    length_of,
)
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

    return LocalGenerator(
        cfg.model or None, models_dir, cfg.dtype, cfg.threads or None, cfg.device, cfg.runtime, cfg.quantize
    )


class Knowledge(Protocol):
    def search(self, query: str, k: int = 3, files: str | None = None) -> list[Chunk]: ...

    def consult(self, question: str, judge: Answerability, budget: int = 240, k: int = 3) -> Found | None: ...

    @property
    def private(self) -> str: ...


@dataclass
class _Job:
    draft: DraftView
    settings: CommunityReply
    passages: list[Passage] = field(default_factory=list)
    prompt: Prompt | None = None
    text: str | None = None
    suffix: str = ""
    rejected: list[str] = field(default_factory=list)
    abstained: str | None = None
    quoted: str | None = None
    """the knowledge's own answer, proposed when the model's rewording of it is not grounded"""
    private: str = ""

    def texts(self) -> list[str]:
        """What the filter must score: the draft, and the quote it may fall back to."""
        return [t for t in dict.fromkeys((self.text, self.quoted if self.prompt else None)) if t]


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
        self.judge = load_answerability()
        self.injection = InjectionTextModel.load()
        if cfg.answerability is not None:
            self.judge = replace(self.judge, threshold=cfg.answerability)

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
        if uses_model and (score := float(self.injection.predict([post_text])[0])) >= self.cfg.injection_threshold:
            job.rejected.append(f"the post looks like a prompt injection: {self.injection.describe(post_text, score)}")
            return
        job.private = kb.private if kb else ""
        match draft.trigger:
            case "question":
                self._answer(job, kb)
                return
            case "request":
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

    def _answer(self, job: _Job, kb: Knowledge | None) -> None:
        """The knowledge's own sentences when a section answers the question, else an abstention
        with the reason; "rephrased" then asks the model to reword the quote, nothing more."""
        if kb is None:
            job.abstained = "no knowledge folder is set for this community: passed to the moderators"
            return
        post = job.draft.post
        found = kb.consult(post.text, self.judge, budget=budget_for(length_of("", post.platform)[1]))
        if found is None or not self.judge.answers(found.evidence) or not found.quote:
            best = f"the closest section, {found.chunk.source}, scores" if found else "no section; score"
            chance = found.probability if found else 0.0
            job.abstained = (
                f"no knowledge section answers this ({best} {chance:.2f} < {self.judge.threshold:.2f}): "
                "passed to the moderators"
            )
            return
        passage = found.chunk.passage()
        job.passages = [Passage(passage.source, " ".join(found.quote), passage.urls)]
        answer = quoted_answer(found.quote, found.chunk.heading)
        job.suffix = f" {passage.urls[0]}" if passage.urls and uncited(answer, passage.urls) else ""
        job.quoted = fit(answer, job.suffix, post.platform)
        if self.cfg.answers == "quoted":
            job.text, job.suffix = job.quoted, ""
        else:
            job.prompt = build_prompt(job.settings.persona, TASKS["rephrase"], post.text, job.passages)

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
        self, jobs: Sequence[_Job], scored: Mapping[tuple[int, str], dict[str, float]], model_version: str | None
    ) -> list[DraftOutcome]:
        """`scored`: the filter's scores of each (draft id, text) that `_Job.texts` named."""
        out = []
        for job in jobs:
            draft_scores = scored.get((job.draft.id, job.text or ""), {})
            citations = tuple(dict.fromkeys(u for p in job.passages for u in p.urls))
            if job.rejected:
                out.append(unwritten(DraftStatus.REJECTED, job.rejected, citations))
                continue
            if job.abstained is not None:
                out.append(unwritten(DraftStatus.ABSTAINED, [job.abstained], citations))
                continue
            text = job.text or ""
            by_model = job.prompt is not None
            result = self._check(job, text, draft_scores, citations, by_model)
            status: Literal[DraftStatus.PROPOSED, DraftStatus.REJECTED] = (
                DraftStatus.PROPOSED if result.passed else DraftStatus.REJECTED
            )
            final, reasons = text, result.reasons
            version = model_version if by_model else "quoted" if job.quoted else "template"
            if not result.passed and job.quoted is not None and by_model:
                quote_scores = scored.get((job.draft.id, job.quoted), {})
                fallback = self._check(job, job.quoted, quote_scores, citations, False)
                if fallback.passed:  # the model's wording failed; the knowledge's own still answers
                    status, final, version = DraftStatus.PROPOSED, job.quoted, "quoted"
                    reasons = ("the model's rewording was set aside, the quote is proposed:", *result.reasons)
            out.append(
                DraftOutcome(
                    status,
                    final,
                    text,
                    reasons,
                    citations,
                    {k: round(v, 4) for k, v in scored.get((job.draft.id, final), draft_scores).items()},
                    version,
                    PROMPT_VERSION,
                )
            )
        return out

    def _check(
        self, job: _Job, text: str, scores: dict[str, float], citations: tuple[str, ...], by_model: bool
    ) -> GateResult:
        prompt = job.prompt or Prompt((), "", frozenset(citations))
        sources = [p.text for p in job.passages]
        post = job.draft.post
        return check_draft(
            text,
            post.platform,
            prompt,
            scores,
            self.cfg.gate_threshold,
            sources,
            asked=post.text,
            by_model=by_model,
            private=job.private,
        )


def unwritten(
    status: Literal[DraftStatus.REJECTED, DraftStatus.ABSTAINED, DraftStatus.FAILED],
    reasons: Sequence[str],
    citations: tuple[str, ...] = (),
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
