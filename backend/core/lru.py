"""A bounded mapping that forgets the least recently stored entry: the per-process caches use it."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any


class LRU(OrderedDict[Any, Any]):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def put(self, key: Any, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        if len(self) > self.size:
            self.popitem(last=False)
