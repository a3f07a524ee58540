#!/usr/bin/env python3
"""The README's performance table from `scripts/bench`'s runs.

Usage: bench-table.py [--profile PROFILE.md] RUNS.jsonl README.md CORES [CLUSTER.tsv PLACEMENT]

RUNS.jsonl holds one `fillstack-loadtest --json` report per line. The table between
`<!-- bench:start -->` and `<!-- bench:end -->` in README.md is replaced and printed.
Its `hubs` column is how many hubs a run's sessions were spread over (`--hubs`); a
run over several is put right after the one-hub run of the same scenario and codec.
With CLUSTER.tsv (written by `scripts/bench --cluster`: per cluster run, its wall
time and the CPU seconds each process used) a second table says how the broker,
the hubs and the load generator shared the machine's cores, and PLACEMENT how they
were pinned. With PROFILE.md (written by `scripts/bench-profile.py`) the hub's CPU
per delivery, publish and ack, by component, follows the tables.
"""

import datetime
import json
import platform
import sys


def latency(run):
    l = run["latency"]
    if not l["count"]:
        return "–"
    return f'p50 {l["p50_ms"]:.2f} / p99 {l["p99_ms"]:.2f} / p99.9 {l["p999_ms"]:.2f} ms'


def hubs_of(run):
    """How many hubs the run used (reports from before `--hubs` used one)."""
    return max(1, len(run.get("hubs") or []))


def figure(run):
    s = run["scenario"]
    if s in ("fanout", "topics"):
        text = f'{run["deliveries_per_s"]:,.0f} deliveries/s'
    elif s == "rate":
        text = f'{run["deliveries_per_s"]:,.0f} deliveries/s, undelivered {run["undelivered"]}'
    elif s == "publish":
        text = f'{run["acks_per_s"]:,.0f} durable acks/s'
    elif s == "idle":
        text = f'{run["rss_kib"]:.1f} KiB RSS per connection' if run.get("rss_kib") is not None else "not measured"
    elif s == "probes":
        p = run["probing"]
        if p.get("acks_ratio") is not None:
            acks = (f'{run["acks_per_s"]:,.0f} vs {p["acks_per_s_without"]:,.0f} durable acks/s '
                    f'with vs without probes (x{p["acks_ratio"]:.2f})')
        else:
            acks = f'{run["acks_per_s"]:,.0f} durable acks/s with probes'
        text = f'{p["checks_per_s"]:,.0f} probe checks/s; {acks}; hub CPU for probing {p["hub_cpu_share"]:.1%} of a core'
    elif s == "slow-reader":
        text = f'{run["resets"]} resets, {run["gaps"]} gaps, RSS {run.get("rss_kib") or 0:+.0f} KiB'
    else:
        text = f'{run["gaps"]} gaps, {run["undelivered"]} undelivered; ' + "; ".join(run["notes"])
    if hubs_of(run) > 1:
        text += cluster_checks(run)
    return text


def cluster_checks(run):
    """What a run over several hubs must show besides its rate: nothing lost,
    no seq out of order or given twice, and each hub's latency."""
    if run["scenario"] == "publish":
        checks = f'; {run["acks"]:,} acks'
        if run.get("retries"):
            checks += f' ({run["retries"]:,} sent again after `unavailable`)'
        checks += f', seqs acked twice {run.get("repeated_seqs", 0)}'
    else:
        checks = f'; undelivered {run["undelivered"]}, gaps {run["gaps"]}'
    shares = run.get("per_hub") or []
    if shares and all(share["latency"]["count"] for share in shares):
        p50s = " / ".join(f'{share["latency"]["p50_ms"]:.1f}' for share in shares)
        checks += f'; p50 per hub {p50s} ms'
    return checks


HIDDEN = ("hub_pid", "max_seconds", "window", "rate", "target", "baseline", "settle_seconds", "idle_seconds")


def row(run):
    params = ", ".join(f"{k}={v}" for k, v in run["params"].items() if k not in HIDDEN or (k == "rate" and v))
    return (f'| {run["scenario"]} | {run.get("codec", "msgpack")} | {hubs_of(run)} | {params} '
            f'| {figure(run)} | {latency(run)} |')


def ordered(runs):
    """Runs in the order they ran, each multi-hub run moved right after the
    last one-hub run of its scenario and codec (at the end if there is none)."""
    single = [run for run in runs if hubs_of(run) == 1]
    for run in (run for run in runs if hubs_of(run) > 1):
        same = [i for i, other in enumerate(single)
                if other["scenario"] == run["scenario"] and other.get("codec") == run.get("codec")
                and hubs_of(other) == 1]
        single.insert(same[-1] + 1 if same else len(single), run)
    return single


def cpu_table(path, placement, cores):
    """The cluster runs' CPU use, in cores, from `scripts/bench`'s TSV lines:
    scenario, codec, wall seconds, then name=cpu_seconds for each process."""
    lines = [line.split("\t") for line in open(path).read().splitlines() if line.strip()]
    if not lines:
        return []
    names = [field.split("=", 1)[0] for field in lines[0][3:]]
    out = [
        "",
        f"The rows with 3 hubs: {', '.join(names[1:-1])} (`fillstack serve --nats`, in that order in",
        "`--hubs` and in each \"p50 per hub\"; the fanout publishes through the first), one local",
        f"`nats-server -js` and the load generator, all on these {cores} cores; {placement}.",
        "What each process used while each cluster run lasted (connecting included), in cores",
        "(1.00 = one whole core):",
        "",
        "| run | seconds | " + " | ".join(names) + " | all |",
        "|---|---|" + "---|" * (len(names) + 1),
    ]
    for scenario, codec, wall, *used in lines:
        wall = float(wall)
        shares = [float(field.split("=", 1)[1]) / wall if wall > 0 else 0.0 for field in used]
        shares.append(sum(shares))
        out.append(f"| {scenario} {codec} | {wall:.1f} | " + " | ".join(f"{share:.2f}" for share in shares) + " |")
    return out


def main():
    args = sys.argv[1:]
    profile = None
    if args[:1] == ["--profile"]:
        profile, args = args[1], args[2:]
    runs_path, readme_path, cores = args[:3]
    runs = [json.loads(line) for line in open(runs_path) if line.strip()]
    lines = [
        f"Measured {datetime.date.today()} on {cores} cores ({platform.machine()}), release build, by `scripts/bench`;",
        "with 1 hub, the hub on core 0 and the load on core 1:",
        "",
        "| scenario | codec | hubs | sizes | result | latency |",
        "|---|---|---|---|---|---|",
        *(row(run) for run in ordered(runs)),
    ]
    if len(args) > 4:
        lines += cpu_table(args[3], args[4], cores)
    if profile:
        lines += ["", open(profile).read().rstrip()]
    table = "\n".join(lines)
    readme = open(readme_path).read()
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    head, rest = readme.split(start)
    _, tail = rest.split(end)
    open(readme_path, "w").write(f"{head}{start}\n{table}\n{end}{tail}")
    print(table)


if __name__ == "__main__":
    main()
