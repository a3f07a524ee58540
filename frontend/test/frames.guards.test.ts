// @vitest-environment node
/**
 * The runtime guards against the keys the contract's 2026-12-03 amendment added (issue 12):
 * what the golden frames in protocol/fixtures carry once the Rust side regenerates them, and
 * what a hub may send without them where the key is optional.
 */
import { describe, expect, it } from "vitest";
import { CloseCode, isClientFrame, isHistoryBody, isServerFrame } from "@protocol/frames";

const welcome = {
  t: "welcome",
  id: 1,
  session: "s-3f9a",
  server: "fillstack/0.1.0",
  heartbeat_ms: 25_000,
  max_frame_bytes: 65_536,
  roles: ["admin"],
  epoch: "e-5f3c2a9b1d",
};
const sub = { t: "sub", id: 2, pattern: "svc/**", since: { "svc/api/latency": 41 } };
const history = { t: "history", id: 6, resource: "svc/api/latency", deltas: [], complete: true };

describe("frame guards: the amended keys", () => {
  it("a welcome carries the store's epoch, as text", () => {
    expect(isServerFrame(welcome)).toBe(true);
    expect(isServerFrame({ ...welcome, epoch: undefined })).toBe(false);
    expect(isServerFrame({ ...welcome, epoch: 5 })).toBe(false);
  });

  it("a sub may carry epoch (text) and more (bool), each on its own", () => {
    expect(isClientFrame(sub)).toBe(true);
    expect(isClientFrame({ ...sub, epoch: "e-5f3c2a9b1d" })).toBe(true);
    expect(isClientFrame({ ...sub, epoch: "e-5f3c2a9b1d", more: true })).toBe(true);
    expect(isClientFrame({ ...sub, more: "yes" })).toBe(false);
    expect(isClientFrame({ ...sub, epoch: 1 })).toBe(false);
  });

  it("a history answer, over the socket or REST, may say more (bool)", () => {
    expect(isServerFrame(history)).toBe(true);
    expect(isServerFrame({ ...history, more: true })).toBe(true);
    expect(isServerFrame({ ...history, more: 1 })).toBe(false);
    const body = { resource: history.resource, deltas: [], complete: true };
    expect(isHistoryBody({ ...body, more: true })).toBe(true);
    expect(isHistoryBody({ ...body, more: "true" })).toBe(false);
  });

  it("names the close codes 1002, 1003 and 4010", () => {
    expect(CloseCode).toMatchObject({
      ProtocolError: 1002,
      UnsupportedData: 1003,
      HeartbeatMissed: 4010,
    });
  });
});
