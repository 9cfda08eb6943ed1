"""`python -m talkies.demo` (run by `make demo`): Grace Hopper says a sentence, written to demo.mp4.

The photo is matplotlib's sample `grace_hopper.jpg` (public domain); the voice is Kokoro's af_heart
(fetched by `make models`), whose phone durations drive the mouth. Prints the video's path (and its subtitles') and the timing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

SENTENCE = ("Hello, I am Grace Hopper. In nineteen fifty two I wrote one of the first compilers, "
            "and people said computers could only do arithmetic.")


def grace_hopper() -> Path:
    import matplotlib.cbook as cbook

    return Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m talkies.demo", description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default="demo.mp4", help="where to write the video [demo.mp4]")
    parser.add_argument("--text", default=SENTENCE, help="what Grace Hopper says")
    parser.add_argument("--voice", default="af_heart", help="voice, see `talkies voices` [af_heart]")
    args = parser.parse_args(argv)

    from talkies.bundles import face_models
    from talkies.runtime.talking_photo import animate_text
    from talkies.errors import TalkiesError
    from talkies.log import configure_logging
    from talkies.runtime.animator import PhotoAnimatorOptions

    configure_logging(0)
    t0 = time.perf_counter()
    try:
        models = face_models("auto")
        report = animate_text(grace_hopper(), args.text, args.output, PhotoAnimatorOptions(fps=25),
                              voice=args.voice, rate=160, models=models)
    except TalkiesError as exc:
        print(f"talkies demo: error: {exc}", file=sys.stderr)
        return 2
    total = time.perf_counter() - t0
    w, h = report.size
    print(Path(report.path).resolve())
    if report.subtitles:
        print(Path(report.subtitles).resolve())
    print(f"{report.frames} frames {w}x{h} at 25 fps = {report.duration:.2f} s of video, "
          f"rendered in {total:.2f} s ({report.frames / total:.0f} frames/s end to end, models from {models.source})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
