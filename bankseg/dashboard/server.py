"""Where the dashboard finds the project, and the server settings that keep it safe.

The launcher (``python -m bankseg.dashboard``) needs only these: this module imports the
standard library and :mod:`bankseg.layout` alone, so its ``--help`` answers at once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bankseg import layout

ROOT_VARIABLE = "BANKSEG_ROOT"

# Server settings the launcher passes on the command line; .streamlit/config.toml holds the
# same values (a test checks they agree), so they also apply to a plain `streamlit run`.
SAFE_OPTIONS: dict[str, Any] = {
    "server.address": "127.0.0.1",  # reachable from this machine only
    # Only a page loaded from this machine by these names may open the app's connection: a
    # site that points its own name at 127.0.0.1 (DNS rebinding) is refused.
    "server.allowedHosts": ["127.0.0.1", "localhost"],
    "server.headless": True,  # do not try to open a browser
    "server.maxUploadSize": 50,  # MB, checked by the browser, the server and the app
    "server.enableXsrfProtection": True,
    "server.enableCORS": True,
    "server.enableStaticServing": False,
    "server.fileWatcherType": "none",
    "server.runOnSave": False,
    "server.showEmailPrompt": False,
    "browser.gatherUsageStats": False,  # no usage statistics sent anywhere
    "client.toolbarMode": "minimal",
    "client.showErrorDetails": "none",  # never a traceback in the page
    "client.disableDataExport": True,  # no unescaped CSV export button on tables
}


def option_args(options: dict[str, Any] = SAFE_OPTIONS) -> list[str]:
    """``--server.address=127.0.0.1 ...``: the options as ``streamlit run`` flags (a list as
    one flag per item)."""
    flags = []
    for key, value in options.items():
        for item in value if isinstance(value, list) else [value]:
            flags.append(f"--{key}={str(item).lower() if isinstance(item, bool) else item}")
    return flags


def project_root() -> Path:
    """The project folder: ``$BANKSEG_ROOT``, else the working directory if it holds a
    ``params.yaml``, else the repository this package was installed from."""
    if os.environ.get(ROOT_VARIABLE):
        return Path(os.environ[ROOT_VARIABLE]).expanduser().resolve()
    if (Path.cwd() / layout.PARAMS).is_file():
        return Path.cwd().resolve()
    return Path(__file__).resolve().parents[2]
