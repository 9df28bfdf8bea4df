"""Password hashing (argon2id, OWASP parameters) and the password policy."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# OWASP (2024) minimum for argon2id: m=19 MiB, t=2, p=1.
HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
MIN_LENGTH = 12
MAX_LENGTH = 256

# A small list of passwords that are long enough but guessed first (breach corpora's top entries).
COMMON_PASSWORDS = frozenset(p.lower() for p in (
    "123456789012", "1234567890123", "12345678901234", "password1234", "password12345", "password123456",
    "passwordpassword", "qwertyuiop12", "qwertyuiop123", "qwertyuiopasdf", "1q2w3e4r5t6y", "1qaz2wsx3edc",
    "iloveyou1234", "letmein12345", "welcome12345", "administrator", "admin1234567", "changeme1234",
    "trustno11234", "abcdefghijkl", "abc123456789", "aaaaaaaaaaaa", "111111111111", "000000000000",
    "qwerty123456", "monkey123456", "dragon123456", "football1234", "baseball1234", "sunshine1234",
    "superman1234", "princess1234", "starwars1234", "whatever1234", "passw0rd1234", "p@ssw0rd1234",
    "p@ssword1234", "Password123!", "Welcome123!", "correcthorsebatterystaple",
))

_DUMMY_HASH: str | None = None


def _inline(fn, *args):
    return fn(*args)


# How the CPU-heavy hashing runs; the service sets a thread offload (eventlet's tpool) so a hash in
# progress does not stall every other call of the process (argon2 releases the GIL while it works).
_run = _inline


def set_offload(run) -> None:
    global _run
    _run = run or _inline


def hash_password(password: str) -> str:
    return _run(HASHER.hash, password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def verify(password_hash: str, password: str) -> bool:
    return _run(_verify, password_hash, password)


def needs_rehash(password_hash: str) -> bool:
    try:
        return HASHER.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def prepare_dummy() -> None:
    """Make the dummy hash ahead of the first unknown email (so that one is not slower either)."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = HASHER.hash("no such user: a dummy to verify against")


def verify_dummy(password: str) -> bool:
    """Spend the time of a real verification when there is no user, so the answer does not tell."""
    prepare_dummy()
    verify(_DUMMY_HASH, password)
    return False


def policy_errors(password: str, email: str | None = None) -> list[str]:
    """Why the password is refused ([] when acceptable)."""
    errors = []
    if len(password) < MIN_LENGTH:
        errors.append(f"must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        errors.append(f"must be at most {MAX_LENGTH} characters")
    lowered = password.strip().lower()
    if email and (lowered == email.strip().lower() or lowered == email.strip().lower().split("@")[0]):
        errors.append("must not be your email address")
    if lowered in COMMON_PASSWORDS:
        errors.append("is too common; choose another")
    if password and len(set(password)) < 4:
        errors.append("must not repeat a few characters")
    return errors
