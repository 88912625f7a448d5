# SPDX-License-Identifier: LGPL-2.1-or-later
from collections.abc import Callable, Iterable
from typing import Any, final

__all__ = [
    "Subscription",
    "deny",
    "libsysfast_version",
    "listening",
    "seal",
    "stats",
    "subscribe",
]

libsysfast_version: str

Events = str | Iterable[str]
Hook = Callable[[str, tuple[Any, ...]], object]

@final
class Subscription:
    @property
    def closed(self) -> bool: ...
    @property
    def removable(self) -> bool: ...
    @property
    def events(self) -> tuple[str, ...] | None: ...
    def close(self) -> None: ...

def subscribe(
    hook: Hook, events: Events | None = None, *, removable: bool = False
) -> Subscription | None: ...
def deny(
    events: Events,
    exception: type[BaseException] = PermissionError,
    message: str | None = None,
) -> None: ...
def listening(event: str) -> bool: ...
def seal() -> None: ...
def stats() -> dict[str, int]: ...
