"""Checks of the shared test helpers themselves (talkies.tests.helpers); the kernel references are checked in
test_kernels_reference.py."""

from __future__ import annotations

import numpy as np

from talkies.tests.helpers.faces import PHOTOS
from talkies.tests.helpers.media import photo


def test_reference_photos_load():
    for name in PHOTOS:
        img = photo(name)
        assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
