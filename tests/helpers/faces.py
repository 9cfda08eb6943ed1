"""Shared helpers of the face tests: MediaPipe's reference output on the two sample photos, the face
models and bundles, and a synthetic clip made from a photo (the photos themselves: helpers.media).

MEDIAPIPE holds MediaPipe's own FaceLandmarker output (mediapipe 1.2.2, IMAGE mode, the same
face_landmarker.task) on the two photos: 13 landmarks in image pixels, the 52 blend-shape scores and the
top 3 rows of the facial transformation matrix (cm).
"""

from __future__ import annotations

import atexit
import functools
import math
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from talkies.kernels.config import JIT_DISABLED
from talkies.runtime.face.sessions import FaceModels, default_bundle_dir, missing_bundles
from talkies.runtime.session import backend_available
from talkies.tests.helpers.media import photo

MEDIAPIPE = {
    "grace_hopper": {
        "landmarks": {1: (266.75, 246.66), 10: (261.13, 133.43), 13: (266.63, 279.34), 14: (266.70, 279.48),
                      33: (207.24, 193.53), 61: (234.04, 279.40), 133: (240.51, 195.75), 152: (270.20, 334.63),
                      263: (321.99, 186.68), 291: (302.51, 276.75), 362: (288.90, 192.75),
                      468: (222.96, 192.22), 473: (306.46, 187.26)},
        "scores": [0.0, 0.0116, 0.0151, 0.0367, 0.1128, 0.0719, 0.0, 0.0, 0.0, 0.0548, 0.059, 0.0701, 0.069,
                   0.0213, 0.1529, 0.1546, 0.0203, 0.155, 0.1431, 0.5905, 0.6453, 0.0093, 0.0091, 0.0, 0.0005,
                   0.0031, 0.0, 0.0007, 0.005, 0.0132, 0.012, 0.0094, 0.0001, 0.0001, 0.0003, 0.0003, 0.1688,
                   0.1259, 0.0004, 0.0053, 0.0192, 0.0054, 0.0937, 0.0092, 0.007, 0.0052, 0.0182, 0.0039,
                   0.0002, 0.0004, 0.0, 0.0],
        "matrix": [[0.99853, -0.0535, 0.00874, 0.74293], [0.05413, 0.99298, -0.10518, 6.29834],
                   [-0.00305, 0.1055, 0.99442, -42.56403]],
    },
    "astronaut": {
        "landmarks": {1: (223.53, 131.06), 10: (226.03, 72.24), 13: (223.29, 143.16), 14: (222.99, 149.20),
                      33: (195.28, 100.58), 61: (202.28, 139.17), 133: (213.59, 103.62), 152: (221.43, 177.42),
                      263: (255.32, 103.79), 291: (244.49, 140.55), 362: (236.41, 104.92),
                      468: (203.47, 101.12), 473: (246.03, 103.52)},
        "scores": [0.0, 0.0281, 0.0337, 0.022, 0.1182, 0.0983, 0.0006, 0.0, 0.0, 0.0402, 0.0267, 0.1462, 0.1376,
                   0.0609, 0.0645, 0.0644, 0.0641, 0.0748, 0.0723, 0.3497, 0.2708, 0.0213, 0.0414, 0.0012,
                   0.0006, 0.0128, 0.0002, 0.0005, 0.027, 0.0214, 0.0, 0.0, 0.0044, 0.0023, 0.0606, 0.1392,
                   0.1056, 0.1754, 0.0029, 0.0004, 0.0041, 0.0309, 0.0045, 0.0234, 0.8992, 0.9043, 0.007,
                   0.0241, 0.4681, 0.4741, 0.0, 0.0],
        "matrix": [[0.99808, 0.0618, -0.00481, -5.01267], [-0.06096, 0.96437, -0.25745, 22.73384],
                   [-0.01127, 0.25725, 0.96628, -70.0467]],
    },
}
PHOTOS = tuple(MEDIAPIPE)

#: The full pipeline crops 256² frames: minutes per test in pure Python, so only the small cases run
#: under NUMBA_DISABLE_JIT=1.
needs_jit = pytest.mark.skipif(JIT_DISABLED, reason="full-pipeline test: needs compiled kernels "
                                                     "(NUMBA_DISABLE_JIT=1 runs the small cases only)")



@functools.lru_cache(maxsize=1)
def _mediapipe_models() -> FaceModels | None:
    from talkies.errors import AssetError

    try:
        return FaceModels.from_mediapipe()
    except AssetError:
        return None


def mediapipe_models() -> FaceModels:
    """The original MediaPipe .tflite models in LiteRT (skip when `talkies models fetch` never ran)."""
    models = _mediapipe_models()
    if models is None:
        pytest.skip("MediaPipe face models are not cached; run `talkies models fetch`")
    return models


@functools.lru_cache(maxsize=1)
def _bundle_dir() -> Path | None:
    if not missing_bundles(None, "onnx", "fp32"):
        return default_bundle_dir()
    try:
        from talkies.targets.bundle_writer import export_bundle
    except ImportError:
        return None
    if _mediapipe_models() is None:
        return None
    root = Path(tempfile.mkdtemp(prefix="talkies-face-bundles-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    for model in ("face_detector", "face_landmarks", "face_blendshapes"):
        export_bundle(model, "onnx", "fp32", root / f"{model}-onnx-fp32")
    return root


def bundle_dir() -> Path:
    """A folder with the fp32 face bundles: $TALKIES_HOME/bundles when it has the ONNX ones, else ONNX
    bundles built once per test session (skip when neither is possible)."""
    root = _bundle_dir()
    if root is None:
        pytest.skip("no ONNX face bundles and the export extra is not installed")
    return root


def bundle_backends() -> list[str]:
    """Backends whose three fp32 face bundles are in bundle_dir() and can run here."""
    root = bundle_dir()
    return [b for b in ("onnx", "openvino", "litert")
            if not missing_bundles(root, b, "fp32") and backend_available(b) is None]


# --- a clip made from a real photo: pans, zooms and rotations ---------------------------------------


@dataclass(frozen=True)
class Clip:
    path: Path
    fps: int
    matrices: list[np.ndarray | None]
    """Per frame, the 2×3 affine photo pixels → frame pixels (None: a frame without the face)."""


def photo_motion(n: int) -> list[tuple[float, float, float, float]]:
    """(scale, rotation in degrees, dx, dy) per frame: a zoom in and out, a roll of ±15°, and a pan."""
    out = []
    for i in range(n):
        a = i / max(n - 1, 1)
        out.append((0.55 + 0.2 * math.sin(math.pi * a), 15.0 * math.sin(2 * math.pi * a),
                    60.0 * math.sin(2 * math.pi * a), 25.0 * math.sin(4 * math.pi * a)))
    return out


def render_frame(src: np.ndarray, size: tuple[int, int], scale: float, degrees: float, dx: float, dy: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The photo scaled, rotated (counter-clockwise on screen) about its centre and moved to the frame
    centre + (dx, dy) on a grey background; returns (frame, 2×3 photo→frame matrix)."""
    from PIL import Image

    width, height = size
    th = math.radians(degrees)
    c, s = math.cos(th) * scale, math.sin(th) * scale
    lin = np.array([[c, s], [-s, c]])  # y points down: this turns counter-clockwise on screen
    src_c = np.array([src.shape[1] / 2, src.shape[0] / 2])
    dst_c = np.array([width / 2 + dx, height / 2 + dy])
    fwd = np.concatenate([lin, (dst_c - lin @ src_c)[:, None]], axis=1)
    inv_lin = np.linalg.inv(lin)
    inv = np.concatenate([inv_lin, (-inv_lin @ fwd[:, 2])[:, None]], axis=1)
    rgba = Image.fromarray(src).convert("RGBA")
    warped = rgba.transform((width, height), Image.Transform.AFFINE, tuple(inv.reshape(-1)),
                            resample=Image.Resampling.BILINEAR)
    canvas = Image.new("RGBA", (width, height), (128, 128, 128, 255))
    canvas.alpha_composite(warped)
    return np.asarray(canvas.convert("RGB")).copy(), fwd


def make_clip(path: Path, *, frames: int = 36, gap: tuple[int, int] | None = None, fps: int = 30,
              size: tuple[int, int] = (480, 360), source: str = "grace_hopper") -> Clip:
    """An H.264 clip of a photo moving (photo_motion); frames in `gap` [start, stop) show no face."""
    import av

    src = photo(source)
    matrices: list[np.ndarray | None] = []
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.options = {"crf": "16", "preset": "ultrafast"}
        for i, (scale, deg, dx, dy) in enumerate(photo_motion(frames)):
            if gap and gap[0] <= i < gap[1]:
                frame = np.full((size[1], size[0], 3), 128, np.uint8)
                matrices.append(None)
            else:
                frame, matrix = render_frame(src, size, scale, deg, dx, dy)
                matrices.append(matrix)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return Clip(path, fps, matrices)


def photo_landmarks(name: str) -> np.ndarray:
    """(13, 2) MediaPipe's landmarks of MEDIAPIPE[name], as an array, and their ids."""
    return np.array(list(MEDIAPIPE[name]["landmarks"].values()), np.float64)


LANDMARK_IDS = np.array(list(MEDIAPIPE["grace_hopper"]["landmarks"]))
