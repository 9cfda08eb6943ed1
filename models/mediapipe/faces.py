"""Real face crops for the MediaPipe face models: parity vectors and calibration data.

`face_crops(model_name, n, seed)` returns `n` deterministic input dicts for one model:

- `face_detector`:    {"image": [1, 128, 128, 3] float32 in [-1, 1]}, the whole photo letterboxed;
- `face_landmarks`:   {"image": [1, 256, 256, 3] float32 in [0, 1]}, a crop around the face;
- `face_blendshapes`: {"points": [1, 146, 2] float32}, x, y (crop pixels) of the landmark model's
  output on those crops, subset `BLENDSHAPE_LANDMARK_SUBSET`.

The photos are public-domain portraits shipped by the dev dependencies: matplotlib's
`grace_hopper.jpg` and scikit-image's `astronaut`; the 25x25 faces of `skimage.data.lfw_subset()`
add variety on request (source "lfw"). Nothing about the faces is hard-coded: the face is located
by running MediaPipe's detector (.tflite, ai-edge-litert) once per photo and decoding its top-scoring
SSD anchor; the crop follows MediaPipe's ROI rule (rotation from the eyes, box expanded 1.5x).
The first crop of each source is un-augmented; the others are flipped, brightened or darkened,
rotated, scaled and shifted by amounts drawn from `numpy.random.default_rng(seed)`.

The models run in the runtime's LiteRTSession, and the anchors, `Roi` and letterbox are the runtime's
(`runtime.face`). Three pieces stay here, because the runtime's differ numerically and these crops are
the int8 calibration data and the bundles' parity vectors, so changing them would change shipped
figures: the detection is the top-scoring anchor (scores in float64, no weighted NMS), its ROI is
computed from the float32 box and keypoints, and `warp` samples with PIL's bilinear affine (black
outside the photo) where the runtime crops with its kernel at MediaPipe's sample points (edge pixels
repeated). tests/test_face_crops_agree.py checks that the two agree: ROI centre, size and rotation,
and crop pixels.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from talkies.errors import InputError, NoFaceError, require
from talkies.runtime.face import constants as C
from talkies.runtime.face.detector import letterbox_roi, ssd_anchors
from talkies.runtime.face.model_files import face_model_path
from talkies.runtime.face.roi import Roi
from talkies.runtime.face.sessions import tflite_session

SOURCES = ("grace_hopper", "astronaut", "lfw")
DEFAULT_SOURCES = ("grace_hopper", "astronaut")
_LFW_FACES = 100  # lfw_subset(): the first 100 images are faces, the rest are not


# ---------------------------------------------------------------------------------------------
# Photos
# ---------------------------------------------------------------------------------------------


@functools.cache
def sample_photo(name: str) -> np.ndarray:
    """A public-domain RGB uint8 portrait: 'grace_hopper' (600x512) or 'astronaut' (512x512)."""
    if name == "grace_hopper":
        cbook = require("matplotlib.cbook", "dev")
        path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    if name == "astronaut":
        data = require("skimage.data", "dev")
        return np.ascontiguousarray(data.astronaut())
    raise InputError(f"unknown sample photo {name!r}; choose 'grace_hopper' or 'astronaut'")


@functools.cache
def _lfw_faces() -> np.ndarray:
    data = require("skimage.data", "dev")
    faces = data.lfw_subset()[:_LFW_FACES]  # [100, 25, 25] float in [0, 1]
    return np.repeat((faces * 255).round().astype(np.uint8)[..., None], 3, axis=-1)


# ---------------------------------------------------------------------------------------------
# Running a .tflite with ai-edge-litert (the reference implementation), through the runtime
# ---------------------------------------------------------------------------------------------


class TFLiteRunner:
    """A face model's .tflite in the runtime's LiteRTSession, single-threaded, called positionally:
    run(*inputs) -> outputs in tflite order (the order export's reference and the parity tests take)."""

    def __init__(self, name: str, path: str | Path):
        self.session = tflite_session(name, path, threads=1)

    def run(self, *arrays: np.ndarray) -> list[np.ndarray]:
        outputs = self.session.run(dict(zip(self.session.input_names, arrays, strict=True)))
        return [outputs[name] for name in self.session.output_names]


@functools.cache
def _runner(name: str, path: str) -> TFLiteRunner:
    return TFLiteRunner(name, path)


def reference_runner(name: str) -> TFLiteRunner:
    """The cached ai-edge-litert runner of a face model ('face_detector', ...)."""
    path = face_model_path(name)
    return _runner(name, str(path))


# ---------------------------------------------------------------------------------------------
# Detector decoding
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Detection:
    """One face in image pixels: box (x_min, y_min, width, height), 6 keypoints, score."""

    box: tuple[float, float, float, float]
    keypoints: np.ndarray  # [6, 2] pixels: right eye, left eye, nose, mouth, right ear, left ear
    score: float


def decode_top_detection(regressors: np.ndarray, classificators: np.ndarray) -> tuple[np.ndarray, float]:
    """The highest-scoring anchor decoded: ([16] normalized cx, cy, w, h, 6 keypoints x,y), score."""
    raw = np.clip(classificators.reshape(-1).astype(np.float64), -C.DETECTOR_SCORE_CLIP, C.DETECTOR_SCORE_CLIP)
    scores = 1.0 / (1.0 + np.exp(-raw))
    best = int(np.argmax(scores))
    reg = regressors.reshape(-1, 16)[best] / C.DETECTOR_BOX_SCALE
    anchor = ssd_anchors()[best]
    decoded = reg.copy()
    decoded[0:2] += anchor  # box centre
    decoded[4::2] += anchor[0]  # keypoint x
    decoded[5::2] += anchor[1]  # keypoint y
    return decoded, float(scores[best])


def warp(image: np.ndarray, roi: Roi, out_size: int, *, flip: bool = False) -> np.ndarray:
    """Sample `roi` of an RGB uint8 image into an [out_size, out_size, 3] float32 crop in [0, 1]
    (bilinear, black outside the image); `flip` mirrors the crop left-right."""
    cos, sin = math.cos(roi.rotation), math.sin(roi.rotation)
    k = roi.size / out_size
    sx = -1.0 if flip else 1.0
    # output pixel centre (u, v) -> image point: c + R [s*(u/out - 1/2), (v/out - 1/2)] * size
    a, b = sx * k * cos, -k * sin
    d, e = sx * k * sin, k * cos
    c = roi.cx - (a + b) * out_size / 2
    f = roi.cy - (d + e) * out_size / 2
    pil = Image.fromarray(image).transform((out_size, out_size), Image.Transform.AFFINE, (a, b, c, d, e, f),
                                           resample=Image.Resampling.BILINEAR, fillcolor=(0, 0, 0))
    return np.asarray(pil, np.float32) / 255.0


def detect_face(image: np.ndarray) -> Detection:
    """Run the face detector (.tflite via ai-edge-litert) on a letterboxed RGB image; best face."""
    roi = letterbox_roi(*image.shape[:2])
    x = warp(image, roi, C.DETECTOR_INPUT_SIZE)[None] * 2.0 - 1.0
    regressors, classificators = reference_runner("face_detector").run(x)
    decoded, score = decode_top_detection(regressors, classificators)
    if score < C.DETECTOR_MIN_SCORE:
        raise NoFaceError(f"no face found (best detector score {score:.2f} < {C.DETECTOR_MIN_SCORE})")
    # letterbox normalized coordinates -> image pixels
    x0, y0 = roi.cx - roi.size / 2, roi.cy - roi.size / 2
    cx, cy = x0 + decoded[0] * roi.size, y0 + decoded[1] * roi.size
    w, h = decoded[2] * roi.size, decoded[3] * roi.size
    kps = np.stack([x0 + decoded[4::2] * roi.size, y0 + decoded[5::2] * roi.size], axis=1)
    return Detection((float(cx - w / 2), float(cy - h / 2), float(w), float(h)), kps.astype(np.float32), score)


def face_roi(det: Detection) -> Roi:
    """MediaPipe's landmark ROI: centred on the box, rotated so the eyes are level, long side x1.5."""
    i, j = C.ROI_ROTATION_KEYPOINTS
    (x1, y1), (x2, y2) = det.keypoints[i], det.keypoints[j]
    angle = math.atan2(y2 - y1, x2 - x1)
    x, y, w, h = det.box
    return Roi(x + w / 2, y + h / 2, max(w, h) * C.ROI_SCALE, angle)


@functools.cache
def _photo_roi(name: str, detector: str) -> Roi:
    return face_roi(detect_face(sample_photo(name)))


# ---------------------------------------------------------------------------------------------
# Crops
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Augment:
    flip: bool = False
    brightness: float = 1.0
    rotate: float = 0.0  # radians
    scale: float = 1.0  # >1 zooms out
    shift: tuple[float, float] = (0.0, 0.0)  # fraction of the ROI size

    @classmethod
    def draw(cls, rng: np.random.Generator) -> Augment:
        return cls(flip=bool(rng.random() < 0.5), brightness=float(rng.uniform(0.7, 1.3)),
                   rotate=math.radians(float(rng.uniform(-15, 15))), scale=float(rng.uniform(0.85, 1.2)),
                   shift=(float(rng.uniform(-0.06, 0.06)), float(rng.uniform(-0.06, 0.06))))

    def apply(self, roi: Roi) -> Roi:
        return Roi(roi.cx + self.shift[0] * roi.size, roi.cy + self.shift[1] * roi.size,
                   roi.size * self.scale, roi.rotation + self.rotate)


def _source_image_and_roi(source: str, index: int, whole: bool) -> tuple[np.ndarray, Roi]:
    if source == "lfw":
        faces = _lfw_faces()
        image = faces[index % len(faces)]
        # lfw_subset faces are tight crops: the face fills the image, so the ROI is the image x1.5
        h, w = image.shape[:2]
        return image, Roi(w / 2, h / 2, max(h, w) * (2.5 if whole else C.ROI_SCALE), 0.0)
    image = sample_photo(source)
    if whole:
        return image, letterbox_roi(*image.shape[:2])
    return image, _photo_roi(source, str(face_model_path("face_detector")))


def _image_crops(model_name: str, n: int, seed: int, sources: tuple[str, ...]) -> list[np.ndarray]:
    whole = model_name == "face_detector"
    size = C.DETECTOR_INPUT_SIZE if whole else C.LANDMARK_INPUT_SIZE
    rng = np.random.default_rng(seed)
    crops = []
    for i in range(n):
        source = sources[i % len(sources)]
        image, roi = _source_image_and_roi(source, i // len(sources), whole)
        aug = Augment() if i < len(sources) else Augment.draw(rng)
        crop = warp(image, aug.apply(roi), size, flip=aug.flip)
        crop = np.clip(crop * aug.brightness, 0.0, 1.0)
        crops.append(crop[None].astype(np.float32))
    return crops


def landmark_points(crop: np.ndarray) -> np.ndarray:
    """The reference landmark model's [478, 3] landmarks (crop pixels) on a [1, 256, 256, 3] crop."""
    landmarks = reference_runner("face_landmarks").run(crop)[0]
    return landmarks.reshape(C.NUM_LANDMARKS, 3)


def blendshape_points(landmarks: np.ndarray) -> np.ndarray:
    """[478, >=2] landmarks -> the blend-shape model's [1, 146, 2] input."""
    return np.ascontiguousarray(landmarks[list(C.BLENDSHAPE_LANDMARK_SUBSET), :2][None], np.float32)


def face_crops(model_name: str, n: int, seed: int = 0, *,
               sources: tuple[str, ...] = DEFAULT_SOURCES) -> list[dict[str, np.ndarray]]:
    """`n` deterministic input dicts for one face model (see the module doc)."""
    if model_name not in C.FACE_MODEL_INPUTS:
        raise InputError(f"unknown face model {model_name!r}; choose one of {', '.join(C.FACE_MODEL_INPUTS)}")
    if n < 1:
        raise InputError(f"n must be at least 1, got {n}")
    bad = [s for s in sources if s not in SOURCES]
    if bad or not sources:
        raise InputError(f"unknown face sources {bad or sources}; choose from {', '.join(SOURCES)}")
    key = C.FACE_MODEL_INPUTS[model_name]
    if model_name == "face_detector":
        return [{key: crop * 2.0 - 1.0} for crop in _image_crops(model_name, n, seed, sources)]
    crops = _image_crops("face_landmarks", n, seed, sources)
    if model_name == "face_landmarks":
        return [{key: crop} for crop in crops]
    return [{key: blendshape_points(landmark_points(crop))} for crop in crops]
