"""`talkies track` (face tracking of a photo or video to curves) and `talkies faces` (list a photo's faces).

The face bundles come from --bundle-dir (default $TALKIES_HOME/bundles). When some are missing and the
export extra is installed, they are built once (:func:`talkies.bundles.ensure_face_bundles`).
"""

from __future__ import annotations

from pathlib import Path

import click

from talkies.cli import cli
from talkies.cli.options import OneOf, backend_option, bundle_dir_option, output_option, precision_option
from talkies.io import check_writable, write_text_atomic

from talkies.runtime.formats import ANIMATION_FORMATS

TRACK_FORMATS = ("json", "arkit", "livelink", *ANIMATION_FORMATS)


def head_options(func):
    """--with-head and --apply-to: what a glb/gltf animation plays on. Shared with `talkies lipsync`."""
    func = click.option("--apply-to", type=click.Path(path_type=Path), default=None,
                        help="glb: write a copy of this avatar GLB with the animation on its ARKit-named "
                             "morph targets.")(func)
    return click.option("--with-head", is_flag=True,
                        help="glb/gltf: include a face mesh with the 52 ARKit morph targets (tracking a "
                             "photo: that face, textured with the photo).")(func)


def head_kwargs(fmt: str, with_head: bool, apply_to: Path | None) -> dict:
    from talkies.errors import InputError

    if (with_head or apply_to is not None) and fmt not in ("glb", "gltf"):
        raise InputError(f"--with-head and --apply-to go with --format glb (or gltf), not {fmt}")
    if with_head and apply_to is not None:
        raise InputError("give --with-head or --apply-to, not both")
    if apply_to is not None:
        from talkies.runtime.gltf_anim import check_avatar

        check_avatar(apply_to)  # a corrupt avatar, or one without ARKit names, fails before any work
        return {"apply_to": apply_to}
    return {"with_head": True} if with_head else {}


def model_options(func):
    """--backend, --precision, --bundle-dir: shared by the face commands."""
    func = bundle_dir_option("Folder of the face bundles [default: $TALKIES_HOME/bundles].")(func)
    func = precision_option(help="Precision of the face bundles.")(func)
    return backend_option(extra=("auto", "mediapipe"),
                          help="Inference backend; mediapipe: the original .tflite files in LiteRT; auto: the "
                               "fastest installed and verified choice within the accuracy budget (`talkies doctor`)."
                          )(func)


def _models(backend: str, precision: str, bundle_dir: Path | None):
    from talkies.bundles import face_models

    return face_models(backend, precision, bundle_dir)


def _check_input(path: Path) -> bool:
    """True for a photo, False for a video; InputError for anything unreadable, before any work."""
    from talkies.runtime import media

    if media.is_image(path):
        media.read_image(path)
        return True
    media.video_info(path)
    return False


@cli.command("track")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@output_option("Output file (faces after the first go to NAME.face<ID>.EXT for the curve formats).")
@click.option("--format", "fmt", type=OneOf(TRACK_FORMATS, "format"), default="json", show_default=True,
              help="json: landmarks, weights, pose per frame and face; arkit: ARKit curve JSON; "
                   "livelink: Live Link Face CSV; gltf/glb, unity, vrma, live2d, godot, moho, papagayo: "
                   "keyed curves for animation tools.")
@head_options
@click.option("--faces", "num_faces", type=click.IntRange(1, 16), default=1, show_default=True,
              help="Most faces to track.")
@model_options
@click.option("--no-smooth", is_flag=True, help="Turn off One-Euro smoothing of landmarks and weights (video).")
@click.option("--calibrate-frames", type=click.IntRange(0, None), default=0, show_default=True,
              help="Use each face's first N frames as its rest pose (video; 0: off).")
def track_command(input_path: Path, output: Path, fmt: str, num_faces: int, backend: str, precision: str,
                  bundle_dir: Path | None, no_smooth: bool, calibrate_frames: int, with_head: bool,
                  apply_to: Path | None) -> None:
    """Track the faces of a photo or video (anything FFmpeg reads) into curves."""
    from talkies.runtime.face import track_image, track_video

    check_writable(output, inputs=(input_path,))
    kwargs = head_kwargs(fmt, with_head, apply_to)
    is_photo = _check_input(input_path)
    from talkies.runtime.face import FaceTrackerOptions

    options = FaceTrackerOptions(num_faces=num_faces, smoothing=not no_smooth)
    models = _models(backend, precision, bundle_dir)
    try:
        if is_photo:
            motions = track_image(input_path, options, models=models).motions()
        else:
            motions = track_video(input_path, options, models=models, calibrate_frames=calibrate_frames,
                                  keep_landmarks=fmt == "json")
    finally:
        models.close()
    if fmt == "json":
        from talkies.runtime.formats import tracking_json

        written = [write_text_atomic(output, tracking_json(motions, source=input_path.name))]
    else:
        from talkies.runtime.formats import write_curves
        from talkies.runtime.talking_head import with_photo_heads

        heads = with_photo_heads(input_path, motions, kwargs) if is_photo else [kwargs] * len(motions)
        written = [write_curves(m, _face_path(output, m.face_id), fmt, **head) for m, head in zip(motions, heads)]
    for path in written:
        click.echo(str(path))


def _face_path(output: Path, face_id: int) -> Path:
    return output if face_id == 0 else output.with_name(f"{output.stem}.face{face_id}{output.suffix}")


@cli.command("faces")
@click.argument("photo", type=click.Path(path_type=Path))
@model_options
def faces_command(photo: Path, backend: str, precision: str, bundle_dir: Path | None) -> None:
    """List the faces of a photo: box, size and detector score."""
    from talkies.errors import NoFaceError
    from talkies.runtime.face import FaceTracker

    models = _models(backend, precision, bundle_dir)
    try:
        with FaceTracker(models=models) as tracker:
            detections = tracker.detect_faces(photo)  # in the photo's own pixels, however large
    finally:
        models.close()
    if not detections:
        raise NoFaceError(f"no face found in {photo}; give a photo with a visible, roughly frontal face")
    for i, det in enumerate(detections):
        x0, y0, x1, y1 = (float(v) for v in det.box)
        click.echo(f"face {i}: box {x0:.0f},{y0:.0f},{x1:.0f},{y1:.0f}  size {x1 - x0:.0f}x{y1 - y0:.0f} px  "
                   f"score {det.score:.3f}")
