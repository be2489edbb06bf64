"""Importing a plugin changes no process-wide setting: warning filters, logger levels, the
environment. A setting made at import would hold for every other plugin and for the user's
own code in the same process (a notebook), and would depend on which plugins happened to load."""

import json
import subprocess
import sys

PROBE = r"""
import json, logging, os, warnings

def state():
    levels = {name: logger.level for name, logger in logging.root.manager.loggerDict.items()
              if isinstance(logger, logging.Logger)}
    return {"filters": [repr(f) for f in warnings.filters], "root": logging.root.level,
            "environ": dict(os.environ)}, levels

# The libraries plugins use may set what they like when imported; import them first.
import torch, lightning, sklearn, xgboost, torch_geometric, requests, urllib3
before, levels_before = state()
from framework.plugin_manager import PluginManager
PluginManager().load_all()
after, levels_after = state()
changed = {name: (levels_before.get(name), level) for name, level in levels_after.items()
           if name in levels_before and levels_before[name] != level}
print(json.dumps({"same": before == after, "before": before["filters"],
                  "after": after["filters"], "changed_levels": changed}))
"""


def test_loading_every_plugin_changes_no_process_wide_setting():
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    added = [f for f in report["after"] if f not in report["before"]]
    assert report["changed_levels"] == {} and added == [] and report["same"], report
