"""Password hashing (argon2) and JWT bearer tokens (HS256, signed with SECRET_KEY)."""

from __future__ import annotations

import datetime as dt

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
