#!/usr/bin/env python3
"""Where a hub's CPU goes per delivery and per publish (`scripts/bench` profile summary).

Usage: bench-profile.py HUB LOADTEST OUT.md [LABEL]

Starts a fresh hub of the build HUB (pinned to core 0 when there are two cores),
and for each of three runs of the harness LOADTEST (pinned to core 1) records the
hub's core with `perf record` (sampling, no call graphs) while the run lasts,
keeping the hub's own samples:

- fanout (1000 subscribers, 2000 changes): CPU per delivery;
- topics (1000 subscribers of one resource each, 50 000 durable publishes): CPU per
  publish, each delivered once;
- publish (100 publishers x 1000 resources, 100 000 durable acks): CPU per ack.

The hub's CPU time for each run is read from /proc/PID/stat (utime + stime) before
and after; perf's samples split it into components by symbol and shared object.
Writes a markdown table (microseconds per event, by component) to OUT.md, headed by
LABEL, and prints it. Everything runs on 127.0.0.1 and every run is bounded by its
own count and time. Needs `perf` (Debian: linux-perf) and permission to sample the
hub (perf_event_paranoid <= 1, or root).
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time

from benchhub import PIN, pinned, start_hub

HUB, LOADTEST, OUT = sys.argv[1:4]
LABEL = sys.argv[4] if len(sys.argv) > 4 else HUB
HZ = os.sysconf("SC_CLK_TCK")

RUNS = [
    ("fanout", "delivery", ["fanout", "--subscribers", "1000", "--messages", "2000", "--window", "64"], "deliveries"),
    ("topics", "publish", ["topics", "--subscribers", "1000", "--messages", "50000", "--window", "64"], "acks"),
    ("publish", "ack", ["publish", "--publishers", "100", "--resources", "1000", "--per-publisher", "1000", "--window", "32"], "acks"),
]

# (component, test on "dso symbol"), first match wins; the order matters.
COMPONENTS = [
    ("kernel: TCP send and receive", re.compile(r"kernel.*(tcp_|ip_|skb|sock|__sys_send|__sys_recv|loopback|net_rx|__netif|dev_|inet_|__dev|validate_xmit|nf_|sk_|copy_user|_copy_|csum)")),
    ("kernel: disk sync", re.compile(r"kernel.*(ext4|jbd2|blk|fsync|iomap|filemap|nvme|virtio_blk|bio_|submit_bio|xfs)")),
    ("kernel: wakeups, epoll, futex", re.compile(r"kernel.*(futex|epoll|schedule|wake|switch|ttwu|enqueue|dequeue|pick_next|finish_task|select_task|__x64_sys_|syscall|entry_|do_syscall|irq|hrtimer|update_|psi_|native_)")),
    ("kernel: other", re.compile(r"\[kernel|kernel\.kallsyms")),
    ("allocator (malloc, free)", re.compile(r"(malloc|_int_free|cfree|__libc_free|realloc|_int_realloc|free@|\bfree\b|sysmalloc|tcache|arena_)")),
    ("memcpy, memmove, memset", re.compile(r"(memcpy|memmove|memset|__memcpy|__memmove)")),
    ("store (sled)", re.compile(r"sled::|crossbeam_epoch|crc32")),
    ("encoding (MessagePack, JSON)", re.compile(r"rmp|serde_json|serde::|fillstack_protocol|ryu|itoa")),
    ("actors and tasks (actix, tokio)", re.compile(r"actix|tokio|futures|mio::|parking_lot|std::sync|std::thread|Notify|Waker|waker")),
    ("WebSocket frames and the socket path", re.compile(r"fillstack::session::socket|fillstack::session::writer|actix_http::ws|FrameScanner|bytes::")),
    ("the hub's own code", re.compile(r"fillstack")),
]


def ticks(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def components(perf_data, pid):
    report = subprocess.run(
        ["perf", "report", "-i", perf_data, "--pid", str(pid), "--no-children", "--sort", "dso,symbol", "--stdio", "-q", "--percent-limit", "0"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    shares = {name: 0.0 for name, _ in COMPONENTS}
    shares["other"] = 0.0
    for line in report.splitlines():
        match = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[.\]\s+(.*)|\s*([\d.]+)%\s+(\S+)\s+\[k\]\s+(.*)", line)
        if not match:
            continue
        if match.group(1):
            percent, dso, symbol = float(match.group(1)), match.group(2), match.group(3)
        else:
            percent, dso, symbol = float(match.group(4)), "kernel " + match.group(5), match.group(6)
        text = f"{dso} {symbol}"
        for name, test in COMPONENTS:
            if test.search(text):
                shares[name] += percent
                break
        else:
            shares["other"] += percent
    total = sum(shares.values()) or 1.0
    return {name: share / total for name, share in shares.items()}


def main():
    rows = []
    with tempfile.TemporaryDirectory() as data:
        hub, addr = start_hub(HUB, data)
        try:
            for name, event, args, count_key in RUNS:
                perf_data = os.path.join(data, f"{name}.perf")
                report = os.path.join(data, f"{name}.json")
                before = ticks(hub.pid)
                # Pinned, the hub's core is sampled as a whole: per-thread
                # sampling (-p) costs every context switch, which doubled the hub's
                # CPU in `topics`; the report keeps the hub's own samples.
                target = ["-C", "0"] if PIN else ["-p", str(hub.pid)]
                perf = subprocess.Popen(
                    ["perf", "record", "-F", "1999", *target, "-o", perf_data, "-q"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                time.sleep(0.5)
                subprocess.run(
                    pinned(1, [LOADTEST, "--url", f"ws://{addr}/ws", "--json", report, *args]),
                    check=True,
                    stdout=subprocess.DEVNULL,
                    timeout=300,
                )
                perf.send_signal(2)
                perf.wait(timeout=60)
                cpu = (ticks(hub.pid) - before) / HZ
                with open(report) as lines:
                    result = json.loads(lines.read().splitlines()[-1])
                events = result.get(count_key) or 1
                rows.append((name, event, events, cpu, components(perf_data, hub.pid)))
        finally:
            hub.terminate()
            hub.wait(timeout=20)
    names = [name for name, _ in COMPONENTS] + ["other"]
    header = "| component | " + " | ".join(f"{name} (µs per {event})" for name, event, *_ in rows) + " |"
    lines = [
        f"Hub CPU per event, {LABEL}: `scripts/bench-profile.py` (hub on core 0, harness on core 1, `perf record -F 1999` of the hub's core while each run lasts, the hub's samples kept)",
        "",
        header,
        "|---|" + "---|" * len(rows),
    ]
    for component in names:
        cells = [f"{cpu / events * 1e6 * shares[component]:.2f}" for _, _, events, cpu, shares in rows]
        lines.append(f"| {component} | " + " | ".join(cells) + " |")
    totals = [f"**{cpu / events * 1e6:.2f}**" for _, _, events, cpu, _ in rows]
    lines.append("| **all (hub CPU time / events)** | " + " | ".join(totals) + " |")
    plural = {"delivery": "deliveries", "publish": "publishes", "ack": "acks"}
    sizes = "; ".join(f"{name}: {events:,} {plural[event]} in {cpu:.2f} s of hub CPU" for name, event, events, cpu, _ in rows)
    lines += ["", sizes + " (each run's connecting included: under 0.1 s of hub CPU for 1000 sessions)."]
    text = "\n".join(lines) + "\n"
    with open(OUT, "w") as out:
        out.write(text)
    print(text)


main()
