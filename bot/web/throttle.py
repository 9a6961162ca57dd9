"""Login throttling that cannot be turned against the people it protects.

An account lock that anyone can trigger locks the admin out for as long as a stranger keeps
guessing. So failures are counted per (name, client address): after `free` failures in a row from
one address, that address waits before its next try on that name, the wait doubling with each
further failure up to `cap`; the same name from another address is untouched, and a success
clears the count. Unknown names are throttled exactly like real ones, so the answer says nothing
about which names exist. The client address is the peer's, or the last hop of X-Forwarded-For
when the peer is a configured proxy (anyone can write that header; only a proxy's is believed).
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

_MAX_TRACKED = 10_000
"""(name, address) pairs remembered at most; the oldest are forgotten first (bounded memory under
a spray of names and addresses)"""


@dataclass(slots=True)
class _Failures:
    count: int
    until: float
    """monotonic time before which this pair may not try again"""


class LoginThrottle:
    def __init__(self, free: int, cap_seconds: float, first_wait: float = 1.0) -> None:
        self.free = free
        self.cap = cap_seconds
        self.first_wait = first_wait
        self._pairs: OrderedDict[tuple[str, str], _Failures] = OrderedDict()

    def wait(self, name: str, address: str, now: float) -> float:
        """Seconds this address must still wait before trying `name` again (0: it may)."""
        held = self._pairs.get((name.casefold(), address))
        return 0.0 if held is None else max(0.0, held.until - now)

    def failed(self, name: str, address: str, now: float) -> float:
        """Count a failure; the wait it starts (0 while still within the free tries)."""
        key = (name.casefold(), address)
        held = self._pairs.pop(key, None) or _Failures(0, now)
        held.count += 1
        over = held.count - self.free
        delay = 0.0 if over < 0 else min(self.cap, self.first_wait * 2.0**over)
        held.until = now + delay
        self._pairs[key] = held
        while len(self._pairs) > _MAX_TRACKED:
            self._pairs.popitem(last=False)
        return delay

    def succeeded(self, name: str, address: str) -> None:
        self._pairs.pop((name.casefold(), address), None)


def client_address(peer: str | None, forwarded_for: str | None, proxies: Sequence[str]) -> str:
    """Who is asking: the peer, unless the peer is one of `proxies` (addresses or networks), in
    which case the address that proxy appended to X-Forwarded-For."""
    if not peer:
        return "?"
    if not forwarded_for or not _within(peer, proxies):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    # walk back from the nearest hop past any other trusted proxies: the first untrusted one is the client
    for hop in reversed(hops):
        if not _within(hop, proxies):
            return hop[:100]
    return hops[0][:100] if hops else peer


def _within(address: str, networks: Sequence[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(n, strict=False) for n in networks)
