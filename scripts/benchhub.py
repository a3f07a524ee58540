"""What bench-compare.py and bench-profile.py share: starting a fresh hub on the
core it is pinned to, and pinning the harness to the other one."""

import os
import shutil
import subprocess
import time

# The hub on core 0 and the harness on core 1, when there are two cores to split.
PIN = shutil.which("taskset") is not None and os.cpu_count() >= 2


def pinned(core, argv):
    return (["taskset", "-c", str(core)] if PIN else []) + argv


def start_hub(binary, data):
    """Starts `binary serve` on a free port of 127.0.0.1 with its store under
    `data`, pinned to core 0; returns the process and its host:port."""
    out = open(os.path.join(data, "stdout"), "w+")
    hub = subprocess.Popen(
        pinned(0, [binary, "serve", "--listen", "127.0.0.1:0", "--data", os.path.join(data, "data")]),
        stdout=out,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        out.seek(0)
        for line in out.read().splitlines():
            if line.startswith("listening on http://"):
                return hub, line.removeprefix("listening on http://")
        if hub.poll() is not None:
            break
        time.sleep(0.1)
    hub.kill()
    raise SystemExit(f"the hub {binary} did not start")
