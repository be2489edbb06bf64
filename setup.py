"""Ship the Hydra configuration tree ``conf/`` inside the wheel, as ``framework/conf``.

``conf/`` lives at the repository root (where users expect it), but a non-editable install
has no repository root: the build copies the tree into the package so that
``framework.paths.config_dir`` finds it in both layouts.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithConf(build_py):
    def run(self) -> None:
        super().run()
        if not self.editable_mode:
            shutil.copytree("conf", Path(self.build_lib, "framework", "conf"), dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildPyWithConf})
