"""Answering questions: FAQ match first, then an OpenAI-compatible endpoint if configured.

Answers are cached in the store (Redis) under a hash of the normalised question, and every
question asked is logged to a capped list the worker reads to pre-warm the most asked ones.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.metrics import CACHE_OPS, ERRORS
from app.models import Faq
from app.store import Store

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


def match_faq(session: Session, question: str) -> Faq | None:
    """Best FAQ by the share of its key terms found in the question (the table is small)."""
    asked = _terms(question)
    if not asked:
        return None
    best, best_score = None, 0.0
    for faq in session.scalars(select(Faq)):
        terms = _terms(faq.question)
        if terms:
            score = len(asked & terms) / len(terms)
            if score > best_score:
                best, best_score = faq, score
    return best if best_score >= 0.5 else None


def ask_llm(settings: Settings, question: str, context: list[Faq]) -> str:
    faq_text = "\n".join(f"Q: {f.question}\nA: {f.answer}" for f in context)
    response = httpx.post(
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


def compute_answer(session: Session, settings: Settings, question: str) -> dict[str, str]:
    faq = match_faq(session, question)
    if faq is not None:
        return {"answer": faq.answer, "source": "faq"}
    if settings.openai_api_key:
        try:
            context = list(session.scalars(select(Faq).limit(20)))
            return {"answer": ask_llm(settings, question, context), "source": "llm"}
        except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError) as exc:
            ERRORS.labels("llm").inc()
            log.warning("llm request failed, falling back", extra={"error": type(exc).__name__})
    return {"answer": NO_ANSWER, "source": "none"}


def cache_answer(store: Store, settings: Settings, question: str, result: dict[str, str]) -> None:
    ttl = settings.cache_ttl_seconds if result["source"] != "none" else NO_ANSWER_TTL_SECONDS
    store.set(cache_key(question), json.dumps(result), ttl)
    CACHE_OPS.labels("set").inc()


def answer(session: Session, store: Store, settings: Settings, question: str) -> dict[str, object]:
    store.push_recent(RECENT_QUESTIONS_KEY, normalize(question))
    cached = store.get(cache_key(question))
    if cached is not None:
        CACHE_OPS.labels("hit").inc()
        return {**json.loads(cached), "cached": True}
    CACHE_OPS.labels("miss").inc()
    result = compute_answer(session, settings, question)
    cache_answer(store, settings, question, result)
    return {**result, "cached": False}
