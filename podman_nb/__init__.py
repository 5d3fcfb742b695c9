"""podman_nb: manage Podman container images from Python, IPython and Jupyter.

``PodmanClient().images`` follows podman-py's ImagesManager; ``%load_ext podman_nb`` adds the magics.
"""

from . import errors, failures  # noqa: F401 (failures: the one table behind str(error))
from .api.api_client import APIClient
from .api.connections import Connection, list_connections
from .client import PodmanClient
from .domain.images import Image
from .domain.manager import ImagesManager

__version__ = "0.1.0"
__all__ = ["APIClient", "Connection", "Image", "ImagesManager", "PodmanClient", "errors", "list_connections",
           "load_ipython_extension"]


def load_ipython_extension(ipython):
    """``%load_ext podman_nb``: register the image magics."""
    from .notebook.magics import load_ipython_extension as load
    load(ipython)


def unload_ipython_extension(ipython):
    from .notebook.magics import unload_ipython_extension as unload
    unload(ipython)
