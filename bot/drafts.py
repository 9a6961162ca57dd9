"""The reply assistant at run time: which posts get a draft, how a draft is written and gated, and
the worker that does it off the event loop.

Questions and moderators' requests are written by the model, grounded on the community's knowledge
folder. Context replies to misinformation and rule reminders use the community's templates unless
configured otherwise: they state facts about a fact-check or a rule, which a template states
exactly and a small model garbles (measured: the bundled 135M model invented statistics when asked
for a context note). Every draft, templated or not, passes the same gates before anyone sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

from bot.config import Config, ReplyConfig, ReplyTemplates
from bot.metrics import Metrics
from bot.storage.drafts import AUTO_SEND, DraftOutcome, DraftStore, DraftView
from bot.storage.schema import ClaimRow, utcnow
from bot.storage.store import Store
from model.knowledge import Chunk, Embedding, KnowledgeBase
from moderation.actions import DRAFT, ActionSpec
from moderation.decider import Decider
from moderation.drafting import PROMPT_VERSION, Passage, Prompt, build_prompt, check_draft, fit
from moderation.injection import detect
from moderation.links import without_urls
from moderation.types import Author, Decision, Outcome, Post

log = logging.getLogger(__name__)

TASKS = {
    "question": "Answer the member's question in one or two sentences, using only the facts above.",
    "request": "Write a short, friendly reply to the member on behalf of the moderators, using only the facts above.",
    "misinformation": (
        "Write one short, neutral sentence telling readers that fact-checkers rated a similar claim, as stated "
        "above. Add no other facts and blame no one."
    ),
    "rule_reminder": "Write one short, kind sentence reminding the member of the community rule above.",
}
RULE_WORDS = {
    "toxicity": "be respectful kind civil no insults",
    "harassment": "no insults personal attacks harassment be kind",
    "threat": "no threats violence",
    "hate": "no hate speech discrimination identity",
    "profanity": "language profanity swearing",
    "sexual": "no sexual explicit content",
    "spam": "no spam advertising self-promotion links",
    "misinformation": "misinformation sources accuracy",
}


@dataclass(frozen=True, slots=True)
class CommunityReply:
    """[reply] with a community's overrides applied."""

    persona: str
    knowledge_dir: Path | None
    triggers: frozenset[str]
    auto_send: bool
    templates: ReplyTemplates

    @classmethod
    def resolve(cls, cfg: ReplyConfig, community: str) -> CommunityReply:
        o = cfg.communities.get(community)

        def pick(name: str) -> Any:
            value = getattr(o, name) if o is not None else None
            return getattr(cfg, name) if value is None else value

        return cls(
            pick("persona"), pick("knowledge_dir"), frozenset(pick("triggers")), pick("auto_send"), pick("templates")
        )


class DraftTriggers:
    """Which decided posts get a draft: at most one each, the most useful first."""

    def __init__(self, cfg: ReplyConfig) -> None:
        self.cfg = cfg
        self.rule_outcomes = frozenset(Outcome(o) for o in cfg.rule_reminder_outcomes)

    def requests(self, post: Post, decision: Decision) -> list[ActionSpec]:
        triggers = CommunityReply.resolve(self.cfg, post.community).triggers
        if (
            "question" in triggers
            and post.platform_ref.get("asks_bot")
            and decision.outcome in (Outcome.ALLOW, Outcome.LOG)
        ):
            return [ActionSpec(DRAFT, {"trigger": "question"})]
        if "misinformation" in triggers:
            for reason in decision.reasons:
                if (claim := reason.fact_check) is not None:
                    return [ActionSpec(DRAFT, {"trigger": "misinformation", "claim_id": claim})]
        if "rule_reminder" in triggers and decision.outcome in self.rule_outcomes and decision.reasons:
            return [ActionSpec(DRAFT, {"trigger": "rule_reminder", "category": decision.reasons[0].category})]
        return []


class Generator(Protocol):
    """What the writer needs of a language model (model.drafter.LocalGenerator in production)."""

    version: str

    def generate(self, prompts: Sequence[Prompt], max_new_tokens: int, max_seconds: float) -> list[str]: ...


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
                out.append(_unwritten("rejected", job.rejected, citations))
                continue
            text = job.text or ""
            prompt = job.prompt or Prompt((), "", frozenset(citations))
            sources = [job.draft.post.text, *(p.text for p in job.passages)]
            result = check_draft(text, job.draft.post.platform, prompt, draft_scores, self.cfg.gate_threshold, sources)
            out.append(
                DraftOutcome(
                    "proposed" if result.passed else "rejected",
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


Check = Callable[[Sequence[Post]], Awaitable[list[Decision]]]
Db = Callable[..., Awaitable[Any]]


class DraftWorker:
    """Claims queued drafts, writes them in batches in a worker thread, stores the outcome, and
    sends those a community lets go out without review."""

    def __init__(
        self,
        drafts: DraftStore,
        writer: DraftWriter,
        check: Check,
        db: Db,
        cfg: ReplyConfig,
        is_shadow: Callable[[Post], bool],
        on_sent: Callable[[], None] = lambda: None,
        poll_seconds: float = 2.0,
    ) -> None:
        self.drafts = drafts
        self.writer = writer
        self.check = check
        self.db = db
        self.cfg = cfg
        self.is_shadow = is_shadow
        self.on_sent = on_sent
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self.written = 0
        self.metrics: Metrics | None = None

    def wake(self) -> None:
        self._wake.set()

    async def run_until(self, stop: asyncio.Event) -> None:
        requeued = False
        while not stop.is_set():
            try:
                if not requeued:
                    await self.db(self.drafts.requeue_generating)
                    requeued = True
                done = await self.run_once()
            except Exception as exc:  # the database or the model failed: drafts stay queued
                log.error("draft worker paused: %s", exc)
                done = 0
            if done == 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

    async def run_once(self) -> int:
        """Write one batch of queued drafts; returns how many."""
        claimed: list[DraftView] = await self.db(self.drafts.claim, self.cfg.batch_size)
        if not claimed:
            return 0
        started = time.perf_counter()
        try:
            jobs = await asyncio.to_thread(self.writer.prepare, claimed)
            version = await asyncio.to_thread(self.writer.generate, jobs)
            checked = [j for j in jobs if j.text and not j.rejected]
            decisions = await self.check([_as_bot_post(j.draft.post, j.text or "") for j in checked])
            by_id = {j.draft.id: dict(d.scores) for j, d in zip(checked, decisions, strict=True)}
            outcomes = self.writer.gate(jobs, [by_id.get(j.draft.id, {}) for j in jobs], version)
        except Exception as exc:
            log.error("drafting failed for %d drafts: %s", len(claimed), exc)
            failure = _unwritten("failed", [f"{type(exc).__name__}: {exc}"])
            for d in claimed:
                await self.db(self.drafts.finish, d.id, failure)
            return len(claimed)
        for draft, outcome in zip(claimed, outcomes, strict=True):
            await self.db(self.drafts.finish, draft.id, outcome)
            if self.metrics is not None:
                self.metrics.drafts.labels(outcome.status).inc()
            if outcome.status == "proposed":
                await self._maybe_auto_send(draft)
        self.written += len(claimed)
        log.info("wrote %d drafts in %.1f s", len(claimed), time.perf_counter() - started)
        return len(claimed)

    async def _maybe_auto_send(self, draft: DraftView) -> None:
        settings = CommunityReply.resolve(self.cfg, draft.post.community)
        if not settings.auto_send or self.is_shadow(draft.post):
            return
        sent = await self.db(self.drafts.auto_sent_since, draft.post.community, utcnow() - timedelta(hours=1))
        if sent >= self.cfg.auto_send_per_hour:
            log.warning(
                "community %s reached auto_send_per_hour (%d): draft %d waits for a moderator",
                draft.post.community,
                self.cfg.auto_send_per_hour,
                draft.id,
            )
            return
        await self.db(self.drafts.decide, draft.id, "approve", AUTO_SEND, "auto-send", None, None)
        self.on_sent()


def _as_bot_post(post: Post, text: str) -> Post:
    """The draft as a post by the bot, so the filter scores it like any other post."""
    return replace(post, id=f"{post.id}#draft", text=text, author=Author(id="modbot"), links=(), mentions=())


def _unwritten(
    status: Literal["rejected", "failed"], reasons: Sequence[str], citations: tuple[str, ...] = ()
) -> DraftOutcome:
    return DraftOutcome(status, None, None, tuple(reasons), citations, {}, None, PROMPT_VERSION)


def build_writer(cfg: ReplyConfig, data_dir: Path, store: Store, embedder: Embedding | None) -> DraftWriter:
    """The writer with the configured model (loaded on first draft, in the worker thread) and the
    knowledge folders indexed with the shared embedding (loaded here if no scorer needed it)."""
    from model.drafter import LocalGenerator

    shared: list[Embedding] = [embedder] if embedder is not None else []

    def embedding() -> Embedding:
        if not shared:
            from model.embedding import Embedder

            shared.append(Embedder())
        return shared[0]

    return DraftWriter(
        cfg,
        lambda: LocalGenerator(cfg.model or None, data_dir / "models", cfg.dtype, cfg.threads or None, cfg.device),
        lambda folder: KnowledgeBase.from_folder(folder, embedding()),
        store.fact_check,
    )


async def write_queued(config: Config, store: Store, decider: Decider, embedder: Embedding | None) -> int:
    """Write every queued draft now, in this process (`modbot drafts --write`, and tests): the same
    worker the service runs, with `decider` (the configured filter) as the gate and `embedder`
    (the one its scorers share, if any) for the knowledge folders."""

    async def check(posts: Sequence[Post]) -> list[Decision]:
        return [d for d, _ in await asyncio.to_thread(decider.decide, posts, False)]

    async def db(fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.to_thread(fn, *args)

    writer = build_writer(config.reply, config.data.dir, store, embedder)
    worker = DraftWorker(DraftStore(store), writer, check, db, config.reply, lambda p: decider.rules_for(p).shadow)
    await db(worker.drafts.requeue_generating)
    total = 0
    while done := await worker.run_once():
        total += done
    return total
