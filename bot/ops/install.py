"""`modbot service install`: the systemd unit (from deploy/, with this checkout's paths), a config
skeleton and a secrets file, written under a root (/ by default; a staging folder for packagers).
Existing config and secrets are never overwritten; the unit is, so an upgrade refreshes it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
CHECKOUT = "/opt/modbot"

CONFIG_SKELETON = """\
# modbot configuration: every key with its default is in config.example.toml of the checkout,
# the reference is docs/configuration.md. Check with: modbot config check {path}
[policy]
shadow = true            # start by deciding and logging only; set false once the queue looks right

[web]
enabled = true           # the review dashboard on 127.0.0.1:8765 (put a TLS proxy in front)
"""

ENV_SKELETON = """\
# Secrets for modbot (read by systemd as EnvironmentFile; keep this file mode 0600).
# MODBOT_DATABASE_URL=postgresql+psycopg://modbot:PASSWORD@127.0.0.1:5432/modbot
# MODBOT_DISCORD_TOKEN=
# MODBOT_BLUESKY_APP_PASSWORD=
"""


@dataclass(frozen=True, slots=True)
class Planned:
    path: Path
    content: str
    mode: int
    overwrite: bool

    def describe(self, exists: bool) -> str:
        if exists and not self.overwrite:
            return f"keep   {self.path} (exists)"
        return f"{'update' if exists else 'write '} {self.path} (mode {self.mode:o})"


def plan(root: Path, executable: Path, instance: str | None = None) -> list[Planned]:
    """What `service install` writes. `instance`: the template unit and that instance's files."""
    template = DEPLOY / ("modbot@.service" if instance else "modbot.service")
    if not template.is_file():
        raise FileNotFoundError(f"{template} is missing: run `modbot service install` from a checkout of modbot")
    checkout = executable.resolve().parent.parent.parent  # <checkout>/.venv/bin/modbot
    unit = template.read_text(encoding="utf-8")
    unit = unit.replace(f"{CHECKOUT}/.venv/bin/modbot", str(executable)).replace(CHECKOUT, str(checkout))
    name = f"{instance}" if instance else "modbot"
    etc = root / "etc" / "modbot"
    config = etc / f"{name}.toml"
    return [
        Planned(root / "etc/systemd/system" / template.name, unit, 0o644, True),
        Planned(config, CONFIG_SKELETON.format(path=Path("/") / config.relative_to(root)), 0o640, False),
        Planned(etc / (f"{instance}.env" if instance else "env"), ENV_SKELETON, 0o600, False),
    ]


def apply(planned: list[Planned]) -> list[str]:
    lines = []
    for item in planned:
        exists = item.path.exists()
        lines.append(item.describe(exists))
        if exists and not item.overwrite:
            continue
        item.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = item.path.with_name(item.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, item.mode)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(item.content)
        os.chmod(tmp, item.mode)
        os.replace(tmp, item.path)
    return lines


def next_steps(instance: str | None) -> list[str]:
    unit = f"modbot@{instance}" if instance else "modbot"
    return [
        "id modbot || useradd --system --home /var/lib/modbot --shell /usr/sbin/nologin modbot",
        "chgrp modbot /etc/modbot/*.toml /etc/modbot/*env* && chmod g+r /etc/modbot/*.toml",
        "systemctl daemon-reload",
        f"systemctl enable --now {unit}",
        f"journalctl -u {unit} -f",
    ]
