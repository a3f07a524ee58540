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

/** The browser's WebSocket, speaking `fillstack.v1.msgpack`. */
export const openWebSocket: OpenSocket = (url, events) => {
  const socket = new WebSocket(url, SUBPROTOCOL_MSGPACK);
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
  socket.onclose = ({ code, reason }) => {
    events.closed(code, reason);
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

/** Bytes a `since` entry can take in MessagePack at most: key header + key + u64. */
const sinceEntryBytes = (id: string) => 3 + new TextEncoder().encode(id).length + 9;
/** Room left in a `sub` frame for everything but `since`. */
const SUB_FRAME_OVERHEAD = 512;

/**
 * The `since` map for resuming `pattern`: every known resource it matches → its seq, within
 * the hub's `max_frame_bytes`. A `sub` frame larger than that would close the socket (1009),
 * so past the budget resources are left out; the hub then sends each of them a snapshot,
 * which costs bandwidth but neither loses nor duplicates state.
 */
export function sinceFor(
  pattern: string,
  known: Iterable<{ resource: string; seq: Seq }>,
  maxFrameBytes: number,
): Record<string, Seq> {
  const since: Record<string, Seq> = {};
  let budget = maxFrameBytes - SUB_FRAME_OVERHEAD;
  for (const { resource, seq } of known) {
    if (!matchesPattern(pattern, resource)) continue;
    budget -= sinceEntryBytes(resource);
    if (budget < 0) break;
    since[resource] = seq;
  }
  return since;
}
