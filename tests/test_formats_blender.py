"""Integration (make integration; TALKIES_INTEGRATION=1): Blender, run headless, imports talking-head GLBs.

- The canonical head made by `talkies lipsync --with-head` from a speech card: its 52 shape keys, the action's
  frame count and the shape-key values at 5 sampled frames match the curves; three frames are rendered.
- Grace Hopper's own head made by `talkies animate grace_hopper.jpg --text ... -o NAME.glb` (the photo's face,
  textured with the photo): the same checks, and three frames rendered where the curves close, open and
  close the mouth again. The mouth gap is measured in the renders: the film is transparent, so the gap
  between the lips is where the render has no surface.

TALKIES_RENDER_DIR keeps the GLBs and renders (and grace_hopper_speaking.png, the three frames side by side)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from talkies.runtime.blendshapes import ARKIT_NAMES, Blendshape
from talkies.runtime.formats import write_curves
from talkies.runtime.gltf_anim import read_gltf_motion
from talkies.runtime.rig import LIPS_LOWER_OUTER, LIPS_UPPER_OUTER
from talkies.tests.helpers.cli import run_cli
from talkies.tests.helpers.media import grace_hopper_path

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    os.environ.get("TALKIES_INTEGRATION") != "1" or shutil.which("blender") is None,
    reason="integration test: run `make integration` (needs Debian's blender)")]

SPEECH = Path(__file__).resolve().parents[2] / "shared" / "data" / "speech" / "cards" / "001.wav"
#: What Grace Hopper says in the rendered GLB (p/b/m close the lips between open vowels).
SCRIPT = "Peter picked a pepper, and Bob may buy a big map."
#: The outer lip outline: its box in the render is the mouth region measured.
LIPS = sorted(set(LIPS_UPPER_OUTER + LIPS_LOWER_OUTER))
SIZE = 320  # render width and height, pixels

BLENDER_SCRIPT = r'''
import bpy, json, math, sys
import numpy
if not hasattr(numpy, "bool"):  # Debian's Blender 3.4 glTF importer still says np.bool (gone in numpy 1.24)
    numpy.bool = bool
from bpy_extras.object_utils import world_to_camera_view
glb, out_dir, args = sys.argv[sys.argv.index("--") + 1:]
args = json.loads(args)
bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.context.scene
scene.render.fps = args["fps"]  # before the import: the importer turns seconds into frames at this rate
bpy.ops.import_scene.gltf(filepath=glb)
obj = next(o for o in bpy.data.objects if o.type == "MESH")
keys = obj.data.shape_keys
action = keys.animation_data.action
report = {"names": [kb.name for kb in keys.key_blocks[1:]], "frame_range": list(action.frame_range),
          "vertices": len(obj.data.vertices), "values": {}, "lips": {},
          "textured": any(n.type == "TEX_IMAGE" and n.image is not None
                          for m in obj.data.materials for n in m.node_tree.nodes)}
first = action.frame_range[0]
for f in args["sample"]:
    scene.frame_set(int(round(first + f)))
    report["values"][str(f)] = {kb.name: kb.value for kb in keys.key_blocks[1:]}
cam = bpy.data.objects.new("cam", bpy.data.cameras.new("cam"))
cam.location = (0.0, -0.34, -0.03)
cam.rotation_euler = (math.radians(90), 0, 0)
scene.collection.objects.link(cam)
scene.camera = cam
sun = bpy.data.objects.new("sun", bpy.data.lights.new("sun", "SUN"))
sun.rotation_euler = (math.radians(70), 0, math.radians(-15))
sun.data.energy = 1.5
scene.collection.objects.link(sun)
world = bpy.data.worlds.new("w")
world.color = (0.6, 0.6, 0.6)  # soft light all round: the photo keeps its own shading
scene.world = world
scene.render.film_transparent = True  # the background (and the mouth gap) render transparent
scene.view_settings.view_transform = "Standard"  # the photo's colours as they are, not Filmic's
scene.render.engine = "CYCLES"
scene.cycles.samples = 32
scene.cycles.device = "CPU"
scene.cycles.use_denoising = False
scene.view_layers[0].cycles.use_denoising = False
scene.render.resolution_x = scene.render.resolution_y = args["size"]
scene.render.image_settings.color_mode = "RGBA"
for f in args["render"]:
    scene.frame_set(int(round(first + f)))
    graph = bpy.context.evaluated_depsgraph_get()
    shown = obj.evaluated_get(graph)
    mesh = shown.to_mesh()
    # the importer keeps the GLB's vertex order (it drops only the unused iris points at the end)
    points = [world_to_camera_view(scene, cam, shown.matrix_world @ mesh.vertices[i].co) for i in args["lips"]]
    report["lips"][str(f)] = [[p.x * args["size"], (1.0 - p.y) * args["size"]] for p in points]
    shown.to_mesh_clear()
    scene.render.filepath = f"{out_dir}/frame_{f:04d}.png"
    bpy.ops.render.render(write_still=True)
print("TALKIES_REPORT " + json.dumps(report))
'''


def _blender(glb: Path, out_dir: Path, tmp_path: Path, *, fps: float, sample: list[int], render: list[int]) -> dict:
    script = tmp_path / "check.py"
    script.write_text(BLENDER_SCRIPT)
    args = {"fps": int(round(fps)), "sample": sample, "render": render, "lips": LIPS, "size": SIZE}
    proc = subprocess.run(["blender", "-b", "--factory-startup", "-noaudio", "-P", str(script), "--",
                           str(glb), str(out_dir), json.dumps(args)], capture_output=True, text=True, timeout=900)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("TALKIES_REPORT ")), None)
    assert line, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(line.split(" ", 1)[1])


def _check_import(report: dict, motion, sample: list[int]) -> None:
    # Blender drops the 10 iris points no triangle uses
    assert report["names"] == list(ARKIT_NAMES) and report["vertices"] in (468, 478)
    first, last = report["frame_range"]
    assert last - first == pytest.approx(len(motion) - 1, abs=1)
    for f in sample:  # the motion's frame f is Blender's frame first + f
        got = report["values"][str(f)]
        for name in ARKIT_NAMES:
            assert got[name] == pytest.approx(motion.weights[f, Blendshape[name]], abs=0.02), (f, name)


def _out_dir(tmp_path: Path) -> Path:
    out = Path(os.environ.get("TALKIES_RENDER_DIR", tmp_path))
    out.mkdir(parents=True, exist_ok=True)
    return out


def test_blender_imports_and_renders_the_talking_head(tmp_path: Path):
    out_dir = _out_dir(tmp_path)
    photo_motion = out_dir / "head.glb"
    assert run_cli("lipsync", SPEECH, "--format", "glb", "--with-head", "-o", photo_motion) == 0
    motion = read_gltf_motion(photo_motion)
    jaw = motion.weights[:, Blendshape.jawOpen]
    order = np.argsort(jaw)
    render = [int(order[0]), int(order[len(order) // 2]), int(order[-1])]
    sample = [int(f) for f in np.linspace(0, len(motion) - 1, 5).round()]
    report = _blender(photo_motion, out_dir, tmp_path, fps=motion.fps, sample=sample, render=render)
    _check_import(report, motion, sample)
    for f in render:
        assert (out_dir / f"frame_{f:04d}.png").stat().st_size > 1000
    (tmp_path / "report.json").write_text(json.dumps({"render": render, "jaw": [float(jaw[f]) for f in render]}))
    write_curves(motion, tmp_path / "again.glb", "glb")  # the read-back motion writes again


def closed_open_closed(jaw: np.ndarray, *, closed: float = 0.1, speaking: float = 0.15) -> list[int]:
    """Three frames inside the speech: the mouth closed, then wide open, then closed again. The open frame is
    the first near the widest opening with a closure on each side; each closed frame is the middle of the
    nearest run of closed frames (a p, b or m) on its side."""
    talk = np.flatnonzero(jaw > speaking)
    onset, offset = int(talk[0]), int(talk[-1])
    runs = []  # (start, end) of each closed run strictly inside the speech
    for f in range(onset + 1, offset):
        if jaw[f] <= closed:
            if runs and runs[-1][1] == f - 1:
                runs[-1][1] = f
            else:
                runs.append([f, f])
    for peak in np.flatnonzero(jaw >= 0.9 * jaw.max()):
        before = [r for r in runs if r[1] < peak]
        after = [r for r in runs if r[0] > peak]
        if before and after:
            return [sum(before[-1]) // 2, int(peak), sum(after[0]) // 2]
    raise AssertionError(f"no closed-open-closed frames in the jaw curve {np.round(jaw, 2).tolist()}")


def test_blender_renders_grace_hopper_speaking(tmp_path: Path):
    from PIL import Image, ImageDraw, ImageFont

    out_dir = _out_dir(tmp_path) / "grace_hopper"
    out_dir.mkdir(exist_ok=True)
    glb = out_dir / "grace_hopper.glb"
    assert run_cli("animate", grace_hopper_path(), "--text", SCRIPT, "-o", glb) == 0
    motion = read_gltf_motion(glb)
    jaw = motion.weights[:, Blendshape.jawOpen]
    render = closed_open_closed(jaw)
    sample = [int(f) for f in np.linspace(0, len(motion) - 1, 5).round()]
    report = _blender(glb, out_dir, tmp_path, fps=motion.fps, sample=sample, render=render)
    _check_import(report, motion, sample)
    assert report["textured"], "Blender's material has no image texture: the photo did not come through"

    frames = [np.asarray(Image.open(out_dir / f"frame_{f:04d}.png").convert("RGBA")) for f in render]
    lips = np.concatenate([np.asarray(report["lips"][str(f)]) for f in render])
    x0, y0 = np.floor(lips.min(axis=0)).astype(int) - 2
    x1, y1 = np.ceil(lips.max(axis=0)).astype(int) + 3
    window = (slice(max(y0, 0), min(y1, SIZE)), slice(max(x0, 0), min(x1, SIZE)))
    # the mouth gap: pixels inside the lips' box where the render has no surface
    gap = [int(np.sum(img[window][..., 3] < 128)) for img in frames]
    face = [int(np.sum(img[..., 3] >= 128)) for img in frames]
    colour = [img[window][..., :3].astype(np.float64) for img in frames]
    change = [float(np.abs(colour[1] - colour[k]).mean()) for k in (0, 2)]
    summary = {"frames": render, "seconds": [round(f / motion.fps, 2) for f in render],
               "jawOpen": [round(float(jaw[f]), 3) for f in render], "mouth_gap_px": gap,
               "mouth_window_px": [int(x1 - x0), int(y1 - y0)], "face_px": face,
               "open_vs_closed_mean_abs_rgb": [round(c, 1) for c in change]}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print("GRACE_HOPPER_RENDER " + json.dumps(summary))
    assert min(face) > 0.15 * SIZE * SIZE  # the head fills the picture
    assert gap[1] >= 150 and gap[1] >= 10 * max(gap[0], gap[2], 1), summary
    assert min(change) > 10, summary

    # the three frames side by side, each captioned with its time and jawOpen
    backdrop = (24, 26, 33)
    strip = Image.new("RGB", (SIZE * 3, SIZE + 30), backdrop)
    draw, font = ImageDraw.Draw(strip), ImageFont.load_default(size=16)
    for k, (f, img) in enumerate(zip(render, frames)):
        rgba = Image.fromarray(img)
        strip.paste(rgba, (k * SIZE, 0), rgba)
        draw.text((k * SIZE + SIZE // 2, SIZE + 14), f"{f / motion.fps:.2f} s · jawOpen {jaw[f]:.2f}",
                  fill=(220, 220, 220), font=font, anchor="mm")
    strip.save(_out_dir(tmp_path) / "grace_hopper_speaking.png")
