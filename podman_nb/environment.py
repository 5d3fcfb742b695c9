"""``podman_nb.environment``: environment images from a project folder or a Python interpreter (no IPython).

The code lives in the domain layer, one module per job: ``environments`` (reading a folder, one handler per file),
``frozen_interpreter`` (freezing one), ``containerfile_steps`` (writing the Containerfile) and
``environment_image`` (the Environment, its context and its build), ``environment_lock`` (a conda project's
lock, solved in a build); this is their public name.
"""

from .domain.containerfile_steps import SUPPORTED_BASES, SUPPORTED_PYTHONS, default_base, pip_config  # noqa: F401
from .domain.environment_image import Environment, build  # noqa: F401
from .domain.environment_lock import lock  # noqa: F401
from .domain.environments import from_folder  # noqa: F401
from .domain.frozen_interpreter import from_interpreter  # noqa: F401

__all__ = ["SUPPORTED_BASES", "SUPPORTED_PYTHONS", "Environment", "build", "default_base", "from_folder",
           "from_interpreter", "lock", "pip_config"]
