/** Builders for hub frames in tests: only what a test cares about is spelled out. */
import type { DeltaFrame, SnapshotFrame, WelcomeFrame } from "@protocol/frames";

export function snapshot(resource: string, overrides: Partial<SnapshotFrame> = {}): SnapshotFrame {
  return {
    t: "snapshot",
    resource,
    seq: 1,
    status: "up",
    fields: {},
    labels: {},
    updated_at: 1_700_000_000_000,
    reset: false,
    ...overrides,
  };
}

export function delta(
  resource: string,
  seq: number,
  overrides: Partial<DeltaFrame> = {},
): DeltaFrame {
  return { t: "delta", resource, seq, at: 1_700_000_000_000 + seq * 1000, ...overrides };
}

export function welcome(overrides: Partial<WelcomeFrame> = {}): WelcomeFrame {
  return {
    t: "welcome",
    id: 1,
    session: "s-1",
    server: "fillstack/0.1.0",
    heartbeat_ms: 25_000,
    max_frame_bytes: 65_536,
    roles: ["admin"],
    epoch: "e-5f3c2a9b1d",
    ...overrides,
  };
}
