"""Container kernels: the launcher that a podman_nb kernelspec runs (``python -m podman_nb.kernel ... -f FILE``).

``containers`` says what a kernel container is (its create spec, labels), ``probe`` checks an image at registration;
``launcher`` runs one for Jupyter; ``init`` is the small init inside it. No IPython, no podman CLI: the
REST API through ``podman_nb.api``.
"""
