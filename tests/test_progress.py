from microgradrnn.progress import Progress


def test_progress_is_silent_off_a_terminal(capsys):
    bar = Progress(5, "train")  # pytest captures stderr: not a terminal
    seen = []
    for i in bar:
        bar.show(loss=1.0 / (i + 1))
        seen.append(i)
    assert seen == [0, 1, 2, 3, 4]
    assert capsys.readouterr().err == ""


def test_plain_bar_draws_when_enabled(capsys, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_tqdm(name, *args, **kwargs):
        if name == "tqdm":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    bar = Progress(2, "train", enabled=True)
    for _ in bar:
        bar.show(loss=0.5)
    err = capsys.readouterr().err
    assert "2/2" in err and "loss 0.5" in err
