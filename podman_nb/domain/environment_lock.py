"""``%image_env PATH --lock``: solve a conda project's environment.yml where its build would, and write the
result into the project as ``conda-lock.yml`` (conda-lock's unified format), which later builds install as it is.

``lock(images, from_folder(PATH, write_lock=True))``: the solve runs in the build's own solve step
(``environments.conda``: py-rattler from the configured pip index, the channels' credentials as a build secret),
in a Containerfile of the base and that step alone, which writes the lock instead of installing; the file is
read out of that image through a container made and removed at once (``ImagesManager.read_file``), then the
image goes too. The folder gets the file only when the solve succeeded; the file names the channels without
credentials, as the environment's records do.
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import InvalidArgument
from .environment_image import Environment, build
from .environments.conda import LOCK_IN_IMAGE


def lock(images: Any, environment: Environment, **kwargs: Any) -> str:
    """Solve ``environment`` (``from_folder(PATH, write_lock=True)``) in a build (``images.build``'s other
    keywords, no ``tag``) and write the project's ``conda-lock.yml``; the file's path.

    Raises:
        InvalidArgument: ``environment`` was not made to write a lock.
        BuildError: the solve failed (its one sentence); nothing is written.
    """
    if environment.lock_path is None:
        raise InvalidArgument("lock() needs the environment of from_folder(PATH, write_lock=True)")
    image, _ = build(images, environment, **kwargs)
    try:
        content = images.read_file(image.id, LOCK_IN_IMAGE)
    finally:
        images.remove(image.id, force=True)
    partial = f"{environment.lock_path}.{os.getpid()}.part"
    with open(partial, "wb") as file:
        file.write(content)
    os.replace(partial, environment.lock_path)
    return environment.lock_path
