# SPDX-License-Identifier: LGPL-2.1-or-later
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol, final

__all__ = [
    "LogSink",
    "Subscription",
    "deny",
    "flush",
    "libsysfast_version",
    "listening",
    "log",
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

class _HasFileno(Protocol):
    def fileno(self) -> int: ...

@final
class LogSink:
    @property
    def closed(self) -> bool: ...
    @property
    def events(self) -> tuple[str, ...] | None: ...
    def close(self) -> None: ...

def log(
    target: str | bytes | os.PathLike[str] | os.PathLike[bytes] | int | _HasFileno,
    events: Events | None = None,
    *,
    args: bool | Mapping[str, bool | Sequence[int]] = True,
    rate_limit: tuple[int, float] | None = None,
) -> LogSink: ...
def flush() -> None: ...
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
