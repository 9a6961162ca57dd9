"""Every read and write the runtime makes, each a short transaction.

The ordering guarantees live here: a post is stored (with its adapter's cursor) before it is
scored, and its decision, case and outbox actions land in one transaction that also moves the post
from pending to decided, so a crash at any point neither loses a post nor decides one twice.
"""

from __future__ import annotations

from bot.storage.api_keys import ApiKeys
from bot.storage.appeals import Appeals
from bot.storage.cases import Cases
from bot.storage.decisions import Decisions
from bot.storage.factchecks import FactChecks
from bot.storage.ingest import Posts
from bot.storage.labels import Labels
from bot.storage.outbox import Outbox
from bot.storage.replays import Replays
from bot.storage.settings import CommunitySettings
from bot.storage.thresholds import Thresholds


class Store(
    Posts, Decisions, Cases, Appeals, Outbox, FactChecks, CommunitySettings, ApiKeys, Replays, Thresholds, Labels
):
    """Every table group's queries on one engine: the runtime holds one Store; each group lives in
    its own module and shares the one transaction helper (bot/storage/base.py)."""
