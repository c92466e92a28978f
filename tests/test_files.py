"""files.write_whole: every file the library and the app write is written whole or not at
all, and an error names the file asked for, not the temporary one."""

import os
from pathlib import Path

import numpy as np
import pytest

from microgradrnn import Tensor, nn, viz
from microgradrnn.files import write_whole


def test_writes_bytes_and_text_and_replaces_a_file(tmp_path):
    p = tmp_path / "a.txt"
    assert write_whole(p, "é\n") == p
    assert p.read_bytes() == "é\n".encode()
    write_whole(str(p), b"\x00\x01")
    assert p.read_bytes() == b"\x00\x01"
    assert os.listdir(tmp_path) == ["a.txt"]  # no temporary file left


def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(tmp_path, monkeypatch):
    p = tmp_path / "picture.svg"
    p.write_text("the old picture")
    real = Path.write_bytes

    def half(self, data):  # the disk fills up half way through
        real(self, data[: len(data) // 2])
        raise OSError(28, "No space left on device", str(self))

    monkeypatch.setattr(Path, "write_bytes", half)
    with pytest.raises(OSError, match="No space left on device") as e:
        write_whole(p, "the new picture, " * 100)
    assert e.value.filename == str(p)  # the file asked for, not the temporary one
    assert p.read_text() == "the old picture"
    assert sorted(os.listdir(tmp_path)) == ["picture.svg"]


def test_a_missing_folder_or_a_folder_in_the_way_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such folder") as e:
        write_whole(tmp_path / "nowhere" / "a.dot", "digraph {}")
    assert e.value.filename == str(tmp_path / "nowhere")
    (tmp_path / "a.svg").mkdir()
    with pytest.raises(IsADirectoryError, match="is a directory") as e:
        write_whole(tmp_path / "a.svg", "<svg/>")
    assert e.value.filename == str(tmp_path / "a.svg")
    assert os.listdir(tmp_path) == ["a.svg"]


def test_render_and_save_go_through_it(tmp_path, monkeypatch):
    """Picture.render and Module.save keep an existing file when the rename fails."""
    x = Tensor(np.ones((1, 2)), requires_grad=True, label="x")
    loss = (x * 2.0).sum()
    loss.backward(record_flow=True)
    pic = viz.draw_ops(loss)
    out, model_file = tmp_path / "g.dot", tmp_path / "model.npz"
    out.write_text("old")
    model_file.write_bytes(b"old")

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied", str(dst))

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError):
        pic.render(out)
    with pytest.raises(PermissionError):
        nn.Linear(2, 1, rng=0).save(model_file)
    assert out.read_text() == "old" and model_file.read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["g.dot", "model.npz"]
