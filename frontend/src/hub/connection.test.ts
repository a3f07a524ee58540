import { encode } from "@msgpack/msgpack";
import { decode } from "@msgpack/msgpack";
import { describe, expect, it } from "vitest";
import { backoffDelay, decodeFrame, encodeFrame, hubSocketUrl, sinceFor } from "./connection";

describe("connection", () => {
  it("uses the page's origin: ws for http, wss for https", () => {
    expect(hubSocketUrl({ protocol: "http:", host: "127.0.0.1:8080" })).toBe(
      "ws://127.0.0.1:8080/ws",
    );
    expect(hubSocketUrl({ protocol: "https:", host: "status.example" })).toBe(
      "wss://status.example/ws",
    );
  });

  it("backs off exponentially with jitter, capped at 30 s", () => {
    expect(backoffDelay(0, () => 0)).toBe(250);
    expect(backoffDelay(0, () => 1)).toBe(500);
    expect(backoffDelay(3, () => 0)).toBe(2000);
    expect(backoffDelay(30, () => 1)).toBe(30_000);
    expect(backoffDelay(30, () => 0)).toBe(15_000);
  });

  it("encodes frames as MessagePack maps with string keys and no nil for absent keys", () => {
    const bytes = encodeFrame({ t: "hello", id: 1, client: "fillstack-spa/0.1" });
    expect(decode(bytes)).toStrictEqual({ t: "hello", id: 1, client: "fillstack-spa/0.1" });
  });

  it("decodes hub frames and names what is wrong with anything else", () => {
    expect(decodeFrame(encode({ t: "ack", id: 3, seq: 9 }))).toEqual({ t: "ack", id: 3, seq: 9 });
    expect(decodeFrame(encode({ t: "ack", id: 3 }))).toMatch(/not a hub frame/);
    expect(decodeFrame(encode(["ack", 3, 9]))).toMatch(/not a hub frame/);
    expect(decodeFrame(new Uint8Array([0xc1]))).toMatch(/undecodable/);
  });

  it("resumes a pattern with the seq of every known resource it matches", () => {
    const known = [
      { resource: "svc/api", seq: 3 },
      { resource: "svc/db", seq: 5 },
      { resource: "host/web-1", seq: 8 },
    ];
    expect(sinceFor("svc/**", known, 65_536)).toEqual({ "svc/api": 3, "svc/db": 5 });
    expect(sinceFor("**", known, 65_536)).toEqual({ "svc/api": 3, "svc/db": 5, "host/web-1": 8 });
  });

  it("leaves resources out of since rather than exceed max_frame_bytes", () => {
    const known = Array.from({ length: 10_000 }, (_, index) => ({
      resource: `load/r-${String(index)}`,
      seq: 2 ** 40,
    }));
    const since = sinceFor("**", known, 65_536);
    const bytes = encodeFrame({ t: "sub", id: 4_000_000_000, pattern: "**", since }).length;
    expect(bytes).toBeLessThanOrEqual(65_536);
    expect(Object.keys(since).length).toBeGreaterThan(2000);
  });
});
