"""Lip-sync curves: audio → :class:`talkies.LipSync` → a plot of the visemes and the main mouth weights,
and the curves in every format `talkies lipsync` writes (:data:`talkies.runtime.formats.FORMATS`)."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np

from talkies.studio import common, jobs
from talkies.types import Expression

MOUTH_WEIGHTS = ("jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthSmileLeft", "mouthStretchLeft")


def plot(motion, path: Path) -> Path:
    """Two panels over time: the 15 visemes as a heat map, the main mouth weights as lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from talkies.runtime.blendshapes import VISEME_NAMES, Blendshape

    t = np.asarray(motion.timestamps)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 5), sharex=True, height_ratios=(1.1, 1))
    if motion.visemes is not None:
        end = float(t[-1]) if len(t) else 1.0
        top.imshow(np.asarray(motion.visemes).T, aspect="auto", origin="lower", cmap="magma",
                   extent=(float(t[0]) if len(t) else 0.0, end, -0.5, len(VISEME_NAMES) - 0.5), vmin=0, vmax=1)
        top.set_yticks(range(len(VISEME_NAMES)), VISEME_NAMES, fontsize=7)
    top.set_title("visemes")
    weights = np.asarray(motion.weights)
    for name in MOUTH_WEIGHTS:
        bottom.plot(t, weights[:, Blendshape[name].value], label=name, linewidth=1.2)
    bottom.set_ylim(0, 1)
    bottom.set_xlabel("time (s)")
    bottom.set_ylabel("weight")
    bottom.legend(fontsize=7, ncol=3, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def lipsync(audio, expression, intensity, smooth, request=None, progress=None):
    from talkies.runtime.formats import EXTENSIONS, FORMATS, write_curves
    from talkies.runtime.lipsync import LipSync, LipSyncOptions

    with jobs.job("curves", progress=progress, request=request) as job:
        audio = common.check_upload(jobs.need(audio, "audio file"), "audio")
        options = LipSyncOptions(intensity=float(intensity), expression=expression, smoothing=bool(smooth))
        job.stage(0.1, "lip-syncing")
        with LipSync(options) as task:
            motion = task.process_file(audio)
        stem = Path(audio).stem or "speech"
        files = []
        for i, fmt in enumerate(FORMATS):
            job.stage(0.5 + 0.4 * i / len(FORMATS), f"writing {fmt}")
            extra = {"sound_file": Path(audio).name} if fmt in ("rhubarb", "papagayo") else {}
            name = f"{stem}.{fmt}{EXTENSIONS[fmt]}" if EXTENSIONS[fmt] in (".json",) else f"{stem}{EXTENSIONS[fmt]}"
            files.append(str(write_curves(motion, job.path(name), fmt, **extra)))
        image = plot(motion, job.path("curves.png"))
        return str(image), files, f"{len(motion)} frames, {motion.duration:.2f} s; {len(files)} formats"


def build(heavy: dict) -> None:
    with gr.Row():
        with gr.Column(scale=1):
            audio = gr.Audio(label="Speech", sources=["upload", "microphone"], type="filepath",
                             elem_id="curves-audio")
            with gr.Row():
                expression = gr.Dropdown([e.value for e in Expression], value="neutral", label="Expression")
                intensity = gr.Slider(0.0, 2.0, value=1.0, step=0.1, label="Intensity")
            smooth = gr.Checkbox(value=True, label="Coarticulation smoothing")
            with gr.Row():
                go = gr.Button("Lip-sync", variant="primary", elem_id="curves-run")
                stop = gr.Button("Cancel", variant="stop")
        with gr.Column(scale=2):
            image = gr.Image(label="Visemes and mouth weights", interactive=False, elem_id="curves-plot")
            downloads = gr.File(label="Curves in every format", file_count="multiple", interactive=False)
            summary = gr.Markdown()

    def _run(audio, expression, intensity, smooth, request: gr.Request, progress=gr.Progress()):
        return lipsync(audio, expression, intensity, smooth, request, progress)

    event = go.click(_run, [audio, expression, intensity, smooth], [image, downloads, summary], **heavy)
    stop.click(jobs.cancel_handler, None, summary, cancels=[event])
