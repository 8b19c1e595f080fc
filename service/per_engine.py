"""One value per database engine: the in-process caches keep their entries per engine, so
the many apps of a test run (each with its own database) never share them. An entry is made on
first use and goes with its engine."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session

T = TypeVar("T")


class PerEngine(Generic[T]):
    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._by_engine: weakref.WeakKeyDictionary[Engine, T] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def of(self, session: Session) -> T:
        """The value of the engine `session` is bound to (made now if it has none)."""
        engine = session.get_bind()
        engine = getattr(engine, "engine", engine)
        with self._lock:
            value = self._by_engine.get(engine)
            if value is None:
                value = self._by_engine[engine] = self._make()
            return value
