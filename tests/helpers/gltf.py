"""The Khronos glTF validator (npm gltf-validator, installed into .venv/node by `make install`), for the tests
that write GLB, glTF and VRMA files."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VALIDATOR = ROOT / ".venv" / "node" / "node_modules" / "gltf-validator"

_SCRIPT = ("const v=require(process.argv[1]);const fs=require('fs');"
           "v.validateBytes(new Uint8Array(fs.readFileSync(process.argv[2]))).then(r=>"
           "console.log(JSON.stringify({errors:r.issues.numErrors,warnings:r.issues.numWarnings,"
           "infos:r.issues.numInfos,messages:r.issues.messages.filter(m=>m.severity<=1)"
           ".map(m=>m.code+' '+m.pointer)})))")


def validate(path: Path) -> dict:
    """The validator's counts (errors, warnings, infos) and its error and warning messages for one file."""
    assert VALIDATOR.exists() and shutil.which("node"), "the Khronos glTF validator comes with `make install`"
    out = subprocess.run(["node", "-e", _SCRIPT, str(VALIDATOR), str(path)], capture_output=True, text=True,
                         check=True, timeout=120)
    return json.loads(out.stdout)
