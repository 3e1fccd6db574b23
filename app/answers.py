"""Answering questions: FAQ match first, then an OpenAI-compatible endpoint if configured.

Answers are cached in the store (Redis) under a hash of the normalised question; the cached
answer is read in the request's one cache round trip (``lookup``). Every question asked and
admitted is logged to a capped list the worker reads to pre-warm the most asked ones: buffered
per process and pushed once a second (``QuestionLog``), so logging costs a request no command.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
from typing import Any

import httpx
from sqlalchemy import select

from app.core.config import Settings
from app.db import Database
from app.metrics import CACHE_OPS, ERRORS
from app.models import Faq
from app.store import Get, Op, PushRecent, Set, Store

log = logging.getLogger("app.answers")

RECENT_QUESTIONS_KEY = "questions:recent"
NO_ANSWER = "Sorry, I don't know the answer to that yet. Your question has been noted."
NO_ANSWER_TTL_SECONDS = 60
_STOPWORDS = frozenset(
    "a an and are can do does how i in is it me my of on or the to what when where which who why with you your".split()
)


def normalize(question: str) -> str:
    return " ".join(re.findall(r"[\w']+", question.lower()))


def cache_key(question: str) -> str:
    return "answer:v1:" + hashlib.sha256(normalize(question).encode()).hexdigest()


def _terms(text: str) -> set[str]:
    return {t for t in re.findall(r"\w+", text.lower()) if t not in _STOPWORDS}


class _Lookup(Get):
    """The cached answer: a dict, or None."""

    async def done(self, replies: list[Any]) -> dict[str, str] | None:
        return None if replies[0] is None else json.loads(replies[0])

    async def fallback(self, store: Store) -> dict[str, str] | None:
        cached = await super().fallback(store)
        return None if cached is None else json.loads(cached)


def lookup(question: str) -> Op:
    return _Lookup(cache_key(question))


class QuestionLog:
    """The questions this process answered, pushed to the worker's capped list once a second."""

    def __init__(self, store: Store, interval: float = 1.0, max_pending: int = 1000) -> None:
        self.store, self.interval, self.max_pending = store, interval, max_pending
        self._pending: list[str] = []

    def record(self, question: str) -> None:
        if len(self._pending) < self.max_pending:  # bounded while Redis is away
            self._pending.append(normalize(question))

    async def flush(self) -> None:
        if self._pending:
            batch, self._pending = self._pending, []
            await self.store.run(PushRecent(RECENT_QUESTIONS_KEY, batch))

    async def run(self) -> None:
        """Flush every interval until cancelled, then once more."""
        try:
            while True:
                await asyncio.sleep(self.interval)
                await self.flush()
        finally:
            with contextlib.suppress(Exception):
                await self.flush()


def match_faq(faqs: list[Faq], question: str) -> Faq | None:
    """Best FAQ by the share of its key terms found in the question (the table is small)."""
    asked = _terms(question)
    if not asked:
        return None
    best, best_score = None, 0.0
    for faq in faqs:
        terms = _terms(faq.question)
        if terms:
            score = len(asked & terms) / len(terms)
            if score > best_score:
                best, best_score = faq, score
    return best if best_score >= 0.5 else None


async def ask_llm(http: httpx.AsyncClient, settings: Settings, question: str, context: list[Faq]) -> str:
    faq_text = "\n".join(f"Q: {f.question}\nA: {f.answer}" for f in context)
    response = await http.post(
        settings.openai_base_url.rstrip("/") + "/chat/completions",
        headers={"Authorization": f"Bearer {settings.openai_api_key}"},
        json={
            "model": settings.openai_model,
            "messages": [
                {"role": "system", "content": "Answer briefly. Known FAQ:\n" + faq_text},
                {"role": "user", "content": question},
            ],
            "max_tokens": 300,
        },
        timeout=settings.openai_timeout_seconds,
    )
    response.raise_for_status()
    return response.json()["choices"][0]["message"]["content"].strip()


async def compute_answer(db: Database, http: httpx.AsyncClient, settings: Settings, question: str) -> dict[str, str]:
    # The connection goes back to the pool before the model is asked: it may take seconds.
    async with db.session() as session:
        faqs = list(await session.scalars(select(Faq).order_by(Faq.id)))
    faq = match_faq(faqs, question)
    if faq is not None:
        return {"answer": faq.answer, "source": "faq"}
    if settings.openai_api_key:
        try:
            return {"answer": await ask_llm(http, settings, question, faqs[:20]), "source": "llm"}
        except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError) as exc:
            ERRORS.labels("llm").inc()
            log.warning("llm request failed, falling back", extra={"error": type(exc).__name__})
    return {"answer": NO_ANSWER, "source": "none"}


def store_answer(settings: Settings, question: str, result: dict[str, str]) -> Op:
    ttl = settings.cache_ttl_seconds if result["source"] != "none" else NO_ANSWER_TTL_SECONDS
    CACHE_OPS.labels("set").inc()
    return Set(cache_key(question), json.dumps(result), ttl)
