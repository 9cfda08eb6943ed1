"""FaceTracker: MediaPipe-style face tracking task with running modes (its options are in
runtime.face.options, its results in runtime.face.results), and the one-call track_video / track_image.

Per frame: the detector finds faces (only when a face is missing: in VIDEO and LIVE_STREAM modes a face
is followed from its previous landmarks), each face's ROI is cropped for the landmark model, the
478 landmarks are optionally One-Euro smoothed, and give 52 ARKit weights (blend-shape model) and a head
pose (rigid fit to the canonical face). Face ids stay stable across frames, and a face that comes back
after a short loss gets its old id.

    options = FaceTrackerOptions(running_mode=RunningMode.VIDEO, num_faces=1)
    with FaceTracker(options) as tracker:
        for t, frame in iter_video("clip.mp4"):
            result = tracker.detect_for_video(frame, round(t * 1000))
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from talkies.errors import InputError, NoFaceError
from talkies.kernels import OneEuroFilter
from talkies.log import get_logger, track
from talkies.runtime.blendshapes import NUM_BLENDSHAPES
from talkies.runtime.face.blendshape_model import UNSUPPORTED, BlendshapeModel
from talkies.runtime.face.detector import FaceDetection, FaceDetector, iou
from talkies.runtime.face.landmarks import LandmarkModel, LandmarkResult
from talkies.runtime.face.options import Calibration, FaceTrackerOptions, RunningMode
from talkies.runtime.face.results import FaceTrackerResult, TrackedFace
from talkies.runtime.face.sessions import FaceModels
from talkies.runtime.face.pose import estimate_pose
from talkies.runtime.face.roi import Roi, landmark_box, roi_from_detection, roi_from_landmarks
from talkies.runtime.media import iter_video, open_photo, read_image, video_info
from talkies.runtime.motion import FaceMotion

log = get_logger(__name__)

#: IoU above which a detection is taken to be a face already being tracked (MediaPipe: 0.5).
SAME_FACE_IOU = 0.5
#: A returning face gets a lost face's id (lost at most lost_face_memory_s ago) when their boxes overlap
#: this much, or their centres are closer than REID_CENTRE × the face size.
REID_IOU = 0.3
REID_CENTRE = 1.0


@dataclass
class _Track:
    face_id: int
    roi: Roi
    """The ROI to crop in the next frame (from this frame's landmarks)."""
    box: np.ndarray
    last_seen: float
    filter: OneEuroFilter | None = None
    weight_filter: OneEuroFilter | None = None
    calibration: Calibration | None = None
    rest_samples: list[np.ndarray] = field(default_factory=list)


def _photo(image: np.ndarray | str | os.PathLike) -> tuple[np.ndarray, tuple[float, float] | None]:
    """Pixels, and for a file shrunk on load the scale back to the file's pixels (else None)."""
    if isinstance(image, (str, os.PathLike)):
        photo = open_photo(image)
        return photo.pixels, (None if photo.scale == (1.0, 1.0) else photo.scale)
    return as_image(image), None


def as_image(image: np.ndarray | str | os.PathLike) -> np.ndarray:
    """An RGB uint8 H×W×3 array from an array (gray, RGB or RGBA uint8) or an image file path."""
    if isinstance(image, (str, os.PathLike)):
        return read_image(image)
    if not isinstance(image, np.ndarray):
        raise InputError(f"expected an RGB image (numpy uint8 H×W×3) or a path, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise InputError(f"images must be uint8 RGB, got dtype {image.dtype}; convert with "
                         "(np.clip(x, 0, 1) * 255).astype(np.uint8) for float images")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4) or min(image.shape[:2]) < 8:
        raise InputError(f"images must be H×W×3 RGB (or RGBA/gray), at least 8×8; got shape {image.shape}")
    return np.ascontiguousarray(image[:, :, :3])


class FaceTracker:
    """Face tracking task. Build with options (bundles are loaded from options.bundle_dir) or pass
    ready `models` (e.g. FaceModels.from_mediapipe() for the original tflite models)."""

    def __init__(self, options: FaceTrackerOptions | None = None, *, models: FaceModels | None = None):
        self.options = options or FaceTrackerOptions()
        self._owns_models = models is None
        self.models = models or FaceModels.from_bundles(self.options.bundle_dir, self.options.backend,
                                                        self.options.precision, threads=self.options.threads)
        self.detector = FaceDetector(self.models.detector, min_score=self.options.min_detection_confidence)
        self.landmark_model = LandmarkModel(self.models.landmarks)
        self.blendshape_model = BlendshapeModel(self.models.blendshapes)
        self._lock = threading.RLock()
        self._tracks: list[_Track] = []
        self._lost: list[_Track] = []
        self._next_id = 0
        self._since_detect = 0
        self._last_ts: int | None = None
        self._calibrate_frames = 0
        self._closed = False
        self._stopping = False
        # LIVE_STREAM worker
        self._cond = threading.Condition()
        self._pending: tuple[np.ndarray, int] | None = None
        self._worker: threading.Thread | None = None
        self._worker_error: BaseException | None = None
        self.dropped_frames = 0

    @classmethod
    def create_from_options(cls, options: FaceTrackerOptions) -> "FaceTracker":
        return cls(options)

    # --- public API ------------------------------------------------------------------------------

    def detect(self, image: np.ndarray | str | os.PathLike) -> FaceTrackerResult:
        """IMAGE mode: faces of one photo (empty result when there is none), in the photo's own pixels."""
        self._require_mode(RunningMode.IMAGE, "detect")
        pixels, scale = _photo(image)
        with self._lock:
            result = self._process(pixels, None, tracking=False)
        return result if scale is None else result.rescaled(scale)

    def detect_for_video(self, image: np.ndarray, timestamp_ms: int) -> FaceTrackerResult:
        """VIDEO mode: faces of one decoded frame; timestamps must increase from call to call."""
        self._require_mode(RunningMode.VIDEO, "detect_for_video")
        timestamp_ms = self._check_timestamp(timestamp_ms)
        with self._lock:
            return self._process(as_image(image), timestamp_ms, tracking=True)

    def detect_async(self, image: np.ndarray, timestamp_ms: int) -> None:
        """LIVE_STREAM mode: queue a frame and return at once. The tracker's thread runs the newest
        queued frame and calls result_callback(result, frame, timestamp_ms); a frame still waiting when
        a newer one arrives is dropped (counted in `dropped_frames`)."""
        self._require_mode(RunningMode.LIVE_STREAM, "detect_async")
        self._raise_worker_error()
        timestamp_ms = self._check_timestamp(timestamp_ms)
        frame = as_image(image).copy()
        with self._cond:
            if self._worker is None:
                self._worker = threading.Thread(target=self._run_worker, name="talkies-face-tracker", daemon=True)
                self._worker.start()
            if self._pending is not None:
                self.dropped_frames += 1
            self._pending = (frame, timestamp_ms)
            self._cond.notify_all()

    def detect_faces(self, image: np.ndarray | str | os.PathLike) -> list[FaceDetection]:
        """The detector alone: face boxes, keypoints and scores in image pixels, best first."""
        pixels, scale = _photo(image)
        with self._lock:
            found = self.detector.detect(pixels)
        return found if scale is None else [d.rescaled(scale) for d in found]

    def calibrate(self, neutral_image: np.ndarray | str | os.PathLike | None = None, *,
                  frames: int = 30) -> Calibration | None:
        """Remove rest offsets from the weights.

        With `neutral_image` (a photo of the face relaxed, mouth closed), its weights become the
        calibration of every face now and later, returned. Without it (VIDEO / LIVE_STREAM), each face
        calibrates on its next `frames` tracked frames, so the subject should rest meanwhile; returns None.
        """
        if neutral_image is not None:
            image = as_image(neutral_image)
            with self._lock:
                faces = self._process(image, None, tracking=False, calibrated=False).faces
            if not faces:
                raise NoFaceError("no face found in the neutral image; give a frontal photo of the face at rest")
            largest = max(faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
            self.options.calibration = Calibration(largest.raw_weights)
            return self.options.calibration
        if self.options.running_mode is RunningMode.IMAGE:
            raise InputError("in IMAGE mode, calibrate needs a neutral_image (there are no following frames)")
        if isinstance(frames, bool) or not isinstance(frames, int) or frames < 1:
            raise InputError(f"frames must be a positive integer, got {frames!r}")
        with self._lock:
            self._calibrate_frames = frames
            for tr in self._tracks + self._lost:
                tr.calibration, tr.rest_samples = None, []
        return None

    def calibration_for(self, face_id: int) -> Calibration | None:
        """The calibration in force for a face: its own (from calibrate(frames=N)) or the global one."""
        for tr in self._tracks + self._lost:
            if tr.face_id == face_id and tr.calibration is not None:
                return tr.calibration
        return self.options.calibration

    def reset(self) -> None:
        """Forget every tracked face (the next frame runs the detector; ids start again at 0)."""
        with self._lock:
            self._tracks, self._lost = [], []
            self._next_id = 0
            self._since_detect = 0
            self._last_ts = None

    def track_video(self, path: str | os.PathLike, *, calibrate_frames: int = 0, keep_landmarks: bool = True,
                    description: str = "tracking faces",
                    frames: Iterable[tuple[float, np.ndarray]] | None = None) -> list[FaceMotion]:
        """Track a whole video (VIDEO mode), one FaceMotion per face, ordered by face id.

        Frames where a face is missing hold its nearest values and have tracked = False. With
        `calibrate_frames`, each face's first N frames set its rest pose, applied to all its frames.
        extras: "landmarks" (T, 478, 3) when keep_landmarks, "calibration" (ARKit name → rest weight),
        "unsupported" (shapes always 0). NoFaceError when no frame has a face. `frames`: the video's
        (timestamp s, RGB frame) pairs as iter_video gives them, from a caller that decodes `path` itself
        (and keeps something of each frame on the way).
        """
        self._require_mode(RunningMode.VIDEO, "track_video")
        info = video_info(path)
        with self._lock:
            self.reset()
            if calibrate_frames:
                self.calibrate(frames=calibrate_frames)
            times: list[float] = []
            per_face: dict[int, dict[int, TrackedFace]] = {}
            image_size = (info.height, info.width)
            decoded = iter_video(path) if frames is None else frames
            for i, (t, frame) in enumerate(track(decoded, description, total=info.frames)):
                t = max(float(t), times[-1] + 1e-6) if times else float(t)
                times.append(t)
                result = self._process(as_image(frame), None, tracking=True, time_s=t)
                image_size = result.image_size
                for face in result:
                    per_face.setdefault(face.face_id, {})[i] = face
        if not per_face:
            raise NoFaceError(f"{path}: no face found in any of its {len(times)} frames")
        return [self._motion(fid, frames, np.asarray(times), info.fps, image_size, keep_landmarks)
                for fid, frames in sorted(per_face.items())]

    def close(self) -> None:
        """Finish the queued LIVE_STREAM frame, stop the thread and release the models."""
        if self._closed:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._worker is not None:
            self._worker.join()
        self._closed = True
        if self._owns_models:
            self.models.close()
        self._raise_worker_error()

    def __enter__(self) -> "FaceTracker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the pipeline ---------------------------------------------------------------------------

    def _process(self, image: np.ndarray, timestamp_ms: int | None, *, tracking: bool, calibrated: bool = True,
                 time_s: float | None = None) -> FaceTrackerResult:
        if self._closed:
            raise InputError("this FaceTracker is closed; create a new one")
        height, width = image.shape[:2]
        now = time_s if time_s is not None else (timestamp_ms or 0) / 1000.0
        found: list[tuple[_Track, LandmarkResult, bool]] = []
        lost: list[_Track] = []
        if tracking:
            for tr in self._tracks:
                res = self.landmark_model.run(image, tr.roi)
                if res.presence >= self.options.min_presence_confidence:
                    found.append((tr, res, True))
                else:
                    lost.append(tr)
            found = self._drop_duplicates(found, lost)
            self._retire(lost, now)  # before detecting, so a face lost and re-found here keeps its id
        self._since_detect += 1
        want_more = len(found) < self.options.num_faces
        if not tracking or (want_more and (not self._tracks or lost
                                           or self._since_detect >= self.options.redetect_interval)):
            self._since_detect = 0
            found += self._detect_new(image, found, now, tracking)
        if tracking:
            self._tracks = [tr for tr, _, _ in found]
        faces = [self._face(tr, res, was_tracked, now, (height, width), tracking, calibrated)
                 for tr, res, was_tracked in found]
        faces.sort(key=lambda f: f.face_id)
        present = {f.face_id for f in faces}
        return FaceTrackerResult(faces=tuple(faces), timestamp_ms=timestamp_ms, image_size=(height, width),
                                 lost=tuple(sorted(tr.face_id for tr in lost if tr.face_id not in present)))

    def _detect_new(self, image: np.ndarray, found: list[tuple[_Track, LandmarkResult, bool]], now: float,
                    tracking: bool) -> list[tuple[_Track, LandmarkResult, bool]]:
        new: list[tuple[_Track, LandmarkResult, bool]] = []
        boxes = [res.roi.box() for _, res, _ in found]
        for det in self.detector.detect(image):
            if len(found) + len(new) >= self.options.num_faces:
                break
            roi = roi_from_detection(det.box, det.keypoints)
            if boxes and iou(roi.box(), np.array(boxes)).max() > SAME_FACE_IOU:
                continue  # a face we already follow
            res = self.landmark_model.run(image, roi)
            if res.presence < self.options.min_presence_confidence:
                continue
            box = _landmark_box(res.landmarks)
            tr = self._reidentify(box, now) if tracking else None
            if tr is None:
                tr = _Track(face_id=self._next_id if tracking else len(found) + len(new), roi=roi, box=box,
                            last_seen=now)
                if tracking:
                    self._next_id += 1
            else:  # the same face back after a loss: restart its filters
                for f in (tr.filter, tr.weight_filter):
                    if f is not None:
                        f.reset()
            boxes.append(roi.box())
            new.append((tr, res, False))
        return new

    def _drop_duplicates(self, found: list[tuple[_Track, LandmarkResult, bool]], lost: list[_Track]
                         ) -> list[tuple[_Track, LandmarkResult, bool]]:
        """Two tracks that converged on one face: keep the older id."""
        if len(found) < 2:
            return found
        kept: list[tuple[_Track, LandmarkResult, bool]] = []
        for item in sorted(found, key=lambda x: x[0].face_id):
            box = _landmark_box(item[1].landmarks)
            if kept and iou(box, np.array([_landmark_box(k[1].landmarks) for k in kept])).max() > SAME_FACE_IOU:
                lost.append(item[0])
            else:
                kept.append(item)
        return kept

    def _reidentify(self, box: np.ndarray, now: float) -> _Track | None:
        self._lost = [tr for tr in self._lost if now - tr.last_seen <= self.options.lost_face_memory_s]
        best, best_score = None, 0.0
        for tr in self._lost:
            overlap = float(iou(box, tr.box[None])[0])
            size = max(tr.box[2] - tr.box[0], tr.box[3] - tr.box[1], 1e-6)
            dist = float(np.linalg.norm(_centre(box) - _centre(tr.box))) / size
            score = max(overlap, 1.0 - dist) if (overlap > REID_IOU or dist < REID_CENTRE) else 0.0
            if score > best_score:
                best, best_score = tr, score
        if best is not None:
            self._lost.remove(best)
        return best

    def _retire(self, lost: list[_Track], now: float) -> None:
        keep = [tr for tr in self._lost if now - tr.last_seen <= self.options.lost_face_memory_s]
        self._lost = keep + [tr for tr in lost if tr not in keep]

    def _face(self, tr: _Track, res: LandmarkResult, was_tracked: bool, now: float, image_size: tuple[int, int],
              tracking: bool, calibrated: bool) -> TrackedFace:
        raw = res.landmarks
        box = _landmark_box(raw)
        landmarks = raw
        # without blend-shapes the weights read 0 (their filter is skipped: nothing to smooth)
        raw_weights = self.blendshape_model(raw) if self.options.output_face_blendshapes else _NO_WEIGHTS
        if tracking:
            tr.roi, tr.box, tr.last_seen = roi_from_landmarks(raw, box=box), box, now
            if self.options.smoothing:
                opts = self.options
                if tr.filter is None:
                    tr.filter = OneEuroFilter(min_cutoff=opts.smoothing_min_cutoff, beta=opts.smoothing_beta,
                                              d_cutoff=opts.smoothing_derivate_cutoff)
                    tr.weight_filter = OneEuroFilter(min_cutoff=opts.weight_smoothing_min_cutoff,
                                                     beta=opts.weight_smoothing_beta,
                                                     d_cutoff=opts.weight_smoothing_derivate_cutoff)
                scale = ((box[2] - box[0]) + (box[3] - box[1])) / 2.0  # MediaPipe's object scale
                landmarks = tr.filter.step(raw, now, value_scale=1.0 / max(float(scale), 1e-6))
                if self.options.output_face_blendshapes:
                    raw_weights = tr.weight_filter.step(raw_weights, now)  # type: ignore[union-attr]
        weights = raw_weights
        if calibrated:
            if tracking and self._calibrate_frames and tr.calibration is None:
                tr.rest_samples.append(raw_weights)
                if len(tr.rest_samples) >= self._calibrate_frames:
                    tr.calibration = Calibration.from_weights(np.stack(tr.rest_samples))
                    tr.rest_samples = []
            calibration = tr.calibration or self.options.calibration
            if calibration is not None:
                weights = calibration.apply(raw_weights)
        pose = estimate_pose(landmarks, image_size)
        return TrackedFace(face_id=tr.face_id, landmarks=landmarks, weights=weights, raw_weights=raw_weights,
                           head_pose=pose.as_array(), transform=pose.transform,
                           box=box.copy() if landmarks is raw else _landmark_box(landmarks),
                           presence=res.presence, tracked=was_tracked)

    def _motion(self, face_id: int, frames: dict[int, TrackedFace], times: np.ndarray, fps: float,
                image_size: tuple[int, int], keep_landmarks: bool) -> FaceMotion:
        n = len(times)
        seen = np.array(sorted(frames))
        # Each frame takes the nearest earlier tracked frame (the first one before the face appears).
        source = seen[np.clip(np.searchsorted(seen, np.arange(n), side="right") - 1, 0, None)]
        tracked = np.zeros(n, bool)
        tracked[seen] = True
        raw = np.stack([frames[i].raw_weights for i in source])
        calibration = self.calibration_for(face_id)
        weights = calibration.apply(raw) if calibration is not None else raw
        extras: dict = {"unsupported": list(UNSUPPORTED), "image_size": list(image_size),
                        "calibration": calibration.as_dict() if calibration is not None else None,
                        "backend": self.models.backend.value, "precision": self.models.precision.value}
        if keep_landmarks:
            extras["landmarks"] = np.stack([frames[i].landmarks for i in source]).astype(np.float32)
        return FaceMotion(times, weights, np.stack([frames[i].head_pose for i in source]), fps=fps,
                          face_id=face_id, tracked=tracked, extras=extras)

    # --- helpers --------------------------------------------------------------------------------

    def _require_mode(self, mode: RunningMode, method: str) -> None:
        if self.options.running_mode is not mode:
            use = {RunningMode.IMAGE: "detect", RunningMode.VIDEO: "detect_for_video",
                   RunningMode.LIVE_STREAM: "detect_async"}[self.options.running_mode]
            raise InputError(f"{method}() needs running_mode {mode.name}; this tracker runs in "
                             f"{self.options.running_mode.name} mode, so call {use}()")

    def _check_timestamp(self, timestamp_ms: int) -> int:
        if isinstance(timestamp_ms, bool) or not isinstance(timestamp_ms, (int, np.integer)):
            raise InputError(f"timestamp_ms must be an integer number of milliseconds, got {timestamp_ms!r}")
        timestamp_ms = int(timestamp_ms)
        if self._last_ts is not None and timestamp_ms <= self._last_ts:
            raise InputError(f"timestamps must increase monotonically: got {timestamp_ms} ms after "
                             f"{self._last_ts} ms; pass each frame's presentation time in order")
        self._last_ts = timestamp_ms
        return timestamp_ms

    def _run_worker(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._stopping:
                    self._cond.wait()
                if self._pending is None:
                    return
                frame, ts = self._pending
                self._pending = None
            try:
                with self._lock:
                    result = self._process(frame, ts, tracking=True)
                self.options.result_callback(result, frame, ts)  # type: ignore[misc]
            except BaseException as exc:  # surfaced by the next detect_async() or close()
                log.error("face tracking failed on the frame at %d ms: %s", ts, exc)
                self._worker_error = self._worker_error or exc

    def _raise_worker_error(self) -> None:
        if self._worker_error is not None:
            error, self._worker_error = self._worker_error, None
            raise error


_NO_WEIGHTS = np.zeros(NUM_BLENDSHAPES, np.float32)
_NO_WEIGHTS.flags.writeable = False


def _landmark_box(landmarks: np.ndarray) -> np.ndarray:
    return landmark_box(landmarks).astype(np.float32, copy=False)


def _centre(box: np.ndarray) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])


def track_video(path: str | os.PathLike, options: FaceTrackerOptions | None = None, *,
                models: FaceModels | None = None, calibrate_frames: int = 0,
                keep_landmarks: bool = True, frames: Iterable[tuple[float, np.ndarray]] | None = None
                ) -> list[FaceMotion]:
    """Track every face of a video file: one FaceMotion per face (see FaceTracker.track_video)."""
    options = dataclasses.replace(options or FaceTrackerOptions(), running_mode=RunningMode.VIDEO,
                                  result_callback=None)
    with FaceTracker(options, models=models) as tracker:
        return tracker.track_video(path, calibrate_frames=calibrate_frames, keep_landmarks=keep_landmarks,
                                   frames=frames)


def track_image(image: np.ndarray | str | os.PathLike, options: FaceTrackerOptions | None = None, *,
                models: FaceModels | None = None) -> FaceTrackerResult:
    """Faces of one photo; NoFaceError when there is none."""
    options = dataclasses.replace(options or FaceTrackerOptions(), running_mode=RunningMode.IMAGE,
                                  result_callback=None)
    with FaceTracker(options, models=models) as tracker:
        result = tracker.detect(image)
    if not result.faces:
        where = f"{image}" if isinstance(image, (str, os.PathLike)) else "the image"
        raise NoFaceError(f"no face found in {where}; give a photo with a visible, roughly frontal face")
    return result


__all__ = ["FaceTracker", "as_image", "track_image", "track_video"]
