"""systemd's notify protocol, without a library: a datagram to $NOTIFY_SOCKET. `Type=notify` units
learn that modbot is ready (after migrations, models and adapters started), that it is stopping
(draining), and, with `WatchdogSec=`, that its event loop still turns: the watchdog ping comes
from a task on that loop, so a loop stuck in a blocking call stops pinging and systemd restarts it.
Outside systemd (no $NOTIFY_SOCKET) every call does nothing."""

from __future__ import annotations

import asyncio
import logging
import os
import socket

log = logging.getLogger(__name__)


def notify(*fields: str) -> bool:
    """Send `READY=1`, `STOPPING=1`, `WATCHDOG=1`, `STATUS=...`; False when not under systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # abstract namespace
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall("\n".join(fields).encode())
    except OSError as exc:
        log.warning("could not notify systemd at %s: %s", os.environ.get("NOTIFY_SOCKET"), exc)
        return False
    return True


def watchdog_interval() -> float | None:
    """Half the unit's WatchdogSec (systemd's advice), or None when no watchdog is asked for us."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return max(int(usec) / 1_000_000 / 2, 0.1)
    except ValueError:
        return None


async def watchdog(interval: float) -> None:
    """Ping until cancelled."""
    while True:
        notify("WATCHDOG=1")
        await asyncio.sleep(interval)
