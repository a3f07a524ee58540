/**
 * The only place that turns intents into frames and frames into events. It owns the one
 * socket (through `connection.ts`): says `hello` with the session's token, subscribes every
 * requested pattern within the token's scope (`res`) with `since` after each `welcome`
 * (resume, not reload), answers requests by id, keeps the link alive with `ping`s, and
 * reconnects with backoff unless the hub asked for a token (4001, 4002). Reducers stay pure;
 * components never see the socket.
 */
import type { Middleware } from "@reduxjs/toolkit";
import { CloseCode, type ClientFrame, type RequestId, type ServerFrame } from "@protocol/frames";
import type { RootState } from "../app/store";
import { narrowToScope } from "../common/pattern";
import {
  signedOut,
  signInRequired,
  signInSkipped,
  tokenSubmitted,
} from "../features/auth/authSlice";
import { readTokenClaims } from "../features/auth/tokenClaims";
import {
  publishAcknowledged,
  publishRejected,
  publishRequested,
  type Change,
} from "../features/publish/publishSlice";
import {
  framesReceived,
  selectAllResources,
  type ResourceFrame,
} from "../features/resources/resourcesSlice";
import {
  backoffDelay,
  hubSocketUrl,
  openWebSocket,
  sinceFor,
  type HubSocket,
  type OpenSocket,
} from "./connection";
import {
  clockMeasured,
  connectRequested,
  connecting,
  connectionLost,
  errorReceived,
  reconnectRequested,
  reconnectScheduled,
  subscriptionConfirmed,
  subscriptionRefused,
  subscriptionRequested,
  subscriptionSent,
  unsubscriptionRequested,
  subscriptionDropped,
  welcomed,
} from "./hubSlice";

/** Sent in `hello` so the hub's logs can tell dashboards from agents. */
export const CLIENT_NAME = "fillstack-spa/0.1";

/**
 * How long resource frames gather before they reach the store as one action. Every write to
 * a map of 10,000 resources copies it (milliseconds), so per-frame dispatch cannot keep up with
 * a burst; a tenth of a second is still "live" to a person watching.
 */
export const BURST_MS = 100;

/** Everything the middleware takes from outside, so tests can replace it. */
export interface HubMiddlewareOptions {
  openSocket?: OpenSocket;
  socketUrl?: () => string;
  now?: () => number;
  random?: () => number;
}

/** What a request id in flight was for; the answer with the same id settles it. */
type Pending =
  | { kind: "hello" }
  | { kind: "sub"; pattern: string }
  | { kind: "unsub" }
  | { kind: "pub"; ticket: string }
  | { kind: "ping"; sentAt: number };

export function createHubMiddleware(
  options: HubMiddlewareOptions = {},
): Middleware<object, RootState> {
  const openSocket = options.openSocket ?? openWebSocket;
  const socketUrl = options.socketUrl ?? (() => hubSocketUrl(window.location));
  const now = options.now ?? (() => Date.now());
  const random = options.random ?? (() => Math.random());

  return (store) => {
    const { dispatch } = store;
    const getState = () => store.getState();
    let socket: HubSocket | null = null;
    /** Bumped whenever a socket is replaced, so a late callback of an old one is ignored. */
    let generation = 0;
    let nextRequestId: RequestId = 1;
    /**
     * The resource patterns the token sent in the current socket's `hello` may touch (its
     * `res`); null for everything: no token (auth off), or a token without `res`.
     */
    let scope: readonly string[] | null = null;
    /** Requests of the current socket awaiting an answer; cleared with the socket. */
    const pending = new Map<RequestId, Pending>();
    let retryTimer: ReturnType<typeof setTimeout> | undefined;
    let heartbeatTimer: ReturnType<typeof setInterval> | undefined;
    let lastHeardAt = 0;
    /** Resource frames of the current burst, in arrival order; flushed within BURST_MS. */
    let burst: ResourceFrame[] = [];
    let burstTimer: ReturnType<typeof setTimeout> | undefined;

    const send = (frame: ClientFrame) => socket?.send(frame);
    const request = (purpose: Pending): RequestId => {
      const id = nextRequestId++;
      pending.set(id, purpose);
      return id;
    };
    const settle = (id: RequestId | undefined): Pending | undefined => {
      if (id === undefined) return undefined;
      const purpose = pending.get(id);
      pending.delete(id);
      return purpose;
    };
    /** Hands the gathered resource frames to the store; always before reading resources. */
    const flush = () => {
      clearTimeout(burstTimer);
      burstTimer = undefined;
      if (burst.length === 0) return;
      const frames = burst;
      burst = [];
      dispatch(framesReceived(frames));
    };
    const discardBurst = () => {
      clearTimeout(burstTimer);
      burstTimer = undefined;
      burst = [];
    };
    const gather = (frame: ResourceFrame) => {
      burst.push(frame);
      burstTimer ??= setTimeout(flush, BURST_MS);
    };
    const isLive = () => socket !== null && getState().hub.link === "live";

    function connect() {
      clearTimeout(retryTimer);
      detach("reconnecting");
      const current = ++generation;
      dispatch(connecting());
      socket = openSocket(socketUrl(), {
        opened() {
          if (current === generation) sayHello();
        },
        frameReceived(frame) {
          if (current !== generation) return;
          lastHeardAt = now();
          onFrame(frame);
        },
        frameRejected(reason) {
          console.warn(`fillstack: ignored a frame from the hub: ${reason}`);
        },
        closed(code, reason) {
          if (current === generation) onLost(code, reason);
        },
      });
    }

    /** Closes the current socket, if any, without reporting it as lost. */
    function detach(reason: string) {
      flush();
      clearInterval(heartbeatTimer);
      generation += 1;
      failPendingPublishes();
      socket?.close(CloseCode.Normal, reason);
      socket = null;
    }

    function failPendingPublishes() {
      for (const purpose of pending.values()) {
        if (purpose.kind !== "pub") continue;
        dispatch(
          publishRejected({
            ticket: purpose.ticket,
            code: "unavailable",
            message: "the connection dropped before the hub acknowledged; check the resource",
          }),
        );
      }
      pending.clear();
    }

    function onLost(code: number, reason: string) {
      flush();
      clearInterval(heartbeatTimer);
      failPendingPublishes();
      socket = null;
      dispatch(connectionLost({ code, reason }));
      if (code === CloseCode.Unauthorized || code === CloseCode.TokenExpired) {
        requireSignIn(
          code === CloseCode.TokenExpired ? "expired" : "unauthorized",
          reason || "the hub refused the session's token",
        );
      } else if (getState().hub.link !== "signedOut") {
        scheduleRetry();
      }
    }

    function requireSignIn(reason: "unauthorized" | "expired", message: string) {
      // The hub says why twice (error frame, then close 4001): keep its first words.
      if (getState().hub.link === "signedOut") return;
      clearTimeout(retryTimer);
      dispatch(signInRequired({ reason, message }));
    }

    function scheduleRetry() {
      const delay = backoffDelay(getState().hub.attempt, random);
      dispatch(reconnectScheduled({ retryAt: now() + delay }));
      clearTimeout(retryTimer);
      retryTimer = setTimeout(connect, delay);
    }

    function sayHello() {
      const { token } = getState().auth;
      // The hub checks every `sub` against this token's scope: ask only for what it allows.
      scope = token === null ? null : (readTokenClaims(token)?.res ?? null);
      const id = request({ kind: "hello" });
      send({ t: "hello", id, client: CLIENT_NAME, ...(token === null ? {} : { token }) });
    }

    /**
     * Brings the session's subscriptions in line with the requested patterns narrowed to the
     * token's scope: subscribes what is missing first, then drops what is no longer wanted,
     * so a resource both cover is never left unwatched in between. A refused pattern stays
     * in the session's list (refused) until the next `welcome`, so it is not asked again.
     */
    function reconcile() {
      flush(); // `since` must see every resource frame received so far
      const { requested, subscriptions } = getState().hub;
      const wanted = narrowToScope(requested, scope);
      for (const pattern of wanted) {
        if (subscriptions[pattern] === undefined) subscribe(pattern);
      }
      for (const { pattern, state } of Object.values(subscriptions)) {
        if (wanted.includes(pattern)) continue;
        if (state !== "refused") send({ t: "unsub", id: request({ kind: "unsub" }), pattern });
        dispatch(subscriptionDropped({ pattern }));
      }
    }

    function subscribe(pattern: string) {
      const { session } = getState().hub;
      if (session === null) return;
      // Only the known resources this pattern matches, within the hub's frame limit.
      const since = sinceFor(pattern, selectAllResources(getState()), session.maxFrameBytes);
      const id = request({ kind: "sub", pattern });
      dispatch(subscriptionSent({ pattern }));
      send({ t: "sub", id, pattern, ...(Object.keys(since).length > 0 ? { since } : {}) });
    }

    function publish(ticket: string, change: Change) {
      if (!isLive()) {
        dispatch(
          publishRejected({
            ticket,
            code: "unavailable",
            message: "not connected to the hub; publish again once the dashboard is live",
          }),
        );
        return;
      }
      send({ t: "pub", id: request({ kind: "pub", ticket }), ...change });
    }

    function ping() {
      send({ t: "ping", id: request({ kind: "ping", sentAt: now() }) });
    }

    /**
     * A socket whose hub leaves a `ping` unanswered for a whole heartbeat is treated as lost
     * (a half-open TCP connection never closes by itself). Judging by the last ping rather
     * than by wall time keeps a background tab, whose timers the browser slows down, from
     * mistaking its own late timer for a silent hub.
     */
    function startHeartbeat(heartbeatMs: number) {
      clearInterval(heartbeatTimer);
      let lastPingAt = now();
      heartbeatTimer = setInterval(() => {
        if (lastHeardAt < lastPingAt && now() - lastPingAt >= heartbeatMs) {
          detach("no answer from the hub for a heartbeat");
          onLost(1006, "no answer from the hub for a heartbeat");
          return;
        }
        lastPingAt = now();
        ping();
      }, heartbeatMs);
    }

    function onFrame(frame: ServerFrame) {
      if (frame.t === "snapshot" || frame.t === "delta" || frame.t === "removed") {
        gather(frame);
        return;
      }
      // Anything else may read resources (a resume's `since`) or follow them in meaning.
      flush();
      switch (frame.t) {
        case "welcome":
          settle(frame.id);
          dispatch(welcomed(frame));
          reconcile();
          ping();
          startHeartbeat(frame.heartbeat_ms);
          return;
        case "ok": {
          const purpose = settle(frame.id);
          if (purpose?.kind === "sub") {
            dispatch(subscriptionConfirmed({ pattern: purpose.pattern, count: frame.count ?? 0 }));
          }
          return;
        }
        case "ack": {
          const purpose = settle(frame.id);
          if (purpose?.kind === "pub") {
            dispatch(publishAcknowledged({ ticket: purpose.ticket, seq: frame.seq }));
          }
          return;
        }
        case "pong": {
          const purpose = settle(frame.id);
          if (purpose?.kind === "ping") {
            dispatch(clockMeasured({ offsetMs: frame.time - (purpose.sentAt + now()) / 2 }));
          }
          return;
        }
        case "error":
          onError(frame);
          return;
        case "history":
          // The SPA reads history over REST; a socket answer can only be a stray one.
          settle(frame.id);
          return;
      }
    }

    function onError(frame: Extract<ServerFrame, { t: "error" }>) {
      const purpose = settle(frame.id);
      if (purpose?.kind === "hello" && frame.code === "unauthorized") {
        requireSignIn("unauthorized", frame.message);
      } else if (purpose?.kind === "pub") {
        dispatch(
          publishRejected({ ticket: purpose.ticket, code: frame.code, message: frame.message }),
        );
      } else if (purpose?.kind === "sub") {
        dispatch(
          subscriptionRefused({
            pattern: purpose.pattern,
            code: frame.code,
            message: frame.message,
          }),
        );
      } else {
        dispatch(errorReceived({ code: frame.code, message: frame.message }));
      }
    }

    if (typeof window !== "undefined") {
      // Back from offline: skip the rest of the backoff.
      window.addEventListener("online", () => {
        if (getState().hub.link === "waiting") connect();
      });
    }

    return (next) => (action) => {
      const result = next(action);
      if (connectRequested.match(action)) {
        if (socket === null) connect(); // already connecting or live: nothing to do
      } else if (reconnectRequested.match(action)) {
        connect();
      } else if (tokenSubmitted.match(action) || signInSkipped.match(action)) {
        discardBurst(); // the reducers just forgot every resource; so do we
        connect();
      } else if (signedOut.match(action)) {
        discardBurst();
        clearTimeout(retryTimer);
        detach("signed out");
      } else if (subscriptionRequested.match(action) || unsubscriptionRequested.match(action)) {
        if (isLive()) reconcile();
      } else if (publishRequested.match(action)) {
        publish(action.payload.ticket, action.payload.change);
      }
      return result;
    };
  };
}
