#!/usr/bin/env python3
"""Side-by-side runs for `scripts/bench --compare`: one harness, two hub builds.

Usage: bench-compare.py HUB_A HUB_B LOADTEST ROUNDS REF_NAME

For each scenario and subprotocol, runs the harness against a fresh hub of build A
(this tree) and one of build B (REF), alternating A and B ROUNDS times so that drift
in the machine falls on both, and prints the median of A/B for the scenario's figure
(higher is better for rates, lower for latency). The hub is pinned to core 0 and the
harness to core 1 when there are two cores. Everything runs on 127.0.0.1 and every
run is bounded by its own count and time.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from benchhub import pinned, start_hub

HUB_A, HUB_B, LOADTEST, ROUNDS, REF = sys.argv[1:6]
ROUNDS = int(ROUNDS)

SCENARIOS = [
    ("fanout", ["fanout", "--subscribers", "1000", "--messages", "2000", "--window", "64"], "deliveries_per_s"),
    ("rate", ["rate", "--subscribers", "1000", "--rate", "200", "--seconds", "10"], "p99_ms"),
    ("topics", ["topics", "--subscribers", "1000", "--messages", "50000", "--window", "64"], "deliveries_per_s"),
    ("publish", ["publish", "--publishers", "100", "--resources", "1000", "--per-publisher", "1000", "--window", "32"], "acks_per_s"),
]

if os.environ.get("FILLSTACK_BENCH_SMOKE"):
    # A few seconds in all: checks the plumbing, measures nothing.
    SCENARIOS = [
        (name, [a if not a.isdigit() else str(max(1, int(a) // 100)) for a in args], key)
        for name, args, key in SCENARIOS
    ]


def run(binary, codec, args):
    with tempfile.TemporaryDirectory() as data:
        hub, addr = start_hub(binary, data)
        report = os.path.join(data, "run.jsonl")
        try:
            subprocess.run(
                pinned(1, [LOADTEST, "--url", f"ws://{addr}/ws", "--json", report, "--codec", codec, *args]),
                check=True,
                stdout=subprocess.DEVNULL,
                timeout=300,
            )
        finally:
            hub.terminate()
            hub.wait(timeout=15)
        return json.loads(open(report).read().splitlines()[-1])


def figure(report, key):
    return report["latency"][key] if key.endswith("_ms") else report[key]


print(f"this tree / {REF}, median of {ROUNDS} alternating pairs (higher is better, except p99):")
print(f"{'scenario':<10} {'codec':<8} {'figure':<18} {'this tree':>12} {REF[:12]:>12} {'ratio':>7}")
for name, args, key in SCENARIOS:
    for codec in ("msgpack", "json"):
        ours, theirs, ratios = [], [], []
        for _ in range(ROUNDS):
            a = figure(run(HUB_A, codec, args), key)
            b = figure(run(HUB_B, codec, args), key)
            ours.append(a)
            theirs.append(b)
            ratios.append(a / b if b else float("nan"))
        print(
            f"{name:<10} {codec:<8} {key:<18} {statistics.median(ours):>12,.1f} "
            f"{statistics.median(theirs):>12,.1f} {statistics.median(ratios):>7.2f}"
            f"  (ratios {min(ratios):.2f}-{max(ratios):.2f})"
        )
