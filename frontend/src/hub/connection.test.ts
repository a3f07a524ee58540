import { decode, encode } from "@msgpack/msgpack";
import { describe, expect, it, vi } from "vitest";
import { hubBytes, I64_MIN, mapOf, PROTOTYPE_NAMES, U64_MAX } from "../test/hostileFrames";
import {
  CLOSE_AFTER_ERROR_MS,
  MAX_SINCE_IDS,
  backoffDelay,
  decodeFrame,
  encodeFrame,
  hubSocketUrl,
  openWebSocket,
  resumeFrames,
  type SocketEvents,
} from "./connection";

describe("connection", () => {
  it("uses the page's origin: ws for http, wss for https", () => {
    expect(hubSocketUrl({ protocol: "http:", host: "127.0.0.1:8080" })).toBe(
      "ws://127.0.0.1:8080/ws",
    );
    expect(hubSocketUrl({ protocol: "https:", host: "status.example" })).toBe(
      "wss://status.example/ws",
    );
  });

  it("reports a socket the browser refuses to make as closed (1006), after it returns", async () => {
    // Chromium throws from `new WebSocket` for a URL the page's CSP (connect-src) blocks.
    const refusal = "Failed to construct 'WebSocket': refused by connect-src 'self'";
    vi.stubGlobal(
      "WebSocket",
      vi.fn(function RefusedWebSocket() {
        throw new DOMException(refusal, "SecurityError");
      }),
    );
    const closed = vi.fn<SocketEvents["closed"]>();
    const events: SocketEvents = {
      opened: vi.fn(),
      frameReceived: vi.fn(),
      frameRejected: vi.fn(),
      closed,
    };
    const socket = openWebSocket("ws://elsewhere.test:9/ws", events);
    expect(closed).not.toHaveBeenCalled();
    socket.send({ t: "ping", id: 1 }); // nothing to send on, and no throw either
    await vi.waitFor(() => {
      expect(closed).toHaveBeenCalledWith(1006, refusal);
    });
    expect(closed).toHaveBeenCalledTimes(1);

    // Closed by its owner before the report: no report comes.
    const late = vi.fn<SocketEvents["closed"]>();
    openWebSocket("ws://elsewhere.test:9/ws", { ...events, closed: late }).close(1000, "bye");
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(late).not.toHaveBeenCalled();
  });

  describe("a socket that errs", () => {
    /** A browser socket the test drives: it fails as the test says, nothing more. */
    class FailingWebSocket {
      static readonly OPEN = 1;
      static readonly CLOSED = 3;
      static last: FailingWebSocket | null = null;
      readyState = 0;
      binaryType = "blob";
      onopen: (() => void) | null = null;
      onmessage: ((event: { data: unknown }) => void) | null = null;
      onerror: (() => void) | null = null;
      onclose: ((event: { code: number; reason: string }) => void) | null = null;
      constructor() {
        FailingWebSocket.last = this;
      }
      fail(close: { code: number; reason: string } | null) {
        this.readyState = FailingWebSocket.CLOSED;
        this.onerror?.();
        if (close !== null) this.onclose?.(close);
      }
      close() {
        // The test decides what the socket reports.
      }
    }
    const listen = () => {
      const closed = vi.fn<SocketEvents["closed"]>();
      return {
        closed,
        events: { opened: vi.fn(), frameReceived: vi.fn(), frameRejected: vi.fn(), closed },
      };
    };

    it("reports its close (1006) when the browser fires error and no close (Chromium, CSP)", () => {
      vi.useFakeTimers();
      vi.stubGlobal("WebSocket", FailingWebSocket);
      const { closed, events } = listen();
      openWebSocket("ws://elsewhere.test:9/ws", events);
      FailingWebSocket.last?.fail(null);
      vi.advanceTimersByTime(CLOSE_AFTER_ERROR_MS - 1);
      expect(closed).not.toHaveBeenCalled();
      vi.advanceTimersByTime(1);
      expect(closed).toHaveBeenCalledExactlyOnceWith(1006, expect.stringMatching(/no close/));
      vi.useRealTimers();
    });

    it("reports the browser's own close once when it follows the error", () => {
      vi.useFakeTimers();
      vi.stubGlobal("WebSocket", FailingWebSocket);
      const { closed, events } = listen();
      openWebSocket("ws://hub.test/ws", events);
      FailingWebSocket.last?.fail({ code: 1006, reason: "" });
      vi.advanceTimersByTime(CLOSE_AFTER_ERROR_MS * 2);
      expect(closed).toHaveBeenCalledExactlyOnceWith(1006, "");
      vi.useRealTimers();
    });
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

  describe("a frame whatever names and values it holds", () => {
    const snapshotOf = (fields: unknown, labels: unknown = {}) =>
      hubBytes({
        t: "snapshot",
        resource: "svc/api",
        seq: 7,
        status: "down",
        fields,
        labels,
        updated_at: 1_800_000_000_000n, // uint64 on the wire, as a Rust hub writes it
        reset: false,
      });
    const asFrame = (result: ReturnType<typeof decodeFrame>) => {
      if (typeof result === "string") throw new Error(result);
      return result;
    };

    it("is not the library's default: it refuses `__proto__` as a map key", () => {
      expect(() => decode(snapshotOf(mapOf([["__proto__", 1]])))).toThrow(/__proto__/);
    });

    it("keeps names every object answers to as entries, and pollutes no prototype", () => {
      const frame = asFrame(
        decodeFrame(
          snapshotOf(
            mapOf(PROTOTYPE_NAMES.map((name, index) => [name, index])),
            mapOf(PROTOTYPE_NAMES.map((name) => [name, `label ${name}`])),
          ),
        ),
      );
      if (frame.t !== "snapshot") throw new Error(frame.t);
      expect(frame.status).toBe("down");
      expect(Object.keys(frame.fields).sort()).toEqual([...PROTOTYPE_NAMES].sort());
      expect(Object.keys(frame.labels).sort()).toEqual([...PROTOTYPE_NAMES].sort());
      PROTOTYPE_NAMES.forEach((name, index) => {
        expect(Object.getOwnPropertyDescriptor(frame.fields, name)?.value).toBe(index);
        expect(Object.getOwnPropertyDescriptor(frame.labels, name)?.value).toBe(`label ${name}`);
      });
      expect(Object.getPrototypeOf({})).toBe(Object.prototype);
      expect(Object.keys(Object.prototype)).toEqual([]);
    });

    it("restores the names at every depth: a history answer's deltas, a removal as null", () => {
      const frame = asFrame(
        decodeFrame(
          hubBytes({
            t: "history",
            id: 4,
            resource: "svc/api",
            complete: true,
            deltas: [
              {
                t: "delta",
                resource: "svc/api",
                seq: 8,
                at: 1,
                fields: mapOf([["__proto__", null]]),
              },
              {
                t: "delta",
                resource: "svc/api",
                seq: 9,
                at: 2,
                labels: mapOf([["constructor", "x"]]),
              },
            ],
          }),
        ),
      );
      if (frame.t !== "history") throw new Error(frame.t);
      const [removal, change] = frame.deltas;
      expect(removal?.t === "delta" && Object.hasOwn(removal.fields ?? {}, "__proto__")).toBe(true);
      expect(
        removal?.t === "delta" &&
          Object.getOwnPropertyDescriptor(removal.fields ?? {}, "__proto__")?.value,
      ).toBeNull();
      expect(change?.t === "delta" && Object.entries(change.labels ?? {})).toEqual([
        ["constructor", "x"],
      ]);
    });

    it("takes every scalar: non-finite floats as text, 64-bit integers as the nearest number", () => {
      const frame = asFrame(
        decodeFrame(
          snapshotOf(
            mapOf<unknown>([
              ["nan", NaN],
              ["inf", Infinity],
              ["neg_inf", -Infinity],
              ["u64", U64_MAX],
              ["i64", I64_MIN],
              ["gone", null],
            ]),
            mapOf([["gone", null]]),
          ),
        ),
      );
      if (frame.t !== "snapshot") throw new Error(frame.t);
      expect(frame.updated_at).toBe(1_800_000_000_000);
      expect(frame.fields).toEqual({
        nan: "NaN",
        inf: "Infinity",
        neg_inf: "-Infinity",
        u64: 2 ** 64,
        i64: -(2 ** 63),
      });
      expect(frame.labels).toEqual({});
    });

    it("takes names of any length and any characters", () => {
      const long = "n".repeat(10_000);
      const tricky = ["\u202Eevil", "zero\u200Bwidth", "\uFEFFbom", "tab\there", "日本語", ""];
      const frame = asFrame(
        decodeFrame(snapshotOf(mapOf([long, ...tricky].map((name) => [name, name.length])))),
      );
      if (frame.t !== "snapshot") throw new Error(frame.t);
      expect(Object.keys(frame.fields).sort()).toEqual([long, ...tricky].sort());
    });

    it("tells a message that is no frame, without throwing", () => {
      expect(decodeFrame(hubBytes({ t: "snapshot", resource: "svc/api" }))).toMatch(
        /not a hub frame/,
      );
      expect(
        decodeFrame(hubBytes({ t: "delta", resource: 5, seq: 1, at: 1, big: 2n ** 63n })),
      ).toMatch(/not a hub frame/);
      expect(decodeFrame(new Uint8Array([0x81, 0xa1]))).toMatch(/undecodable/);
    });
  });

  it("resumes a pattern with the seq of every known resource it matches, in one plain sub", () => {
    const known = [
      { resource: "svc/api", seq: 3 },
      { resource: "svc/db", seq: 5 },
      { resource: "host/web-1", seq: 8 },
    ];
    expect(resumeFrames("svc/**", known, 65_536, "e-1")).toEqual({
      parts: [{ t: "sub", pattern: "svc/**", since: { "svc/api": 3, "svc/db": 5 }, epoch: "e-1" }],
      leftOut: [],
    });
    expect(resumeFrames("**", known, 65_536, null).parts).toEqual([
      { t: "sub", pattern: "**", since: { "svc/api": 3, "svc/db": 5, "host/web-1": 8 } },
    ]);
  });

  it("sends one plain sub, without since or epoch, when nothing known matches", () => {
    expect(resumeFrames("job/**", [{ resource: "svc/api", seq: 3 }], 65_536, "e-1")).toEqual({
      parts: [{ t: "sub", pattern: "job/**" }],
      leftOut: [],
    });
  });

  it.each([
    { count: 10_000, maxFrameBytes: 65_536 },
    { count: 3000, maxFrameBytes: 2048 },
    { count: 40, maxFrameBytes: 600 },
  ])(
    "splits $count ids over sub parts within $maxFrameBytes bytes: each once, more on all but the last, epoch on each",
    ({ count, maxFrameBytes }) => {
      // Ids of every length up to the 128-byte limit, seqs of every MessagePack width.
      const known = Array.from({ length: count }, (_, index) => ({
        resource: `load/r-${String(index)}/x${"x".repeat(index % 110)}`,
        seq: [1, 200, 70_000, 2 ** 33, Number.MAX_SAFE_INTEGER][index % 5] ?? 1,
      }));
      const { parts, leftOut } = resumeFrames("load/**", known, maxFrameBytes, "e-5f3c2a9b1d");
      expect(leftOut).toEqual([]);
      expect(parts.length).toBeGreaterThan(1);

      const seen = new Map<string, number>();
      parts.forEach((part, index) => {
        const bytes = encodeFrame({ ...part, id: 4_000_000_000 }).length;
        expect(bytes, `part ${String(index)}`).toBeLessThanOrEqual(maxFrameBytes);
        expect(part).toMatchObject({ t: "sub", pattern: "load/**", epoch: "e-5f3c2a9b1d" });
        expect(part.more, `part ${String(index)}`).toBe(
          index < parts.length - 1 ? true : undefined,
        );
        for (const [resource, seq] of Object.entries(part.since ?? {})) {
          expect(seen.has(resource), `${resource} in two parts`).toBe(false);
          seen.set(resource, seq);
        }
      });
      expect(seen).toEqual(new Map(known.map(({ resource, seq }) => [resource, seq])));
      // The last part omits `more` altogether: the key is absent on the wire.
      expect(decode(encodeFrame({ ...parts.at(-1)!, id: 1 }))).not.toHaveProperty("more");
    },
  );

  it("puts one entry per part when the frame limit is too small for more", () => {
    const known = [
      { resource: "svc/a", seq: 1 },
      { resource: "svc/b", seq: 2 },
    ];
    expect(resumeFrames("svc/**", known, 100, null).parts).toEqual([
      { t: "sub", pattern: "svc/**", since: { "svc/a": 1 }, more: true },
      { t: "sub", pattern: "svc/**", since: { "svc/b": 2 } },
    ]);
  });

  it(`sends at most ${MAX_SINCE_IDS.toLocaleString()} ids in all and names the ones left out`, () => {
    const known = Array.from({ length: MAX_SINCE_IDS + 3 }, (_, index) => ({
      resource: `load/r-${String(index)}`,
      seq: 7,
    }));
    const { parts, leftOut } = resumeFrames("**", known, 65_536, "e-1");
    const sent = parts.reduce((sum, part) => sum + Object.keys(part.since ?? {}).length, 0);
    expect(sent).toBe(MAX_SINCE_IDS);
    expect(leftOut).toEqual(["load/r-100000", "load/r-100001", "load/r-100002"]);
  });
});
