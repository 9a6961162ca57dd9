"""Domain reputation: the moderators' list parsed strictly, links matched with their subdomains
(also markdown link targets the normaliser drops), and the decision naming domain and reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main
from moderation.domains import DomainListError, DomainReputation
from moderation.types import Author, Post
from tests.conftest import RULES_ONLY_TOML, own_data_dir

LIST = """
# domain               category        reason
free-crypto.example    spam            wallet-drainer giveaways
dailyhoax.example      misinformation  fabricated health stories
"""


def _post(text: str, links: tuple[str, ...] = ()) -> Post:
    return Post("console", "c", "ch", "1", Author("a"), text, datetime.now(UTC), links=links)


def test_listed_domains_and_their_subdomains_are_marked() -> None:
    domains = DomainReputation.parse(LIST)
    hit = domains.check(_post("claim your coins at https://www.FREE-CRYPTO.example/claim!"))
    assert hit.scores["spam"] == 0.95 and hit.scores["misinformation"] == 0.0
    assert hit.notes["spam"] == "links to free-crypto.example, listed as spam: wallet-drainer giveaways"
    markdown = domains.check(_post("read [this](https://news.dailyhoax.example/cure)"))
    assert markdown.scores["misinformation"] == 0.95
    assert domains.check(_post("see", links=("https://dailyhoax.example/x",))).scores["misinformation"] == 0.95
    for clean in ("https://notdailyhoax.example/", "https://dailyhoax.example.org/", "dailyhoax.example"):
        assert domains.check(_post(clean)).scores == {"misinformation": 0.0, "spam": 0.0}, clean


@pytest.mark.parametrize(
    ("line", "problem"),
    [("bad_domain! spam x", "is not a domain name"), ("ok.example rumours x", "category must be one of")],
)
def test_bad_lines_name_the_line(line: str, problem: str) -> None:
    with pytest.raises(DomainListError, match=rf"list.txt:2: .*{problem}"):
        DomainReputation.parse("# header\n" + line, "list.txt")


def test_scan_with_a_domain_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    own_data_dir(monkeypatch, tmp_path)
    listing = tmp_path / "domains.txt"
    listing.write_text(LIST)
    config = tmp_path / "modbot.toml"
    config.write_text(f'[scorers.domains]\nenabled = true\nfile = "{listing}"\n' + RULES_ONLY_TOML)
    feed = tmp_path / "feed.jsonl"
    feed.write_text(json.dumps({"id": "s1", "text": "free coins https://free-crypto.example/win"}) + "\n")
    assert main(["--config", str(config), "scan", str(feed)]) == 0
    out = capsys.readouterr().out
    assert "spam 0.95 ≥ 0.60 (domains) → flag" in out and "free-crypto.example, listed as spam" in out
    listing.write_text("nonsense here\n")
    assert main(["--config", str(config), "scan", str(feed)]) == 1
    assert "domains.txt:1" in capsys.readouterr().err
