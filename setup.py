"""Maps each top-level folder to a `talkies.<folder>` subpackage (see DESIGN.md, Layout)."""

from setuptools import find_packages, setup

# the same list as talkies.paths.SUBPACKAGES (tests/test_layering.py checks that they agree)
SUBPACKAGES = ["export", "runtime", "kernels", "quantization", "targets", "benchmarks", "tests", "models"]

packages = ["talkies", *(p for p in find_packages(include=["talkies.*"]))]
package_dir = {"talkies": "talkies"}
for folder in SUBPACKAGES:
    package_dir[f"talkies.{folder}"] = folder
    packages.append(f"talkies.{folder}")
    packages += [f"talkies.{folder}.{sub}" for sub in find_packages(where=folder)]

# Shipped data: the lip-sync weights and ONNX bundles, the face rig, the canonical face mesh.
package_data = {"talkies.models": ["**/*.npz", "**/*.onnx", "**/*.json", "**/*.md"]}

setup(packages=packages, package_dir=package_dir, package_data=package_data)
