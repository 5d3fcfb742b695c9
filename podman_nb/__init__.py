"""podman_nb: manage Podman container images from Python, IPython and Jupyter.

``PodmanClient().images`` follows podman-py's ImagesManager; ``%load_ext podman_nb`` adds the magics.
"""

import importlib

# the public names import on first use: a container kernel's launcher (python -m podman_nb.kernel) needs only the
# transport, and the images layer would cost it a twentieth of a second at every kernel start (``errors`` and the
# client's requests a fifth more)
_FROM = {"APIClient": ".api.api_client", "Connection": ".api.connections", "list_connections": ".api.connections",
         "PodmanClient": ".client", "Image": ".domain.images", "ImagesManager": ".domain.manager"}

__version__ = "0.1.0"
__all__ = ["APIClient", "Connection", "Image", "ImagesManager", "PodmanClient", "errors", "list_connections",
           "load_ipython_extension"]


def load_ipython_extension(ipython):
    """``%load_ext podman_nb``: register the image magics."""
    from .notebook.arguments import METHOD_NAMES
    from .notebook.magics import load_ipython_extension as load
    load(ipython)
    for alias, magic_name in METHOD_NAMES.items():  # %image_remove is %image_rm, and so on
        ipython.magics_manager.register_alias(alias, magic_name, "line")


def unload_ipython_extension(ipython):
    from .notebook.magics import unload_ipython_extension as unload
    unload(ipython)


def __getattr__(name):
    if name == "errors":  # the module (importing it makes it this package's attribute)
        return importlib.import_module(".errors", __name__)
    if name not in _FROM:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = globals()[name] = getattr(importlib.import_module(_FROM[name], __name__), name)
    return value
