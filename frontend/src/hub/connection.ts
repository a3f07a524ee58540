/**
 * The one WebSocket to the hub: opens it with the MessagePack subprotocol, encodes client
 * frames, decodes and checks hub frames, and reports what happens as plain callbacks.
 * It knows nothing of Redux; `hubMiddleware.ts` owns the only instance and turns its
 * callbacks into actions. Components never import this file (ESLint forbids it).
 */
import { Decoder, Encoder } from "@msgpack/msgpack";
import {
  SUBPROTOCOL_MSGPACK,
  isServerFrame,
  type ClientFrame,
  type Seq,
  type ServerFrame,
  type SubFrame,
} from "@protocol/frames";
import { matchesPattern } from "../common/pattern";

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
const decoder = new Decoder();

/** Encodes one client frame as a MessagePack map with string keys. */
export function encodeFrame(frame: ClientFrame): Uint8Array {
  return encoder.encode(frame);
}

/** Decodes one binary message; a value that is not a hub frame gives the reason instead. */
export function decodeFrame(bytes: ArrayBuffer | Uint8Array): ServerFrame | string {
  let value: unknown;
  try {
    value = decoder.decode(bytes);
  } catch (error) {
    return `undecodable MessagePack: ${String(error)}`;
  }
  return isServerFrame(value) ? value : `not a hub frame: ${JSON.stringify(value).slice(0, 200)}`;
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
    if (!(data instanceof ArrayBuffer)) {
      events.frameRejected("a text message on the MessagePack subprotocol");
      return;
    }
    const frame = decodeFrame(data);
    if (typeof frame === "string") events.frameRejected(frame);
    else events.frameReceived(frame);
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
