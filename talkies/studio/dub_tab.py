"""Dub a video: a talking video's face speaks new audio or a script, through :class:`talkies.VideoDubber`
(the task `talkies dub` runs)."""

from __future__ import annotations

import gradio as gr

from talkies.runtime.dub.frames import Fit
from talkies.studio import common, jobs


def dub(video, script, audio, voice, fit, mix, face, request=None, progress=None):
    from talkies.runtime.dub import VideoDubber, VideoDubberOptions

    with jobs.job("dub", progress=progress, request=request) as job:
        video = common.check_upload(jobs.need(video, "video file"), "video")
        script, audio = common.speech_source(script, audio)
        options = VideoDubberOptions(fit=fit, mix_original=float(mix), face=common.face_index(face))
        out = job.path("dubbed.mp4")
        job.stage(0.02, "loading the face models")
        with VideoDubber(options, models=common.face_models("render")) as dubber:
            job.stage(0.05, "speaking" if script else "lip-syncing the audio")
            if audio:
                report = dubber.dub_audio(video, audio, out)
            else:
                report = dubber.dub_text(video, script, out, voice=jobs.need(voice, "voice"))
        files = [str(report.path)] + ([str(report.subtitles)] if report.subtitles else [])
        w, h = report.size
        return str(report.path), files, f"{report.frames} frames, {w}×{h}, {report.duration:.2f} s in " \
                                        f"{report.seconds:.1f} s"


def build(heavy: dict) -> None:
    with gr.Row():
        with gr.Column():
            video = gr.Video(label="Video with a talking face", sources=["upload"], elem_id="dub-video-input",
                             height=300)
            face = gr.Dropdown(["largest"] + [str(i) for i in range(8)], value="largest",
                               label="Face (numbered in order of appearance)")
        with gr.Column():
            script = gr.Textbox(label="New script", lines=3, elem_id="dub-script")
            audio = gr.Audio(label="…or new audio", sources=["upload", "microphone"], type="filepath")
            voice = gr.Dropdown(common.voice_choices(), value="kokoro:af_heart", label="Voice")
            with gr.Row():
                fit = gr.Dropdown([f.value for f in Fit], value="loop", label="Speech longer than the video")
                mix = gr.Slider(0.0, 1.0, value=0.0, step=0.05, label="Original audio underneath")
            with gr.Row():
                go = gr.Button("Dub", variant="primary", elem_id="dub-run")
                stop = gr.Button("Cancel", variant="stop")
    with gr.Row():
        out = gr.Video(label="Dubbed video", interactive=False, height=360, elem_id="dub-video")
        with gr.Column():
            downloads = gr.File(label="Downloads (MP4, SRT)", file_count="multiple", interactive=False,
                                elem_id="dub-downloads")
            summary = gr.Markdown(elem_id="dub-summary")

    def _dub(video, script, audio, voice, fit, mix, face, request: gr.Request, progress=gr.Progress()):
        return dub(video, script, audio, voice, fit, mix, face, request, progress)

    event = go.click(_dub, [video, script, audio, voice, fit, mix, face], [out, downloads, summary], **heavy)
    stop.click(jobs.cancel_handler, None, summary, cancels=[event])
