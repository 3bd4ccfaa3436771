"""A scripted Picqer behind ``httpx.MockTransport``: queue answers, then read the requests sent."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.picqer.client import PicqerClient

BASE_URL = "https://example.picqer.com/api/v1/"
API_KEY = "test-api-key-0123456789"
DATA_DIR = Path(__file__).resolve().parent / "data"


def doc_example(name: str) -> dict[str, Any]:
    """One example (``request``/``response``) copied from Picqer's Orders doc."""
    examples = json.loads((DATA_DIR / "orders_doc_examples.json").read_text())["examples"]
    return dict(examples[name])


class FakePicqer:
    """Answers requests from a queue (default: ``200 []``) and keeps every request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self._answers: deque[httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]] = deque()

    def answer(
        self,
        status: int = 200,
        json: Any = None,
        *,
        headers: dict[str, str] | None = None,
        text: str | None = None,
    ) -> FakePicqer:
        if text is not None:
            self._answers.append(httpx.Response(status, text=text, headers=headers))
        elif status == 204:
            self._answers.append(httpx.Response(204, headers=headers))
        else:
            self._answers.append(httpx.Response(status, json=json, headers=headers))
        return self

    def fail(self, error: Exception) -> FakePicqer:
        self._answers.append(error)
        return self

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self._answers:
            return httpx.Response(200, json=[])
        answer = self._answers.popleft()
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        return answer

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def body(self, index: int = -1) -> Any:
        content = self.requests[index].content
        return json.loads(content) if content else None


@pytest.fixture
def picqer() -> FakePicqer:
    return FakePicqer()


@pytest.fixture
def client(picqer: FakePicqer) -> Iterator[PicqerClient]:
    with PicqerClient(
        BASE_URL, API_KEY, transport=httpx.MockTransport(picqer.handle), rate_limit_wait=7.5
    ) as instance:
        yield instance
