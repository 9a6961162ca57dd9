from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from bot.cli import main
from bot.config import DEFAULT_THRESHOLDS, Config, ConfigError, load_config
from bot.storage.db import display_url
from moderation.types import Outcome

REPO = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "modbot.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_every_problem_is_reported_once_with_file_key_and_allowed_values(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[pipeline]
batch_size = 0
bach_wait_ms = 3
[policy.thresholds.toxicty]
flag = 0.5
[policy.thresholds.toxicity]
flag = 1.5
[communities.g1]
shadw = true
thresholds = { hate = { flag = 0.8, remove = 0.6 } }
[scorers.detoxify]
model_type = "huge"
""",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    problems = caught.value.problems
    assert len(problems) == 7
    assert all(p.startswith(f"{path}: ") for p in problems)
    text = "\n".join(problems)
    assert "pipeline.batch_size: Input should be greater than or equal to 1 (got 0)" in text
    assert "pipeline.bach_wait_ms: unknown key; allowed keys here: batch_size, batch_wait_ms" in text
    assert "policy.thresholds.toxicty (the key itself): Input should be 'hate', 'harassment'" in text
    assert "policy.thresholds.toxicity.flag: Input should be less than or equal to 1 (got 1.5)" in text
    assert "communities.g1.shadw: unknown key; allowed keys here: channels, exempt_roles" in text
    assert "scorers.detoxify.model_type: Input should be 'original', 'unbiased'" in text
    assert "communities.g1.thresholds.hate: remove (0.6) must not be below flag (0.8)" in text


def test_toml_syntax_and_encoding_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"modbot.toml: not valid TOML: .*line 1"):
        load_config(write(tmp_path, "[pipeline\n"))
    path = tmp_path / "bin.toml"
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")


def _fields(model: type[BaseModel], prefix: str = "") -> set[str]:
    out = set()
    for name, info in model.model_fields.items():
        ann: Any = info.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out |= _fields(ann, f"{prefix}{name}.")
        else:
            out.add(prefix + name)
    return out


def test_example_config_documents_every_key_with_its_default() -> None:
    text = (REPO / "config.example.toml").read_text(encoding="utf-8")
    example = load_config(REPO / "config.example.toml")
    defaults = Config()
    for key in _fields(Config):
        if key in (
            "communities",
            "adapters.discord.guilds",
            "reply.communities",
            "adapters.bluesky.labeler.values",
        ):  # tables keyed by name or id
            assert f"[{key}." in text, f"config.example.toml does not show a [{key}.NAME] table"
            continue
        leaf = key.rsplit(".", 1)[-1]
        documented = f"{leaf} =" in text or f"[{key}]" in text
        assert documented, f"config.example.toml does not document {key}"
    got, want = example.model_dump(), defaults.model_dump()
    got["data"].pop("dir"), want["data"].pop("dir")
    assert got == want
    assert "dir" in tomllib.loads(text)["data"]


def test_community_and_channel_overrides_merge_per_category(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            """
[policy]
exempt_roles = ["mods"]
[policy.thresholds]
profanity = { flag = 0.9 }
harassment = { flag = 0.7 }
[communities.g1]
shadow = true
thresholds = { profanity = { remove = 0.8 } }
[communities.g1.channels.c1]
shadow = false
thresholds = { harassment = { log = 0.2 } }
""",
        )
    )
    policy = config.build_policy()
    assert policy.default.thresholds["profanity"] == {Outcome.FLAG: 0.9}
    # the categories the file leaves out keep their defaults: setting one never switches hate off
    assert policy.default.thresholds["hate"] == {Outcome.FLAG: DEFAULT_THRESHOLDS["hate"]["flag"]}
    g1 = policy.rules_for("g1", "other")
    assert g1.shadow and g1.thresholds["profanity"] == {Outcome.REMOVE: 0.8}
    assert g1.thresholds["harassment"] == {Outcome.FLAG: 0.7}
    c1 = policy.rules_for("g1", "c1")
    assert not c1.shadow and c1.thresholds["harassment"] == {Outcome.LOG: 0.2}
    assert c1.thresholds["profanity"] == {Outcome.REMOVE: 0.8}
    assert c1.exempt_roles == frozenset({"mods"})
    assert len({policy.default.version, g1.version, c1.version}) == 3
    assert policy.rules_for("elsewhere", "x") is policy.default


def test_database_password_comes_from_the_environment_and_is_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODBOT_DATABASE_URL", "postgresql+psycopg://modbot:s3cret@db.internal/modbot")
    url = Config().database_url()
    assert "s3cret" in url
    assert "s3cret" not in display_url(url)


def test_config_check_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check", str(REPO / "config.example.toml")]) == 0
    assert "OK" in capsys.readouterr().out
    bad = write(tmp_path, "[pipeline]\nbatch_size = -1\nnope = 1\n")
    assert main(["config", "check", str(bad)]) == 2
    errors = capsys.readouterr().err
    assert errors.count("config error:") == 2


def test_config_check_shows_the_merged_thresholds_and_warns_of_secrets_in_a_persona(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = (
        "[policy.thresholds]\nhate = { flag = 0.7 }\nprofanity = {}\n"
        '[reply]\npersona = "You are Sprout.\\nThe shed PIN is 4417."\n'
    )
    assert main(["config", "check", str(write(tmp_path, body))]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert "hate: flag 0.7" in shown and "profanity: off" in shown
    assert "threat: flag 0.4" in shown  # a default the file did not name is kept
    assert "warning: [reply] persona looks like it holds a secret (The shed PIN is 4417.)" in shown


@pytest.mark.parametrize(
    ("body", "warned"),
    [
        ("[executor]\nmax_attempts = 5\n", True),  # a config from before the retry window: 15 s
        ("[executor]\nmax_attempts = 100\n", False),  # its waits outlast the hour
        ("", False),
    ],
)
def test_config_check_warns_when_max_attempts_ends_retries_early(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, warned: bool
) -> None:
    assert main(["config", "check", str(write(tmp_path, body))]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    expected = "warning: [executor] max_attempts = 5 gives up on a failing action after about 15 s"
    assert (expected in shown) is warned and ("max_attempts" in shown) is warned


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('[web]\nport = "80"\n', "web.port: Input should be a valid integer (got '80')"),
        ('[policy]\nshadow = "yes"\n', "policy.shadow: Input should be a valid boolean (got 'yes')"),
        ("[pipeline]\nbatch_size = 3.0\n", "pipeline.batch_size: Input should be a valid integer (got 3.0)"),
        ('[data]\ndir = ""\n', "data.dir: an empty path; leave the key out for the default"),
        ('[adapters.console]\nactions_log = " "\n', "adapters.console.actions_log: an empty path"),
        (
            '[database]\nurl = "postgresql://modbot:hunter2@db.example/modbot"\n',
            "database.url: database.url holds a password (postgresql://modbot:***@db.example/modbot)",
        ),
        (  # an unencoded @ in the password: nothing of it may show
            '[database]\nurl = "postgresql://modbot:hun@ter2@db.example/modbot"\n',
            "(postgresql://modbot:***@db.example/modbot)",
        ),
        (
            '[database]\nurl = "postgresql://modbot@db.example:port/modbot"\n',
            "database.url: database.url is not a database URL SQLAlchemy can read",
        ),
    ],
)
def test_careless_values_are_refused_not_coerced(tmp_path: Path, body: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, body))
    text = "\n".join(caught.value.problems)
    assert expected in text
    assert "hunter2" not in text and "ter2" not in text


def test_a_password_in_the_environment_url_is_allowed_and_a_broken_one_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODBOT_DATABASE_URL", "postgresql://modbot:hunter2@db.example/modbot")
    assert Config().database_url().endswith("@db.example/modbot")
    monkeypatch.setenv("MODBOT_DATABASE_URL", "postgresql://modbot:hunter2@db.example:port/modbot")
    with pytest.raises(ConfigError) as caught:
        Config().database_url()
    assert "$MODBOT_DATABASE_URL is not a database URL" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_numbers_may_be_written_as_integers_where_a_float_is_meant(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "[policy.thresholds.hate]\nflag = 1\n[pipeline]\nbatch_wait_ms = 20\n"))
    assert config.policy.thresholds["hate"]["flag"] == 1.0
