"""Password hashing (argon2) and JWT bearer tokens (HS256, signed with SECRET_KEY)."""

from __future__ import annotations

import datetime as dt
import time

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

ALGORITHM = "HS256"
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_token(*, user_id: int, role: str, secret_key: str, expire_minutes: int) -> str:
    now = dt.datetime.now(dt.timezone.utc)
    claims = {"sub": str(user_id), "role": role, "iat": now, "exp": now + dt.timedelta(minutes=expire_minutes)}
    return jwt.encode(claims, secret_key, algorithm=ALGORITHM)


def decode_token(token: str, secret_key: str) -> dict:
    """Raises jwt.PyJWTError on a bad signature, expiry or malformed token."""
    return jwt.decode(token, secret_key, algorithms=[ALGORITHM], options={"require": ["sub", "exp"]})


class TokenVerifier:
    """Verifies bearer tokens, remembering the ones already verified: a signature check costs more
    than the rest of a cached answer. Expiry is still checked on every use."""

    def __init__(self, secret_key: str, max_tokens: int = 10_000) -> None:
        self.secret_key, self.max_tokens = secret_key, max_tokens
        self._verified: dict[str, tuple[int, float]] = {}

    def user_id(self, token: str) -> int | None:
        """The token's user id, or None when it is forged, malformed or expired."""
        known = self._verified.get(token)
        if known is not None:
            if time.time() < known[1]:
                return known[0]
            del self._verified[token]
            return None
        try:
            claims = decode_token(token, self.secret_key)
            user_id, expires = int(claims["sub"]), float(claims["exp"])
        except (jwt.PyJWTError, ValueError, KeyError, TypeError):
            return None
        if len(self._verified) >= self.max_tokens:
            self._verified.clear()
        self._verified[token] = (user_id, expires)
        return user_id
