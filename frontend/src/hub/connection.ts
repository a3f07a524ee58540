/**
 * The one WebSocket to the hub: opens it with the MessagePack subprotocol, encodes client
 * frames, decodes and checks hub frames, and reports what happens as plain callbacks.
 * It knows nothing of Redux; `hubMiddleware.ts` owns the only instance and turns its
 * callbacks into actions. Components never import this file (ESLint forbids it).
 */
import { Decoder, Encoder, type DecoderOptions } from "@msgpack/msgpack";
import {
  SUBPROTOCOL_MSGPACK,
  isServerFrame,
  type ClientFrame,
  type Seq,
  type ServerFrame,
  type SubFrame,
} from "@protocol/frames";
import { matchesPattern } from "../common/pattern";
import { emptyRecord } from "../common/records";

/** What the socket tells its owner. */
export interface SocketEvents {
  opened(): void;
  frameReceived(frame: ServerFrame): void;
  /** Bytes that are not a frame of the contract; the socket stays open. */
  frameRejected(reason: string): void;
  closed(code: number, reason: string): void;
}

/** The owner's handle on an open (or opening) socket. */
export interface HubSocket {
  send(frame: ClientFrame): void;
  close(code: number, reason: string): void;
}

/** Opens a socket to `url`; the middleware takes this as an argument so tests can fake it. */
export type OpenSocket = (url: string, events: SocketEvents) => HubSocket;

// `ignoreUndefined`: an absent optional key must not become nil on the wire.
const encoder = new Encoder({ ignoreUndefined: true });

/**
 * Map keys @msgpack/msgpack refuses to decode, throwing for the whole message: `__proto__`
 * today, and `constructor` and `prototype` too from its next release (msgpack-javascript
 * #288). As field or label names they would lose the frame, and with it the resource's
 * status, on every dashboard.
 */
const REFUSED_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);
/**
 * Prefixed to a refused key so the library takes it: a lone surrogate, which no key read by
 * `TextDecoder` contains (invalid UTF-8 becomes U+FFFD), so a renamed key never meets a real one.
 */
const RENAMED = "\uD800";

type KeyDecoder = NonNullable<DecoderOptions["keyDecoder"]>;

/**
 * Reads every map key (the library's `keyDecoder` option: `canBeCached` is always true, so no
 * key is read another way) with the platform's UTF-8 decoder, renaming the refused ones.
 * This gives up the library's small cache of short keys: about 6 µs more per snapshot,
 * measured in Node, or 60 ms over the 10,000 snapshots of a large resume.
 */
class NameKeyDecoder implements KeyDecoder {
  // `ignoreBOM`: a name that starts with U+FEFF keeps it, rather than meet the one without.
  private readonly utf8 = new TextDecoder("utf-8", { ignoreBOM: true });
  private renamed = false;
  canBeCached(): boolean {
    return true;
  }
  decode(bytes: Uint8Array, offset: number, length: number): string {
    const key = this.utf8.decode(bytes.subarray(offset, offset + length));
    if (!REFUSED_KEYS.has(key)) return key;
    this.renamed = true;
    return RENAMED + key;
  }
  /** Whether a key was renamed since the last call. */
  takeRenamed(): boolean {
    const renamed = this.renamed;
    this.renamed = false;
    return renamed;
  }
}

/**
 * Every map key the decoder renamed, given back its name: a map holding one becomes a
 * prototype-free record (on a plain object, `__proto__` would set its prototype).
 */
function restoreNames(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(restoreNames);
  if (typeof value !== "object" || value === null || value instanceof Uint8Array) return value;
  const entries = Object.entries(value);
  const restored = entries.some(([key]) => key.startsWith(RENAMED))
    ? emptyRecord<unknown>()
    : (value as Record<string, unknown>);
  for (const [key, item] of entries) {
    restored[key.startsWith(RENAMED) ? key.slice(RENAMED.length) : key] = restoreNames(item);
  }
  return restored;
}

const keyDecoder = new NameKeyDecoder();
/**
 * Integers past 2^53 (uint64, int64) come as the nearest double, as JSON gives them to REST
 * clients: `useBigInt64` would make every value encoded in 64 bits a bigint, times in
 * milliseconds included, which neither the frame guards nor the store take.
 */
const decoder = new Decoder({ keyDecoder });

const isMap = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * A hub frame's field and label values made ones the contract's guards take, so that no value
 * costs the frame: a non-finite float (NaN, ±Infinity, which hubs before issue 17 stored and
 * sent) becomes its name as text, and a nil in a snapshot's fields or labels, which name what
 * a resource holds, is left out (in a delta it means "removed", as the contract says).
 */
function withReadableValues(frame: Record<string, unknown>): void {
  const readable = (map: unknown, dropNil: boolean) => {
    if (!isMap(map)) return;
    for (const [key, value] of Object.entries(map)) {
      if (typeof value === "number" && !Number.isFinite(value)) map[key] = String(value);
      // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- fields are a map
      else if (value === null && dropNil) delete map[key];
    }
  };
  if (frame.t === "snapshot") {
    readable(frame.fields, true);
    readable(frame.labels, true);
  } else if (frame.t === "delta") {
    readable(frame.fields, false);
  } else if (frame.t === "history" && Array.isArray(frame.deltas)) {
    for (const entry of frame.deltas) if (isMap(entry)) readable(entry.fields, false);
  }
}

/** Encodes one client frame as a MessagePack map with string keys. */
export function encodeFrame(frame: ClientFrame): Uint8Array {
  return encoder.encode(frame);
}

/**
 * Decodes one binary message; a value that is not a hub frame gives the reason instead. No
 * field or label name and no scalar value makes a frame unreadable (see above); what is left
 * is a message that is not MessagePack or not a frame of the contract.
 */
export function decodeFrame(bytes: ArrayBuffer | Uint8Array): ServerFrame | string {
  let value: unknown;
  try {
    keyDecoder.takeRenamed(); // nothing left over from a message that failed midway
    value = decoder.decode(bytes);
    if (keyDecoder.takeRenamed()) value = restoreNames(value);
  } catch (error) {
    return `undecodable MessagePack: ${String(error)}`;
  }
  if (isMap(value)) withReadableValues(value);
  return isServerFrame(value) ? value : `not a hub frame: ${describe(value)}`;
}

/** The start of a value for a log line; never throws. */
function describe(value: unknown): string {
  try {
    return JSON.stringify(value).slice(0, 200);
  } catch {
    return String(value).slice(0, 200); // JSON has no `undefined`, and no bigint
  }
}

/** Reports one WebSocket message (binary, `binaryType` "arraybuffer") as a frame or a reason. */
export function receiveMessage(data: unknown, events: SocketEvents): void {
  if (!(data instanceof ArrayBuffer)) {
    events.frameRejected("a text message on the MessagePack subprotocol");
    return;
  }
  const frame = decodeFrame(data);
  if (typeof frame === "string") events.frameRejected(frame);
  else events.frameReceived(frame);
}

/** Close code a browser reports for a connection that dropped or never opened. */
const ABNORMAL_CLOSURE = 1006;
/**
 * How long a socket that reported `error` and is closed may take to report its `close`
 * before it is taken as closed (1006). Browsers fire `close` right after `error`; Chromium
 * fires none for a connection the page's Content-Security-Policy blocks.
 */
export const CLOSE_AFTER_ERROR_MS = 1000;

/**
 * The browser's WebSocket, speaking `fillstack.v1.msgpack`. Reports `closed` exactly once
 * for every socket, also for one the browser refused to make: a URL it refuses outright
 * (the page's Content-Security-Policy, a blocked port, a malformed address) makes some
 * browsers throw from `new WebSocket` and others fire `error` with no `close`. Either way the
 * owner hears `closed(1006, why)`, after this call has returned, and retries with backoff
 * instead of waiting forever for a socket that will never say anything.
 */
export const openWebSocket: OpenSocket = (url, events) => {
  let reported = false;
  let fallback: ReturnType<typeof setTimeout> | undefined;
  const reportClosed = (code: number, reason: string) => {
    clearTimeout(fallback);
    if (reported) return;
    reported = true;
    events.closed(code, reason);
  };

  let socket: WebSocket;
  try {
    socket = new WebSocket(url, SUBPROTOCOL_MSGPACK);
  } catch (error) {
    // A DOMException is not always an Error (another realm, older engines): read its message.
    const message: unknown = (error as { message?: unknown } | null)?.message;
    const why = typeof message === "string" ? message : String(error);
    fallback = setTimeout(() => {
      reportClosed(ABNORMAL_CLOSURE, why);
    }, 0);
    return {
      send() {
        // Never opened: nothing to send on.
      },
      close() {
        reported = true; // its owner let it go: nothing more to say
        clearTimeout(fallback);
      },
    };
  }
  socket.binaryType = "arraybuffer";
  socket.onopen = () => {
    events.opened();
  };
  socket.onmessage = ({ data }: MessageEvent<unknown>) => {
    receiveMessage(data, events);
  };
  socket.onerror = () => {
    if (socket.readyState !== WebSocket.CLOSED || reported) return;
    clearTimeout(fallback);
    fallback = setTimeout(() => {
      reportClosed(ABNORMAL_CLOSURE, "the connection failed, and the browser reported no close");
    }, CLOSE_AFTER_ERROR_MS);
  };
  socket.onclose = ({ code, reason }) => {
    reportClosed(code, reason);
  };
  return {
    send(frame) {
      if (socket.readyState === WebSocket.OPEN) socket.send(encodeFrame(frame));
    },
    close(code, reason) {
      socket.onmessage = null;
      socket.close(code, reason);
    },
  };
};

/** The same-origin `/ws` URL: `wss:` when the page came over https. */
export function hubSocketUrl(location: Pick<Location, "protocol" | "host">): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ws`;
}

const FIRST_RETRY_MS = 500;
const LONGEST_RETRY_MS = 30_000;

/**
 * How long to wait before reconnect attempt `attempt` (0 for the first): exponential, capped
 * at 30 s, with "equal jitter" (half fixed, half random) so that a hub restart is not met by
 * every dashboard at the same instant, yet no client retries at once in a tight loop.
 */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(LONGEST_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(attempt, 16));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * The most ids one pattern's `since` may hold in all parts (PROTOCOL-v1: past it the hub
 * refuses the `sub` with `too_large` and drops what it gathered).
 */
export const MAX_SINCE_IDS = 100_000;
/** Bytes every part keeps free under `max_frame_bytes`, beyond what it measures. */
const SAFETY_MARGIN_BYTES = 256;
/** A map header grows from 1 byte (empty) to 3 (16+ entries) or 5 (65,536+ entries). */
const MAP_HEADER_GROWTH = 4;
/** The widest request id, so a part measured with it fits whatever id it is sent with. */
const WIDEST_REQUEST_ID = Number.MAX_SAFE_INTEGER;

/** A `sub` frame of a resume, before the middleware gives it a request id. */
export type SubPart = Omit<SubFrame, "id">;

/** How to resume one pattern: its `sub` frames in sending order, and the ids left out. */
export interface Resume {
  /**
   * One plain `sub` when nothing known matches; else every part but the last carries
   * `more: true`, and each carries `epoch` when one is given.
   */
  parts: SubPart[];
  /**
   * Known resources the pattern matches that did not fit in `MAX_SINCE_IDS`: the caller
   * forgets them, so that the hub's snapshots bring back those that still exist and no
   * deleted one stays on screen.
   */
  leftOut: string[];
}

/**
 * The `sub` frames that resume `pattern`: every known resource it matches goes into `since`
 * with its seq (up to `MAX_SINCE_IDS`), split over as many frames as `max_frame_bytes`
 * needs. Each part's MessagePack size is measured with the encoder (frame without `since`
 * plus each entry's key and value) and kept `SAFETY_MARGIN_BYTES` under the limit; a frame
 * over it would close the socket (1009). A part always holds at least one entry, so a
 * limit too small for one id still makes progress (the hub then says what is wrong).
 */
export function resumeFrames(
  pattern: string,
  known: Iterable<{ resource: string; seq: Seq }>,
  maxFrameBytes: number,
  epoch: string | null,
): Resume {
  const entries: [string, Seq][] = [];
  const leftOut: string[] = [];
  for (const { resource, seq } of known) {
    if (!matchesPattern(pattern, resource)) continue;
    if (entries.length < MAX_SINCE_IDS) entries.push([resource, seq]);
    else leftOut.push(resource);
  }
  if (entries.length === 0) return { parts: [{ t: "sub", pattern }], leftOut };

  const withEpoch = epoch === null ? {} : { epoch };
  const frameBytes = encoder.encode({
    t: "sub",
    id: WIDEST_REQUEST_ID,
    pattern,
    since: {},
    ...withEpoch,
    more: true,
  }).length;
  const budget = maxFrameBytes - SAFETY_MARGIN_BYTES - frameBytes - MAP_HEADER_GROWTH;

  const sinces: Record<string, Seq>[] = [];
  let since: Record<string, Seq> = {};
  let used = 0;
  let count = 0;
  for (const [resource, seq] of entries) {
    const bytes = encoder.encode(resource).length + encoder.encode(seq).length;
    if (count > 0 && used + bytes > budget) {
      sinces.push(since);
      since = {};
      used = 0;
      count = 0;
    }
    since[resource] = seq;
    used += bytes;
    count += 1;
  }
  sinces.push(since);

  const last = sinces.length - 1;
  const parts = sinces.map((part, index): SubPart => ({
    t: "sub",
    pattern,
    since: part,
    ...withEpoch,
    ...(index < last ? { more: true } : {}),
  }));
  return { parts, leftOut };
}
