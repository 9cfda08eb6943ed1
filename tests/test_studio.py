"""talkies studio without a browser: errors as the CLI's one line, per-job folders, progress and cancel
through the runtime's loops, upload limits when hosted, the CLI flags, and a lazy import of Gradio.
(tests/test_studio_browser.py drives the real page.)"""

from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("gradio", reason="the studio extra: pip install 'talkies[studio]'")

from talkies.errors import InputError, NoFaceError  # noqa: E402
from talkies.studio import common, jobs  # noqa: E402


def test_import_talkies_does_not_load_gradio():
    code = ("import sys, talkies, talkies.cli; talkies.LipSync; import talkies.studio; "
            "assert 'gradio' not in sys.modules, 'gradio imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_errors_are_the_cli_line_without_server_paths():
    import gradio as gr

    with pytest.raises(gr.Error) as caught, jobs.job("t"):
        raise NoFaceError(f"no face found in {jobs.work_root()}/photo-0001-x/wall.png; give a photo with a "
                          "visible, roughly frontal face")
    assert caught.value.message == ("no face found in wall.png; give a photo with a visible, roughly frontal "
                                    "face")
    assert jobs.one_line(InputError("two\nlines")) == "two lines"


def test_a_bug_is_not_turned_into_a_user_error():
    with pytest.raises(ZeroDivisionError), jobs.job("t"):
        1 / 0


def test_each_job_gets_its_own_folder_even_at_once():
    folders = []

    def run():
        with jobs.job("same") as job:
            folders.append(job.folder)
            job.path("out.mp4").write_bytes(b"x")

    threads = [threading.Thread(target=run) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(folders)) == 8 and all(f.parent == jobs.work_root() for f in folders)


def test_progress_and_cancel_reach_the_runtime_loops():
    from talkies.runtime import animator

    seen = []
    with jobs.job("p", progress=lambda value, desc=None, unit=None: seen.append((value, desc))) as job:
        assert list(animator.track(range(3), "rendering")) == [0, 1, 2]
    assert seen == [((0, 3), "rendering"), ((1, 3), "rendering"), ((2, 3), "rendering"), ((3, 3), "rendering")]

    class Request:
        session_hash = "s1"

    with pytest.raises(Exception) as caught, jobs.job("p", request=Request()) as job:
        loop = animator.track(range(100), "rendering")
        next(loop)
        assert jobs.cancel(Request()) == "cancelled"
        list(loop)
    assert "cancelled" in str(caught.value)
    assert job.cancelled.is_set()
    assert jobs.cancel(Request()) == "nothing to cancel"
    # Outside a studio job the runtime's own progress bar runs unchanged.
    assert list(animator.track(range(2), "rendering")) == [0, 1]


def test_uploads_are_checked_only_when_hosted():
    assert common.check_upload("/x/tool.exe", "photo") == "/x/tool.exe"
    common.set_hosted(True)
    try:
        with pytest.raises(InputError, match="a photo must be one of"):
            common.check_upload("/x/tool.exe", "photo")
        assert common.check_upload("/x/me.JPG", "photo") == "/x/me.JPG"
    finally:
        common.set_hosted(False)


def test_numbered_faces_draws_every_box():
    image = np.full((200, 300, 3), 128, np.uint8)
    out = common.numbered_faces(image, [np.array([10, 40, 90, 120]), np.array([150, 40, 250, 150])])
    assert out.shape == image.shape and (out != image).any(axis=2)[40:150, 150:250].any()


def test_the_app_has_five_tabs_and_one_queue_for_heavy_jobs():
    from talkies.studio.app import HEAVY, build_app

    app = build_app()
    labels = [b.label for b in app.blocks.values() if type(b).__name__ == "Tab"]
    assert labels == ["Talking photo", "Dub a video", "Lip-sync curves", "Track a face", "Bundles"]
    heavy = [fn for fn in app.fns.values() if fn.concurrency_id == HEAVY["concurrency_id"]]
    assert len(heavy) == 6 and all(fn.concurrency_limit == 1 for fn in heavy)


def test_cli_host_warns_and_limits(monkeypatch):
    from talkies.cli import cli
    from talkies.studio import app

    calls = {}
    monkeypatch.setattr(app, "launch", lambda **kw: (calls.update(kw) or object(), "http://0.0.0.0:9/"))
    monkeypatch.setattr(app, "serve_forever", lambda a: None)
    result = CliRunner().invoke(cli, ["studio", "--host", "0.0.0.0", "--port", "9", "--no-browser"])
    assert result.exit_code == 0, result.output
    assert "warning: listening on 0.0.0.0" in result.output and "uploads are limited" in result.output
    assert calls == {"host": "0.0.0.0", "port": 9, "open_browser": False, "block": False}
    result = CliRunner().invoke(cli, ["studio"])
    assert "warning" not in result.output and calls["host"] == "127.0.0.1" and calls["open_browser"] is True


def test_a_group_photo_shows_numbered_faces_to_pick(tmp_path):
    from PIL import Image

    from talkies.studio import photo_tab
    from talkies.tests.helpers.media import photo

    grace = photo("grace_hopper")
    group = tmp_path / "group.png"
    Image.fromarray(np.concatenate([grace, grace[:, ::-1]], axis=1)).save(group)
    numbered, picker, note = photo_tab.find_faces(str(group))
    assert picker["choices"] == ["largest", "0", "1"] and note.startswith("2 faces found")
    assert numbered["visible"] and numbered["value"].shape[1] <= 720
    blank = tmp_path / "wall.png"
    Image.fromarray(np.full((200, 300, 3), 90, np.uint8)).save(blank)
    numbered, picker, note = photo_tab.find_faces(str(blank))
    assert picker["choices"] == ["largest"] and "no face found in wall.png" in note
