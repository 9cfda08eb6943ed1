"""Helpers shared by the test modules (and benchmarks/tracking.py), one job a module: `media` (the sample
photos and sound), `faces` (face references, models, bundles, clips), `kernels` (plain-NumPy kernel
references), `toolchain` (the tiny test-only model specs and bundles), `formats` (reference format text)
and `cli` (the CLI in-process). Import them as `from talkies.tests.helpers.<module> import ...`; shared
pytest fixtures live in tests/conftest.py."""
