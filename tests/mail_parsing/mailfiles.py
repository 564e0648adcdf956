"""Where the shared real-world mail fixtures live (../shared/fixtures/mail next to the checkout)."""
from __future__ import annotations

import os
from pathlib import Path


def fixture_folder() -> Path:
    """Next to the checkout (/work/main -> /work/shared), else under $DESKWRIGHT_SHARED (the
    shared folder, as tests/mail_intake reads it)."""
    beside = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "mail"
    shared = os.environ.get("DESKWRIGHT_SHARED")
    if not beside.is_dir() and shared:
        return Path(shared) / "fixtures" / "mail"
    return beside


def fixture_files() -> list[Path]:
    folder = fixture_folder()
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*")
                  if p.is_file() and "LICENSES" not in p.relative_to(folder).parts and p.name != "MANIFEST.md")


def fixture_ids() -> list[str]:
    folder = fixture_folder()
    return [p.relative_to(folder).as_posix() for p in fixture_files()]


def read(name: str) -> bytes:
    return (fixture_folder() / name).read_bytes()
