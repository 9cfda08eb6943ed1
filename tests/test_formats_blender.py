"""Integration (make integration; TALKIES_INTEGRATION=1): Blender, run headless, imports the talking-head GLB
made from grace_hopper.jpg's speech card, with its 52 shape keys; the action's frame count and the shape-key
values at 5 sampled frames match the curves; three frames are rendered (closed, half and wide open mouth)."""

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
from talkies.tests.helpers.cli import run_cli

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    os.environ.get("TALKIES_INTEGRATION") != "1" or shutil.which("blender") is None,
    reason="integration test: run `make integration` (needs Debian's blender)")]

SPEECH = Path(__file__).resolve().parents[2] / "shared" / "data" / "speech" / "cards" / "001.wav"

BLENDER_SCRIPT = r'''
import bpy, json, math, sys
import numpy
if not hasattr(numpy, "bool"):  # Debian's Blender 3.4 glTF importer still says np.bool (gone in numpy 1.24)
    numpy.bool = bool
glb, out_dir, frames = sys.argv[sys.argv.index("--") + 1:]
frames = json.loads(frames)
bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.context.scene
scene.render.fps = 100
bpy.ops.import_scene.gltf(filepath=glb)
obj = next(o for o in bpy.data.objects if o.type == "MESH")
keys = obj.data.shape_keys
action = keys.animation_data.action
report = {"names": [kb.name for kb in keys.key_blocks[1:]], "frame_range": list(action.frame_range),
          "vertices": len(obj.data.vertices), "values": {}}
first = action.frame_range[0]
for f in frames["sample"]:
    scene.frame_set(int(round(first + f)))
    report["values"][str(f)] = {kb.name: kb.value for kb in keys.key_blocks[1:]}
cam = bpy.data.objects.new("cam", bpy.data.cameras.new("cam"))
cam.location = (0.0, -0.42, -0.035)
cam.rotation_euler = (math.radians(90), 0, 0)
scene.collection.objects.link(cam)
scene.camera = cam
sun = bpy.data.objects.new("sun", bpy.data.lights.new("sun", "SUN"))
sun.rotation_euler = (math.radians(70), 0, math.radians(-15))
sun.data.energy = 4
scene.collection.objects.link(sun)
world = bpy.data.worlds.new("w")
world.color = (0.02, 0.02, 0.03)
scene.world = world
scene.render.engine = "CYCLES"
scene.cycles.samples = 16
scene.cycles.device = "CPU"
scene.cycles.use_denoising = False
scene.view_layers[0].cycles.use_denoising = False
scene.render.resolution_x = scene.render.resolution_y = 240
for f in frames["render"]:
    scene.frame_set(int(round(first + f)))
    scene.render.filepath = f"{out_dir}/frame_{f:04d}.png"
    bpy.ops.render.render(write_still=True)
print("TALKIES_REPORT " + json.dumps(report))
'''


def test_blender_imports_and_renders_the_talking_head(tmp_path: Path):
    photo_motion = Path(os.environ.get("TALKIES_RENDER_DIR", tmp_path)) / "head.glb"
    photo_motion.parent.mkdir(parents=True, exist_ok=True)
    assert run_cli("lipsync", SPEECH, "--format", "glb", "--with-head", "-o", photo_motion) == 0
    motion = read_gltf_motion(photo_motion)
    jaw = motion.weights[:, Blendshape.jawOpen]
    order = np.argsort(jaw)
    render = [int(order[0]), int(order[len(order) // 2]), int(order[-1])]
    sample = [int(f) for f in np.linspace(0, len(motion) - 1, 5).round()]
    script = tmp_path / "check.py"
    script.write_text(BLENDER_SCRIPT)
    out_dir = Path(os.environ.get("TALKIES_RENDER_DIR", tmp_path))
    out_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["blender", "-b", "--factory-startup", "-noaudio", "-P", str(script), "--",
                           str(photo_motion), str(out_dir), json.dumps({"sample": sample, "render": render})],
                          capture_output=True, text=True, timeout=600)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("TALKIES_REPORT ")), None)
    assert line, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(line.split(" ", 1)[1])
    # Blender drops the 10 iris points no triangle uses
    assert report["names"] == list(ARKIT_NAMES) and report["vertices"] in (468, 478)
    first, last = report["frame_range"]
    assert last - first == pytest.approx(len(motion) - 1, abs=1)
    for f in sample:  # the motion's frame f is Blender's frame first + f
        got = report["values"][str(f)]
        for name in ARKIT_NAMES:
            assert got[name] == pytest.approx(motion.weights[f, Blendshape[name]], abs=0.02), (f, name)
    for f in render:
        assert (out_dir / f"frame_{f:04d}.png").stat().st_size > 1000
    (tmp_path / "report.json").write_text(json.dumps({"render": render, "jaw": [float(jaw[f]) for f in render]}))
    write_curves(motion, tmp_path / "again.glb", "glb")  # the read-back motion writes again
