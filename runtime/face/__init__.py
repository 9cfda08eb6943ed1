"""Face tracking: BlazeFace detector, 478-point landmarks, 52 ARKit blend-shapes, head pose, and the
MediaPipe-style FaceTracker task (IMAGE / VIDEO / LIVE_STREAM running modes)."""

from talkies.runtime.face.detector import FaceDetection, FaceDetector
from talkies.runtime.face.sessions import FaceModels
from talkies.runtime.face.pose import HeadPose, estimate_pose
from talkies.runtime.face.options import Calibration, FaceTrackerOptions, RunningMode
from talkies.runtime.face.results import FaceTrackerResult, TrackedFace
from talkies.runtime.face.tracker import FaceTracker, track_image, track_video

__all__ = ["Calibration", "FaceDetection", "FaceDetector", "FaceModels", "FaceTracker", "FaceTrackerOptions",
           "FaceTrackerResult", "HeadPose", "RunningMode", "TrackedFace", "estimate_pose", "track_image",
           "track_video"]
