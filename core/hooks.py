"""Where a lower layer lets an upper one plug in without importing it
(docs/architecture.md): the upper layer registers a function in its
AppConfig.ready(), and the lower layer calls each, in the order registered."""

from collections.abc import Callable, Iterator
from typing import Any


class Hooks:
    def __init__(self) -> None:
        self._functions: list[Callable[..., Any]] = []

    def register(self, function: Callable[..., Any]) -> Callable[..., Any]:
        """Once each, however often ready() runs."""
        if function not in self._functions:
            self._functions.append(function)
        return function

    def __iter__(self) -> Iterator[Callable[..., Any]]:
        return iter(self._functions)
