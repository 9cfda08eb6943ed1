"""The sample media the tests feed in: the two photos (Grace Hopper from matplotlib, the astronaut from
scikit-image) as files or pixels, WAV files (runtime.media.write_wav), and synthesised speech."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from talkies.runtime.media import write_wav  # noqa: F401 - the tests write their WAVs with it

#: A sentence with p/b/m closures, for the talking-photo tests.
TEXT = "Peter picked a pepper, and Bob may buy a big map."


def grace_hopper_path() -> str:
    import matplotlib.cbook as cbook

    return str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))


def astronaut_path(folder: Path) -> Path:
    import skimage.data
    from PIL import Image

    path = folder / "astronaut.png"
    if not path.exists():
        Image.fromarray(skimage.data.astronaut()).save(path)
    return path


@functools.lru_cache(maxsize=None)
def photo(name: str) -> np.ndarray:
    """grace_hopper (matplotlib sample data, 512×600) or astronaut (scikit-image, 512×512), RGB uint8."""
    if name == "grace_hopper":
        import matplotlib.cbook as cbook
        from PIL import Image

        with Image.open(cbook.get_sample_data("grace_hopper.jpg")) as img:
            return np.asarray(img.convert("RGB")).copy()
    if name == "astronaut":
        import skimage.data

        return np.ascontiguousarray(skimage.data.astronaut())
    raise KeyError(name)



def speech(text: str = TEXT):
    from talkies.runtime import espeak

    return espeak.synthesize(text)


def shared_video(name: str) -> Path | None:
    """One of the real face videos of the shared data (d14, d18, s18: ../shared/data/video/README.md), or
    None where this checkout has no shared data."""
    from talkies.paths import shared_data_dir

    path = shared_data_dir() / "video" / f"{name}.mp4"
    return path if path.is_file() else None


@functools.lru_cache(maxsize=None)
def video_still(name: str) -> np.ndarray | None:
    """The first frame of a shared video (RGB uint8), a portrait of a real person; None without it."""
    from talkies.runtime.media import iter_video

    path = shared_video(name)
    if path is None:
        return None
    for _, frame in iter_video(path):
        return np.ascontiguousarray(frame)
    return None
