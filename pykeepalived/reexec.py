"""The argv that runs this same pykeepalived again in a new process (children, lab nodes).

`python -m pykeepalived` is not enough: the .deb keeps pykeepalived (with its bundled pyroute2)
in /usr/lib/pykeepalived, on no interpreter's default path, and a re-executed process must run
the very code its parent runs, whatever the install. So the new interpreter puts the directory
the parent's pykeepalived came from first on sys.path. -P: never import from the cwd (root
started in /tmp must not run a planted module).
"""

from __future__ import annotations

import os
import sys

_BOOT = ("import sys; sys.path.insert(0, sys.argv.pop(1)); "
         "from pykeepalived.cli import main; sys.exit(main())")


def self_command(*args: str) -> list[str]:
    """[python, ..., *args]: pykeepalived's command line `args`, in a new interpreter."""
    import pykeepalived

    lib = os.path.dirname(os.path.dirname(os.path.abspath(pykeepalived.__file__)))
    return [sys.executable, "-P", "-c", _BOOT, lib, *args]
