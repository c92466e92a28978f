"""Writing a file whole or not at all, for every file the library and the app write.

The bytes go to a temporary file beside the target, which is then renamed over it (one
step, on POSIX and on Windows): a write that fails (a full disk, a killed process) leaves
no half-written file, and an existing file as it was. Imports nothing of the package.
"""

from __future__ import annotations

import os
from pathlib import Path


def check_target(path: Path, where: str = "", dir_hint: str = "") -> None:
    """Refuse a target that is a folder, or lies in a missing one, naming it; ``where``
    prefixes the message ("render: "), ``dir_hint`` follows "is a directory"."""
    if path.is_dir():
        raise IsADirectoryError(21, f"{where}is a directory{dir_hint}", str(path))
    if not path.parent.is_dir():
        raise FileNotFoundError(2, f"{where}no such folder", str(path.parent))


def write_whole(path: str | os.PathLike, data: bytes | str, encoding: str = "utf-8") -> Path:
    """Write ``data`` (bytes, or text in ``encoding``) to exactly ``path``, replacing it.
    An error names ``path`` (or its missing folder), not the temporary file. Returns the
    path written."""
    path = Path(path)
    check_target(path)
    raw = data.encode(encoding) if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        tmp.write_bytes(raw)
        os.replace(tmp, path)
    except OSError as e:
        raise type(e)(e.errno, e.strerror, str(path)) from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
