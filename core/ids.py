"""Public ids: a short prefix naming the kind of object and 128 random bits."""
from __future__ import annotations

import secrets


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"
