"""Talking photo: a photo (upload or webcam) speaks a script or an audio file, through
:func:`talkies.animate_text` / :func:`talkies.animate_audio`, the calls `talkies animate` makes."""

from __future__ import annotations

import gradio as gr

from talkies.errors import InputError
from talkies.studio import common, jobs
from talkies.types import Expression, Resolution

PREVIEW_TEXT = "Hello! This is how I sound."
LARGEST = "largest"


def find_faces(photo: str | None):
    """On upload: the photo with numbered faces, and the face picker's choices."""
    def nothing(note: str = ""):
        return gr.update(value=None, visible=False), gr.update(choices=[LARGEST], value=LARGEST), note

    if not photo:
        return nothing()
    from talkies.runtime import media
    from talkies.runtime.face import FaceTracker

    try:
        common.check_upload(photo, "photo")
        image = media.read_image(photo)
        with FaceTracker(models=common.face_models("detect")) as tracker:
            found = tracker.detect_faces(image)
    except InputError as exc:
        return nothing(f"**{jobs.one_line(exc)}**")
    if not found:
        return nothing(f"**no face found in {_name(photo)}; give a photo with a visible, roughly frontal face**")
    numbered = common.downscale(common.numbered_faces(image, [d.box for d in found]), 720)
    choices = [LARGEST] + [str(i) for i in range(len(found))]
    note = f"{len(found)} face{'s' if len(found) > 1 else ''} found" + (
        ": pick one by its number" if len(found) > 1 else "")
    return gr.update(value=numbered, visible=len(found) > 1), gr.update(choices=choices, value=LARGEST), note


def _name(path: str) -> str:
    from pathlib import Path

    return Path(path).name


def preview_voice(voice: str, request=None):
    """A short sample of the chosen voice."""
    from talkies.runtime import tts

    with jobs.job("voice", request=request) as job:
        speech = tts.synthesize(PREVIEW_TEXT, voice=jobs.need(voice, "voice"))
        return str(common.write_wav(job.path("voice.wav"), speech.pcm, speech.sample_rate))


def render(photo, script, audio, voice, expression, intensity, resolution, face, request=None, progress=None):
    """The talking-photo video, its downloads (MP4, SRT, curves) and a one-line summary."""
    from talkies.runtime import media
    from talkies.runtime.animator import PhotoAnimatorOptions
    from talkies.runtime.formats import write_curves
    from talkies.runtime.talking_photo import animate_audio, animate_text

    with jobs.job("photo", progress=progress, request=request) as job:
        photo = common.check_upload(jobs.need(photo, "photo"), "photo")
        script, audio = common.speech_source(script, audio)
        media.read_image(photo)  # a one-line error for an unreadable photo, before any other work
        options = PhotoAnimatorOptions(expression=expression, intensity=float(intensity), resolution=resolution,
                                       face=common.face_index(face))
        job.stage(0.02, "loading the face models")
        models = common.face_models("render")
        out = job.path("talking_photo.mp4")
        job.stage(0.05, "speaking" if script else "lip-syncing the audio")
        if audio:
            result = animate_audio(photo, audio, out, options, models=models)
        else:
            result = animate_text(photo, script, out, options, voice=jobs.need(voice, "voice"), models=models)
        files = [str(result.path)]
        if result.subtitles:
            files.append(str(result.subtitles))
        files.append(str(write_curves(result.plan, job.path("talking_photo.arkit.json"), "arkit")))
        files.append(str(write_curves(result.plan, job.path("talking_photo.livelink.csv"), "livelink")))
        w, h = result.size
        summary = (f"{result.frames} frames, {w}×{h}, {result.duration:.2f} s of video in {result.seconds:.1f} s")
        return str(result.path), files, summary


def build(heavy: dict) -> None:
    """The tab's components and events (inside a gr.Tab)."""
    with gr.Row():
        with gr.Column():
            photo = gr.Image(label="Photo", sources=["upload", "webcam", "clipboard"], type="filepath",
                             elem_id="photo-input", height=320)
            faces_img = gr.Image(label="Faces found (pick one by number)", visible=False, interactive=False,
                                 elem_id="photo-faces", height=240)
            faces_note = gr.Markdown(elem_id="photo-faces-note")
            face = gr.Dropdown([LARGEST], value=LARGEST, label="Face", elem_id="photo-face")
        with gr.Column():
            script = gr.Textbox(label="Script", lines=4, placeholder="Type what the photo says…",
                                elem_id="photo-script")
            audio = gr.Audio(label="…or audio to lip-sync", sources=["upload", "microphone"], type="filepath",
                             elem_id="photo-audio")
            with gr.Row():
                voice = gr.Dropdown(common.voice_choices(), value="kokoro:af_heart", label="Voice", scale=3,
                                    elem_id="photo-voice")
                preview = gr.Button("Preview voice", scale=1, elem_id="photo-preview")
            preview_audio = gr.Audio(label="Voice preview", interactive=False, elem_id="photo-voice-audio")
            with gr.Row():
                expression = gr.Dropdown([e.value for e in Expression], value="neutral", label="Expression")
                intensity = gr.Slider(0.0, 2.0, value=1.0, step=0.1, label="Intensity")
                resolution = gr.Dropdown([r.value for r in Resolution], value="source", label="Resolution")
            with gr.Row():
                go = gr.Button("Render", variant="primary", elem_id="photo-render")
                stop = gr.Button("Cancel", variant="stop", elem_id="photo-cancel")
    with gr.Row():
        video = gr.Video(label="Talking photo", interactive=False, elem_id="photo-video", height=360)
        with gr.Column():
            downloads = gr.File(label="Downloads (MP4, SRT, curves)", file_count="multiple", interactive=False,
                                elem_id="photo-downloads")
            summary = gr.Markdown(elem_id="photo-summary")

    photo.change(find_faces, photo, [faces_img, face, faces_note], concurrency_id="detect", concurrency_limit=1)

    def _preview(voice, request: gr.Request):
        return preview_voice(voice, request)

    preview.click(_preview, voice, preview_audio, concurrency_id="voice", concurrency_limit=1)

    def _render(photo, script, audio, voice, expression, intensity, resolution, face, request: gr.Request,
                progress=gr.Progress()):
        return render(photo, script, audio, voice, expression, intensity, resolution, face, request, progress)

    event = go.click(_render, [photo, script, audio, voice, expression, intensity, resolution, face],
                     [video, downloads, summary], **heavy)
    stop.click(jobs.cancel_handler, None, summary, cancels=[event])
