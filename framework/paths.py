"""Where the Hydra configuration tree lives, installed or in a checkout."""

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def config_dir() -> Path:
    """Return the directory holding ``config.yaml``.

    A wheel carries the tree inside the package (see ``setup.py``); a checkout or an editable
    install reads the repository's ``conf/`` so edits take effect without reinstalling.
    """
    packaged = _PACKAGE_DIR / "conf"
    if (packaged / "config.yaml").is_file():
        return packaged
    return _PACKAGE_DIR.parent / "conf"
