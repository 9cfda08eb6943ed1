"""Track a face: a photo or video → :func:`talkies.runtime.face.track_image` / ``track_video`` (what
`talkies track` calls) → a preview with the landmarks on a few frames, and the curves as tracking JSON,
ARKit JSON and Live Link CSV."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np

from talkies.studio import common, jobs

PREVIEW_FRAMES = 4


def _video_previews(path: str, motions, count: int = PREVIEW_FRAMES) -> list[np.ndarray]:
    """`count` frames spread over the clip, with every tracked face's landmarks drawn."""
    from talkies.runtime import media

    times = np.asarray(motions[0].timestamps) if motions else np.zeros(0)
    if len(times) == 0:
        return []
    wanted = sorted({float(times[int(i)]) for i in np.linspace(0, len(times) - 1, count).round()})
    previews = []
    for t, frame in media.iter_video(path):
        if not wanted:
            break
        if t + 1e-3 < wanted[0]:
            continue
        target = wanted.pop(0)
        faces = []
        for m in motions:
            marks = m.extras.get("landmarks")
            k = int(np.argmin(np.abs(np.asarray(m.timestamps) - target))) if len(m.timestamps) else -1
            if marks is not None and k >= 0 and abs(float(m.timestamps[k]) - target) < 0.05 and bool(m.tracked[k]):
                faces.append(marks[k])
        previews.append(common.downscale(common.draw_landmarks(frame, faces), 480))
    return previews


def track(path, num_faces, request=None, progress=None):
    from talkies.runtime import media
    from talkies.runtime.face import FaceTrackerOptions, track_image, track_video
    from talkies.runtime.formats import tracking_json, write_curves
    from talkies.io import write_text_atomic

    with jobs.job("track", progress=progress, request=request) as job:
        path = common.check_upload(jobs.need(path, "photo or video file"), "video")
        models = common.face_models("render")
        options = FaceTrackerOptions(num_faces=int(num_faces))
        name = Path(path).stem or "face"
        job.stage(0.05, "tracking")
        if media.is_image(path):
            image = media.read_image(path)
            result = track_image(image, options, models=models)
            motions = result.motions()
            previews = [common.downscale(common.draw_landmarks(image, [f.landmarks for f in result.faces]), 480)]
        else:
            media.video_info(path)
            motions = track_video(path, options, models=models, keep_landmarks=True)
            job.stage(0.9, "drawing the preview")
            previews = _video_previews(path, motions)
        files = [str(write_text_atomic(job.path(f"{name}.tracking.json"),
                                       tracking_json(motions, source=Path(path).name)))]
        for m in motions:
            suffix = "" if m.face_id == 0 else f".face{m.face_id}"
            files.append(str(write_curves(m, job.path(f"{name}{suffix}.arkit.json"), "arkit")))
            files.append(str(write_curves(m, job.path(f"{name}{suffix}.livelink.csv"), "livelink")))
        summary = f"{len(motions)} face(s), {len(motions[0]) if motions else 0} frame(s)"
        return previews, files, summary


def build(heavy: dict) -> None:
    with gr.Row():
        with gr.Column(scale=1):
            source = gr.File(label="Photo or video", file_types=["image", "video"], type="filepath",
                             elem_id="track-input")
            faces = gr.Slider(1, 8, value=1, step=1, label="Most faces to track")
            with gr.Row():
                go = gr.Button("Track", variant="primary", elem_id="track-run")
                stop = gr.Button("Cancel", variant="stop")
        with gr.Column(scale=2):
            gallery = gr.Gallery(label="Landmarks on a few frames", columns=4, height=320, object_fit="contain",
                                 elem_id="track-preview")
            downloads = gr.File(label="Curves (tracking JSON, ARKit JSON, Live Link CSV)", file_count="multiple",
                                interactive=False)
            summary = gr.Markdown()

    def _run(source, faces, request: gr.Request, progress=gr.Progress()):
        return track(source, faces, request, progress)

    event = go.click(_run, [source, faces], [gallery, downloads, summary], **heavy)
    stop.click(jobs.cancel_handler, None, summary, cancels=[event])
