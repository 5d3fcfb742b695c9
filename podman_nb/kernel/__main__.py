"""``python -m podman_nb.kernel --name NAME --image IMAGE [...] -f CONNECTION_FILE``: see ``launcher``."""
import sys

from .launcher import main

sys.exit(main())
