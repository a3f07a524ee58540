/**
 * The FILLSTACK wire contract, version 1, as TypeScript types and runtime guards.
 *
 * Key names are exactly the contract's (PROTOCOL-v1, mirrored by `protocol/src/frame.rs`),
 * so grepping the spec finds the code. The SPA imports these and never redeclares them.
 * This file has no imports and no I/O: the guards check shape only; checking values such as
 * id syntax is the hub's job. Unknown keys are allowed everywhere, because the schema may grow.
 */

/** A client-chosen unsigned integer echoed in the answer to a request. */
export type RequestId = number;
/** A resource's change counter: starts at 1, +1 per change. */
export type Seq = number;

/** Every status, in the order the contract lists them. */
export const STATUSES = ["up", "degraded", "down", "unknown", "stale", "maintenance"] as const;
/** A resource's status. */
export type Status = (typeof STATUSES)[number];

/** The roles a token may grant; with auth off every session is `admin`. */
export const ROLES = ["viewer", "publisher", "admin"] as const;
/** A session's role. */
export type Role = (typeof ROLES)[number];

/** The `code` of an `error` frame and of a REST error body. */
export const ERROR_CODES = [
  "bad_frame",
  "unauthorized",
  "forbidden",
  "not_found",
  "invalid",
  "too_large",
  "rate_limited",
  "unavailable",
  "internal",
] as const;
/** What kind of failure an `error` frame reports. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** WebSocket close codes the hub uses. */
export const CloseCode = {
  Normal: 1000,
  /** The hub is shutting down: reconnect and resume with `since`. */
  GoingAway: 1001,
  /** A WebSocket protocol error (RFC 6455): unmasked client frame, reserved bits, ... */
  ProtocolError: 1002,
  /** A text frame on the MessagePack subprotocol, or a binary one on JSON. */
  UnsupportedData: 1003,
  Undecodable: 1007,
  Policy: 1008,
  TooLarge: 1009,
  Unauthorized: 4001,
  TokenExpired: 4002,
  RateLimitAbuse: 4008,
  SlowConsumer: 4009,
  /** The client answered neither pings nor anything else for two heartbeats. */
  HeartbeatMissed: 4010,
} as const;

/** The two subprotocols a socket can negotiate; both carry the same maps. */
export const SUBPROTOCOL_MSGPACK = "fillstack.v1.msgpack";
export const SUBPROTOCOL_JSON = "fillstack.v1.json";

/** One field value: an integer, a float, a bool or a string. */
export type Scalar = number | boolean | string;
/** A resource's fields: name to scalar. */
export type Fields = Record<string, Scalar>;
/** A resource's labels: name to text. */
export type Labels = Record<string, string>;
/** Fields set by a change; `null` removes the field. */
export type FieldChanges = Record<string, Scalar | null>;
/** Labels set by a change; `null` removes the label. */
export type LabelChanges = Record<string, string | null>;

// ---------------------------------------------------------------- client to hub

/** Opens (or re-authenticates) a session. */
export interface HelloFrame {
  t: "hello";
  id: RequestId;
  /** A JWT; absent when auth is off. */
  token?: string;
  /** The client's name and version, free text or a map. */
  client?: string | { name: string; version?: string | null };
}

/** Watches every resource matching `pattern`, resuming from `since`. */
export interface SubFrame {
  t: "sub";
  id: RequestId;
  pattern: string;
  /** Resource id to the last seq the client saw. */
  since?: Record<string, Seq>;
  /**
   * The `epoch` of the `welcome` under which the seqs in `since` were seen; another epoch
   * than the hub's means its data was replaced, and `since` is not trusted.
   */
  epoch?: string;
  /**
   * True when more of `since` follows in later `sub` frames of this pattern: the hub answers
   * `ok` without `count` and keeps the part; the part without `more` starts the subscription.
   */
  more?: boolean;
}

/** Stops watching `pattern`. */
export interface UnsubFrame {
  t: "unsub";
  id: RequestId;
  pattern: string;
}

/** Publishes a change to one resource: status replaces, fields and labels merge. */
export interface PubFrame {
  t: "pub";
  id: RequestId;
  resource: string;
  status?: Status;
  fields?: FieldChanges;
  labels?: LabelChanges;
  /** Time to live in milliseconds; 0 clears it. */
  ttl_ms?: number;
}

/** Asks for one resource's snapshot. */
export interface GetFrame {
  t: "get";
  id: RequestId;
  resource: string;
}

/** Asks for a resource's deltas after `since` (exclusive). */
export interface HistoryRequestFrame {
  t: "history";
  id: RequestId;
  resource: string;
  since: Seq;
  limit?: number;
}

/** Asks for the hub's clock. */
export interface PingFrame {
  t: "ping";
  id: RequestId;
}

/** What a client may send. */
export type ClientFrame =
  HelloFrame | SubFrame | UnsubFrame | PubFrame | GetFrame | HistoryRequestFrame | PingFrame;

// ---------------------------------------------------------------- hub to client

/** The answer to a valid `hello`. */
export interface WelcomeFrame {
  t: "welcome";
  id: RequestId;
  session: string;
  server: string;
  heartbeat_ms: number;
  max_frame_bytes: number;
  /** Role names; unknown ones are kept as text and ignored by the SPA. */
  roles: string[];
  /** The store's incarnation, made when its data dir was created (the cluster's, clustered). */
  epoch: string;
}

/** A request succeeded; `count` for `sub` is how many resources matched. */
export interface OkFrame {
  t: "ok";
  id: RequestId;
  count?: number;
}

/** A publish is durable. */
export interface AckFrame {
  t: "ack";
  id: RequestId;
  seq: Seq;
}

/** A resource's whole state at `seq`. */
export interface SnapshotFrame {
  t: "snapshot";
  /** Echoes a `get`'s id; absent on subscription snapshots. */
  id?: RequestId;
  resource: string;
  seq: Seq;
  status: Status;
  fields: Fields;
  labels: Labels;
  updated_at: number;
  ttl_ms?: number;
  /** True when this snapshot replaces deltas the client missed. */
  reset: boolean;
}

/** One accepted change: only what changed. */
export interface DeltaFrame {
  t: "delta";
  resource: string;
  seq: Seq;
  /** When it was accepted, unix milliseconds. */
  at: number;
  status?: Status;
  /** Changed fields; removed ones are null. */
  fields?: FieldChanges;
  /** Changed labels; removed ones are null. */
  labels?: LabelChanges;
  /** The new time to live when it changed (0: cleared). */
  ttl_ms?: number;
}

/** A resource was deleted at `seq`. */
export interface RemovedFrame {
  t: "removed";
  resource: string;
  seq: Seq;
}

/** One entry of a history answer: a change or a deletion, tagged by `t`. */
export type HistoryEntry = DeltaFrame | RemovedFrame;

/** The answer to `history` (the REST body is the same map without `t` and `id`). */
export interface HistoryFrame {
  t: "history";
  id: RequestId;
  resource: string;
  deltas: HistoryEntry[];
  /** False when older deltas were no longer kept. */
  complete: boolean;
  /** True when the answer was cut at 256 KiB: ask again with `since` = its last seq. */
  more?: boolean;
}

/** A request failed, or a frame was not understood. */
export interface ErrorFrame {
  t: "error";
  id?: RequestId;
  code: ErrorCode;
  message: string;
  retry_after_ms?: number;
}

/** The answer to `ping`. */
export interface PongFrame {
  t: "pong";
  id: RequestId;
  /** The hub's clock, unix milliseconds. */
  time: number;
}

/** What the hub sends. */
export type ServerFrame =
  | WelcomeFrame
  | OkFrame
  | AckFrame
  | SnapshotFrame
  | DeltaFrame
  | RemovedFrame
  | HistoryFrame
  | ErrorFrame
  | PongFrame;

/** The REST history body: `GET /api/v1/history/{id}`. */
export interface HistoryBody {
  resource: string;
  deltas: HistoryEntry[];
  complete: boolean;
  /** True when the answer was cut at 1 MiB: ask again with `since` = its last seq. */
  more?: boolean;
}

/** The REST status body: `GET /api/v1/status`. */
export interface HubStatusBody {
  version: string;
  uptime_s: number;
  node: string;
  nodes: string[];
  sessions: number;
  subscriptions: number;
  resources: number;
}

/** A REST error body. */
export interface RestErrorBody {
  error: { code: ErrorCode; message: string };
}

// ---------------------------------------------------------------- runtime guards

type Check = (value: unknown) => boolean;

const isMap = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const isText: Check = (value) => typeof value === "string";
const isBool: Check = (value) => typeof value === "boolean";
/** An unsigned integer (request ids, seqs, times, sizes). */
const isCount: Check = (value) =>
  typeof value === "number" && Number.isInteger(value) && value >= 0;
const isScalar: Check = (value) =>
  (typeof value === "number" && Number.isFinite(value)) || isText(value) || isBool(value);
const orNull =
  (check: Check): Check =>
  (value) =>
    value === null || check(value);
const mapOf =
  (check: Check): Check =>
  (value) =>
    isMap(value) && Object.values(value).every(check);
const listOf =
  (check: Check): Check =>
  (value) =>
    Array.isArray(value) && value.every(check);

/** Whether `value` is one of the six statuses. */
export const isStatus = (value: unknown): value is Status =>
  typeof value === "string" && (STATUSES as readonly string[]).includes(value);
/** Whether `value` is one of the three roles. */
export const isRole = (value: unknown): value is Role =>
  typeof value === "string" && (ROLES as readonly string[]).includes(value);
const isErrorCode: Check = (value) =>
  typeof value === "string" && (ERROR_CODES as readonly string[]).includes(value);
const isClientName: Check = (value) =>
  isText(value) ||
  (isMap(value) &&
    isText(value.name) &&
    (value.version === undefined || orNull(isText)(value.version)));

/** Key checks per frame type: `true` marks a required key; an optional one may be absent. */
type Shape = Record<string, readonly [Check, boolean]>;
const required = (check: Check) => [check, true] as const;
const optional = (check: Check) => [check, false] as const;

const hasShape = (value: unknown, tag: string, shape: Shape): boolean =>
  isMap(value) &&
  value.t === tag &&
  Object.entries(shape).every(([key, [check, isRequired]]) => {
    const field = value[key];
    return field === undefined ? !isRequired : check(field);
  });

const deltaShape: Shape = {
  resource: required(isText),
  seq: required(isCount),
  at: required(isCount),
  status: optional(isStatus),
  fields: optional(mapOf(orNull(isScalar))),
  labels: optional(mapOf(orNull(isText))),
  ttl_ms: optional(isCount),
};
const removedShape: Shape = {
  resource: required(isText),
  seq: required(isCount),
};
const isHistoryEntry: Check = (value) =>
  hasShape(value, "delta", deltaShape) || hasShape(value, "removed", removedShape);

const clientShapes = {
  hello: {
    id: required(isCount),
    token: optional(isText),
    client: optional(isClientName),
  },
  sub: {
    id: required(isCount),
    pattern: required(isText),
    since: optional(mapOf(isCount)),
    epoch: optional(isText),
    more: optional(isBool),
  },
  unsub: { id: required(isCount), pattern: required(isText) },
  pub: {
    id: required(isCount),
    resource: required(isText),
    status: optional(isStatus),
    fields: optional(mapOf(orNull(isScalar))),
    labels: optional(mapOf(orNull(isText))),
    ttl_ms: optional(isCount),
  },
  get: { id: required(isCount), resource: required(isText) },
  history: {
    id: required(isCount),
    resource: required(isText),
    since: required(isCount),
    limit: optional(isCount),
  },
  ping: { id: required(isCount) },
} satisfies Record<ClientFrame["t"], Shape>;

const serverShapes = {
  welcome: {
    id: required(isCount),
    session: required(isText),
    server: required(isText),
    heartbeat_ms: required(isCount),
    max_frame_bytes: required(isCount),
    roles: required(listOf(isText)),
    epoch: required(isText),
  },
  ok: { id: required(isCount), count: optional(isCount) },
  ack: { id: required(isCount), seq: required(isCount) },
  snapshot: {
    id: optional(isCount),
    resource: required(isText),
    seq: required(isCount),
    status: required(isStatus),
    fields: required(mapOf(isScalar)),
    labels: required(mapOf(isText)),
    updated_at: required(isCount),
    ttl_ms: optional(isCount),
    reset: required(isBool),
  },
  delta: deltaShape,
  removed: removedShape,
  history: {
    id: required(isCount),
    resource: required(isText),
    deltas: required(listOf(isHistoryEntry)),
    complete: required(isBool),
    more: optional(isBool),
  },
  error: {
    id: optional(isCount),
    code: required(isErrorCode),
    message: required(isText),
    retry_after_ms: optional(isCount),
  },
  pong: { id: required(isCount), time: required(isCount) },
} satisfies Record<ServerFrame["t"], Shape>;

const hasKey = <K extends string>(shapes: Record<K, Shape>, tag: unknown): tag is K =>
  typeof tag === "string" && Object.hasOwn(shapes, tag);

/** Whether `value` is a well-formed client frame of the type its `t` names. */
export function isClientFrame(value: unknown): value is ClientFrame {
  if (!isMap(value) || !hasKey(clientShapes, value.t)) return false;
  return hasShape(value, value.t, clientShapes[value.t]);
}

/** Whether `value` is a well-formed hub frame of the type its `t` names. */
export function isServerFrame(value: unknown): value is ServerFrame {
  if (!isMap(value) || !hasKey(serverShapes, value.t)) return false;
  return hasShape(value, value.t, serverShapes[value.t]);
}

/** Whether `value` is a REST history body. */
export function isHistoryBody(value: unknown): value is HistoryBody {
  return (
    isMap(value) &&
    isText(value.resource) &&
    listOf(isHistoryEntry)(value.deltas) &&
    isBool(value.complete) &&
    (value.more === undefined || isBool(value.more))
  );
}
