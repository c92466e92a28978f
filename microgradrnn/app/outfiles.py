"""Writing output files without clobbering the user's: every file the command line writes
carries a mark, and an existing file without it is only overwritten with --force.

The mark sits where each format allows a comment: an XML comment after the SVG prologue,
a ``//`` line at the top of DOT, a PNG ``tEXt`` chunk after the header, a ``%`` line at the
end of a PDF.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

MARK = "<!-- made by microgradrnn demo -->"  # the demo's SVG mark (older files carry it)
TOKEN = "made by microgradrnn"  # any file whose head (or PDF tail) holds it may be replaced
_PNG_SIG = b"\x89PNG\r\n\x1a\n"


def check_targets(paths: list[Path], force: bool, who: str = "demo",
                  elsewhere: str = "--out DIR to write elsewhere") -> None:
    """Check, before any work, that every path can be written as a file.

    Refuses (even with ``force``) a path that is a directory or lies under a file, and,
    unless forced, a file that microgradrnn did not write. Raises an OSError subclass
    (FileExistsError, IsADirectoryError, NotADirectoryError) with a one-line message
    naming ``who``, the file, and how to write elsewhere.
    """
    for path in paths:
        if path.is_dir():
            raise IsADirectoryError(
                f"{who}: {path} is a directory, not a file; {elsewhere}")
        check_folder(path.parent, who, elsewhere)
        if path.exists() and not force and not _is_ours(path):
            raise FileExistsError(
                f"{who}: {path} exists and was not written by microgradrnn; "
                f"pass --force to overwrite it, or {elsewhere}")


def check_folder(folder: Path, who: str, elsewhere: str) -> None:
    """Check that ``folder`` is, or can be created as, a folder we may write into.

    Raises NotADirectoryError if it (or the nearest part of it that exists) is a file,
    PermissionError if that part cannot be written.
    """
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise NotADirectoryError(
            f"{who}: {existing} is a file, not a folder; {elsewhere}")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise PermissionError(f"{who}: cannot write into {existing} (permission denied); "
                              f"{elsewhere}")


def _is_ours(path: Path) -> bool:
    if path.is_dir():
        return False
    with path.open("rb") as f:
        head = f.read(4000)
        f.seek(0, 2)
        size = f.tell()
        f.seek(max(0, size - 2000))
        tail = f.read()
    token = TOKEN.encode()
    return token in head or (head.startswith(b"%PDF") and token in tail)


def marked_svg(svg: str, mark: str = MARK) -> str:
    """The SVG text with ``mark`` (an XML comment) after the XML prologue."""
    if svg.startswith("<?xml"):
        end = svg.index("?>") + 2
        return svg[:end] + "\n" + mark + svg[end:]
    return mark + "\n" + svg


def marked(data: bytes, fmt: str, who: str) -> bytes:
    """A drawing's bytes (svg, png, dot or pdf) with the mark ``made by microgradrnn who``."""
    text = f"{TOKEN} {who}"
    if fmt == "svg":
        return marked_svg(data.decode("utf-8"), f"<!-- {text} -->").encode("utf-8")
    if fmt == "dot":
        return f"// {text}\n".encode() + data
    if fmt == "png" and data.startswith(_PNG_SIG):
        body = b"Software\x00" + text.encode("latin-1")
        chunk = struct.pack(">I", len(body)) + b"tEXt" + body + struct.pack(
            ">I", zlib.crc32(b"tEXt" + body) & 0xFFFFFFFF)
        end = len(_PNG_SIG) + 8 + struct.unpack(">I", data[8:12])[0] + 4  # after IHDR
        return data[:end] + chunk + data[end:]
    if fmt == "pdf":
        return data + f"\n% {text}\n".encode()
    return data
