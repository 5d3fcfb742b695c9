"""``podman_nb.environment``: environment images from a project folder or a Python interpreter (no IPython).

The code lives in the domain layer (``podman_nb.domain.environment``); this is its public name.
"""

from .domain.environment import (SUPPORTED_BASES, SUPPORTED_PYTHONS, Environment, build, default_base,  # noqa: F401
                                 explain, from_folder, from_interpreter, pip_config)

__all__ = ["SUPPORTED_BASES", "SUPPORTED_PYTHONS", "Environment", "build", "default_base", "explain",
           "from_folder", "from_interpreter", "pip_config"]
