"""What the answers to a fetcher thread's current task say besides their bodies (the cookies they
set, the hosts that ask for https only), noted by a response hook of the node's session: every
answer, redirects and errors included, whichever part of the node asked for it."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

import requests


class TaskNotes:
    """Notes, for each fetcher thread, up to `limit` entries that `read` finds in its current
    task's answers; a subclass says what to read."""

    limit = 0

    def __init__(self) -> None:
        self._local = threading.local()

    def watch(self, session: requests.Session) -> None:
        session.hooks["response"].append(self._note)

    def start(self) -> None:
        self._local.entries = []

    def taken(self) -> list[list[Any]]:
        """The entries noted since start(), once."""
        entries = getattr(self._local, "entries", None) or []
        self._local.entries = None
        return entries

    def read(self, response: requests.Response) -> Iterable[list[Any]]:
        raise NotImplementedError

    def _note(self, response: requests.Response, **_kwargs: Any) -> None:
        noted = getattr(self._local, "entries", None)
        if noted is None:  # a request outside a task: nobody to tell
            return
        for entry in self.read(response):
            if len(noted) >= self.limit:
                return
            if entry not in noted:
                noted.append(entry)
