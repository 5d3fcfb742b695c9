"""Environment handlers: one module per environment file a project folder may hold (repo2docker's names),
and ``compose`` which asks each, in repo2docker's order and precedence, what it contributes to the
environment image's Containerfile. ``from_folder`` is the entry point.

- ``handler``: what handlers share (``Project``, the folder as they see it; ``Plan``, what they contribute)
- ``dockerfile``: a Dockerfile/Containerfile, built as it is
- ``refused``: R, Julia, Nix: one sentence, nothing built
- ``conda`` (with ``conda_yaml``, its reader, and ``conda_install``, the script its solve and install step runs),
  ``pipfile``, ``requirements``: the Python packages (only the first that applies is used, in that order)
- ``runtime``, ``apt``, ``postbuild``, ``start``: compose with any of them
"""

from .compose import from_folder  # noqa: F401
