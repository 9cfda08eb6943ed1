"""`talkies track` (face tracking of a photo or video to curves) and `talkies faces` (list a photo's faces).

The face bundles come from --bundle-dir (default $TALKIES_HOME/bundles). When some are missing and the
export extra is installed, they are built once here (the runtime itself never imports the toolchain).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click
import numpy as np

from talkies.cli import cli
from talkies.errors import BundleError, MissingDependencyError
from talkies.io import atomic_path, check_writable
from talkies.log import get_logger
from talkies.types import Backend, Precision

log = get_logger(__name__)

TRACK_FORMATS = ("json", "arkit", "livelink")
BACKENDS = ("onnx", "openvino", "litert")


def ensure_face_bundles(bundle_dir: str | os.PathLike | None, backend: Backend | str,
                        precision: Precision | str) -> Path:
    """The bundle folder, after building any missing face bundle when the export extra is installed;
    BundleError naming the export command otherwise."""
    from talkies.runtime.face.models import MODEL_NAMES, bundle_name, default_bundle_dir, export_command, \
        missing_bundles

    root = Path(bundle_dir).expanduser() if bundle_dir else default_bundle_dir()
    missing = missing_bundles(root, backend, precision)
    if not missing:
        return root
    command = export_command(backend, precision, root)
    try:
        from talkies.targets.bundle_writer import export_bundle
    except ImportError as exc:
        raise BundleError(f"face bundles {', '.join(missing)} are not in {root}; build them with `{command}` "
                          f"(needs pip install 'talkies[export]': {exc})") from exc
    log.warning("building the face bundles %s in %s (once)", ", ".join(missing), root)
    for model in MODEL_NAMES:
        name = bundle_name(model, backend, precision)
        if name in missing:
            try:
                export_bundle(model, Backend.parse(backend).value, precision, root / name)
            except MissingDependencyError as exc:
                raise BundleError(f"cannot build {name}: {exc}; or build the bundles with `{command}`") from exc
    return root


def model_options(func):
    """--backend, --precision, --bundle-dir: shared by the face commands."""
    func = click.option("--bundle-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                        help="Folder of the face bundles [default: $TALKIES_HOME/bundles].")(func)
    func = click.option("--precision", type=click.Choice([p.value for p in Precision]), default="fp32",
                        show_default=True, help="Precision of the face bundles.")(func)
    func = click.option("--backend", type=click.Choice(BACKENDS), default="onnx", show_default=True,
                        help="Inference backend.")(func)
    return func


def _options(backend: str, precision: str, bundle_dir: Path | None, **kwargs):
    from talkies.runtime.face import FaceTrackerOptions

    root = ensure_face_bundles(bundle_dir, backend, precision)
    return FaceTrackerOptions(backend=backend, precision=precision, bundle_dir=root, **kwargs)


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
@click.option("-o", "--output", "output", type=click.Path(path_type=Path), required=True,
              help="Output file (faces after the first go to NAME.face<ID>.EXT for arkit/livelink).")
@click.option("--format", "fmt", type=click.Choice(TRACK_FORMATS), default="json", show_default=True,
              help="json: landmarks, weights, pose per frame and face; arkit: ARKit curve JSON; "
                   "livelink: Live Link Face CSV.")
@click.option("--faces", "num_faces", type=click.IntRange(1, 16), default=1, show_default=True,
              help="Most faces to track.")
@model_options
@click.option("--no-smooth", is_flag=True, help="Turn off One-Euro smoothing of landmarks and weights (video).")
@click.option("--calibrate-frames", type=click.IntRange(0, None), default=0, show_default=True,
              help="Use each face's first N frames as its rest pose (video; 0: off).")
def track_command(input_path: Path, output: Path, fmt: str, num_faces: int, backend: str, precision: str,
                  bundle_dir: Path | None, no_smooth: bool, calibrate_frames: int) -> None:
    """Track the faces of a photo or video (anything FFmpeg reads) into curves."""
    from talkies.runtime.face import track_image, track_video

    check_writable(output)
    is_photo = _check_input(input_path)
    options = _options(backend, precision, bundle_dir, num_faces=num_faces, smoothing=not no_smooth)
    if is_photo:
        motions = _photo_motions(track_image(input_path, options))
    else:
        motions = track_video(input_path, options, calibrate_frames=calibrate_frames, keep_landmarks=fmt == "json")
    if fmt == "json":
        with atomic_path(output) as tmp:
            tmp.write_text(tracking_json(motions, source=input_path.name), encoding="utf-8")
        written = [output]
    else:
        written = [m.save(_face_path(output, m.face_id), fmt) for m in motions]
    for path in written:
        click.echo(str(path))


def _photo_motions(result) -> list:
    from talkies.runtime.motion import FaceMotion

    return [FaceMotion(np.zeros(1), face.weights[None], face.head_pose[None], fps=30.0, face_id=face.face_id,
                       extras={"landmarks": face.landmarks[None], "image_size": list(result.image_size),
                               "unsupported": ["tongueOut"], "calibration": None})
            for face in result]


def _face_path(output: Path, face_id: int) -> Path:
    return output if face_id == 0 else output.with_name(f"{output.stem}.face{face_id}{output.suffix}")


def tracking_json(motions: list, *, source: str = "") -> str:
    """Per frame and face: tracked flag, 478 landmarks (px), 52 ARKit weights, head pose."""
    from talkies.runtime.blendshapes import ARKIT_NAMES
    from talkies.runtime.motion import POSE_COLUMNS

    first = motions[0]
    frames = []
    for i, t in enumerate(first.timestamps):
        faces = []
        for m in motions:
            face = {"face_id": m.face_id, "tracked": bool(m.tracked[i]),
                    "weights": np.round(m.weights[i].astype(np.float64), 5).tolist(),
                    "head_pose": np.round(m.head_pose[i].astype(np.float64), 5).tolist()}
            if "landmarks" in m.extras:
                face["landmarks"] = np.round(m.extras["landmarks"][i].astype(np.float64), 2).tolist()
            faces.append(face)
        frames.append({"time": round(float(t), 6), "faces": faces})
    data = {"source": source, "fps": first.fps, "image_size": first.extras.get("image_size"),
            "blendshapes": list(ARKIT_NAMES), "unsupported": first.extras.get("unsupported", []),
            "head_pose": list(POSE_COLUMNS), "landmark_units": "image pixels (z at x's scale)",
            "calibration": {str(m.face_id): m.extras.get("calibration") for m in motions},
            "frames": frames}
    return json.dumps(data, separators=(",", ":")) + "\n"


@cli.command("faces")
@click.argument("photo", type=click.Path(path_type=Path))
@model_options
def faces_command(photo: Path, backend: str, precision: str, bundle_dir: Path | None) -> None:
    """List the faces of a photo: box, size and detector score."""
    from talkies.errors import NoFaceError
    from talkies.runtime.face import FaceTracker
    from talkies.runtime.media import read_image

    image = read_image(photo)
    with FaceTracker(_options(backend, precision, bundle_dir)) as tracker:
        detections = tracker.detect_faces(image)
    if not detections:
        raise NoFaceError(f"no face found in {photo}; give a photo with a visible, roughly frontal face")
    for i, det in enumerate(detections):
        x0, y0, x1, y1 = (float(v) for v in det.box)
        click.echo(f"face {i}: box {x0:.0f},{y0:.0f},{x1:.0f},{y1:.0f}  size {x1 - x0:.0f}x{y1 - y0:.0f} px  "
                   f"score {det.score:.3f}")
