"""File storage for uploads and artifacts: keys are relative paths under one root folder."""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import BinaryIO

from core.errors import BadInput


class LocalStorage:
    def __init__(self, root: str) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        p = (self.root / key).resolve()
        if self.root not in p.parents:
            raise BadInput(f"invalid storage key {key!r}", stage="storage")
        return p

    def save(self, key: str, data: bytes | BinaryIO) -> str:
        p = self.path(key)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(p.name + ".part")
        with open(tmp, "wb") as f:
            if isinstance(data, (bytes, bytearray)):
                f.write(data)
            else:
                shutil.copyfileobj(data, f, 1024 * 1024)
        os.replace(tmp, p)  # readers never see a half-written file
        return key

    def read(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self.path(key).exists()

    def size(self, key: str) -> int:
        return self.path(key).stat().st_size

    def delete(self, key: str) -> bool:
        p = self.path(key)
        if p.exists():
            p.unlink()
            return True
        return False
