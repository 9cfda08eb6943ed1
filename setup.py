"""Maps each top-level folder to a `talkies.<folder>` subpackage (see DESIGN.md, Layout)."""

from setuptools import find_packages, setup

SUBPACKAGES = ["export", "runtime", "kernels", "quantization", "targets", "benchmarks", "tests", "models"]

packages = ["talkies", *(p for p in find_packages(include=["talkies.*"]))]
package_dir = {"talkies": "talkies"}
for folder in SUBPACKAGES:
    package_dir[f"talkies.{folder}"] = folder
    packages.append(f"talkies.{folder}")
    packages += [f"talkies.{folder}.{sub}" for sub in find_packages(where=folder)]

setup(packages=packages, package_dir=package_dir, include_package_data=True)
