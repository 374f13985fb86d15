"""The image lock is derived from the full lock: same pins, nothing missing, never edited by hand."""

from __future__ import annotations

import pytest

from scripts import image_lock


def test_image_lock_is_up_to_date() -> None:
    assert image_lock.main(["--check"]) == 0, "run: python scripts/image_lock.py"


def test_image_lock_pins_are_the_full_lock_pins() -> None:
    full, image = image_lock.read_lock(image_lock.FULL_LOCK), image_lock.read_lock(image_lock.IMAGE_LOCK)
    assert {name: full[name] for name in image} == image
    assert "mlflow-skinny" in image and "mlflow" not in image  # the tracking server stays out of the image


def test_a_dependency_missing_from_the_full_lock_is_an_error() -> None:
    lock = image_lock.read_lock(image_lock.FULL_LOCK)
    del lock["packaging"]  # every other root depends on it, one way or another
    with pytest.raises(SystemExit, match="packaging is needed"):
        image_lock.closure(image_lock.roots(), lock)
