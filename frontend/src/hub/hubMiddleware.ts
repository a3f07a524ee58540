/**
 * The only place that turns intents into frames and frames into events. It owns the one
 * socket (through `connection.ts`): says `hello` with the session's token, subscribes every
 * requested pattern within the token's scope (`res`) with `since` after each `welcome`
 * (resume, not reload: every known resource, split over `more` parts, with the epoch its seqs
 * were seen under), answers requests by id, keeps the link alive with `ping`s, and
 * reconnects with backoff unless the hub asked for a token (4001, 4002). A pattern is live
 * from its `sub`'s `ok` to its `unsub`'s `ok` (the hub answers control frames in order, among
 * the data frames): resource frames no live pattern watches are ignored, and an `unsub`'s
 * `ok` forgets what no live pattern watches any more. Reducers stay pure; components never
 * see the socket.
 */
import type { Middleware } from "@reduxjs/toolkit";
import {
  CloseCode,
  type ClientFrame,
  type RequestId,
  type ServerFrame,
  type WelcomeFrame,
} from "@protocol/frames";
import type { RootState } from "../app/store";
import { matchesPattern, narrowToScope } from "../common/pattern";
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
  resourcesForgotten,
  selectAllResources,
  type ResourceFrame,
} from "../features/resources/resourcesSlice";
import {
  backoffDelay,
  hubSocketUrl,
  openWebSocket,
  resumeFrames,
  type HubSocket,
  type OpenSocket,
} from "./connection";
import {
  clockMeasured,
  connectRequested,
  connecting,
  connectionLost,
  errorReceived,
  frameUnreadable,
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

/**
 * What a request id in flight was for; the answer with the same id settles it. A `sub` sent
 * in parts has one id per part: only the `final` one's answer says how the subscription went.
 */
type Pending =
  | { kind: "hello" }
  | { kind: "sub"; pattern: string; final: boolean }
  | { kind: "unsub"; pattern: string }
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
    /**
     * The `epoch` of the last `welcome`: the seqs the store holds were seen under it, except
     * those in `staleEpochs`. Null before the first.
     */
    let seqEpoch: string | null = null;
    /**
     * Held resources whose seq was seen under an earlier epoch (the hub's data was replaced
     * since) and that no frame of the current one has refreshed yet: id → that epoch. A `since`
     * naming one of them goes out with that epoch, so the hub resets or removes each id instead
     * of trusting its seq; this holds across sessions until the hub's answer has arrived.
     */
    const staleEpochs = new Map<string, string>();
    /**
     * Patterns of the current socket one of whose `more` parts the hub refused: the final
     * part's `ok` then started a subscription on part of `since`, which could leave a deleted
     * resource on screen, so the pattern is subscribed again afresh.
     */
    const brokenResumes = new Set<string>();
    /**
     * The patterns live on the current socket. The hub answers a session's control frames in
     * order, among its data frames: a pattern is live from the `ok` of its (last) `sub` part
     * until the `ok` of its `unsub`. A resource frame that no live pattern watches belongs to
     * a subscription given up, and is ignored.
     */
    const live = new Set<string>();
    /**
     * The ids each `sub` in flight named in its `since`, by the request id of its last part.
     * The hub answers them (deltas after their seq, or `removed`) once that part's `ok` has
     * come, so an `unsub` answered in between must not forget them.
     */
    const sinceInFlight = new Map<RequestId, ReadonlySet<string>>();
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
      staleEpochs.delete(frame.resource); // this hub's word on the resource, from now on
      burst.push(frame);
      burstTimer ??= setTimeout(flush, BURST_MS);
    };
    const isLive = () => socket !== null && getState().hub.link === "live";
    /** Whether a live pattern of the current socket watches `resource`. */
    const isWatched = (resource: string) => {
      for (const pattern of live) if (matchesPattern(pattern, resource)) return true;
      return false;
    };

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
          if (current !== generation) return;
          console.warn(`fillstack: ignored a frame from the hub: ${reason}`);
          dispatch(frameUnreadable({ reason }));
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
      forgetSessionState();
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

    /** What belonged to the socket just gone: its subscriptions and their requests. */
    function forgetSessionState() {
      brokenResumes.clear();
      live.clear();
      sinceInFlight.clear();
    }

    function onLost(code: number, reason: string) {
      flush();
      clearInterval(heartbeatTimer);
      failPendingPublishes();
      forgetSessionState();
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
        if (state !== "refused") unsubscribe(pattern);
        dispatch(subscriptionDropped({ pattern }));
      }
    }

    /**
     * Subscribes `pattern`, resuming every known resource it matches: `since` goes out whole,
     * over as many `sub` parts as the hub's frame limit needs (`more: true` on all but the
     * last), in order on the one socket. Nothing is left out, so the hub can answer each id
     * with deltas or `removed` and no deleted resource stays on screen. A `fresh` subscription
     * sends no `since`: it follows an `unsub` of the pattern, whose `ok` forgets what only
     * the pattern watched, so its snapshots are the whole truth.
     */
    function subscribe(pattern: string, fresh = false) {
      const { session } = getState().hub;
      if (session === null) return;
      const { parts, leftOut } = fresh
        ? { parts: [{ t: "sub" as const, pattern }], leftOut: [] }
        : resumeFrames(
            pattern,
            selectAllResources(getState()),
            session.maxFrameBytes,
            sinceEpoch(pattern),
          );
      // Past the hub's bound on `since`: forget those, and the hub's snapshots bring back
      // the ones that still exist.
      forget(leftOut);
      dispatch(subscriptionSent({ pattern }));
      const named = new Set<string>();
      parts.forEach((part, index) => {
        const final = index === parts.length - 1;
        const id = request({ kind: "sub", pattern, final });
        for (const resource of Object.keys(part.since ?? {})) named.add(resource);
        if (final && named.size > 0) sinceInFlight.set(id, named);
        send({ ...part, id });
      });
    }

    /** Gives `pattern` up; it stays live until the hub's answer (see `onUnsubscribed`). */
    function unsubscribe(pattern: string) {
      send({ t: "unsub", id: request({ kind: "unsub", pattern }), pattern });
    }

    /**
     * The hub answered an `unsub`: `pattern` is no longer live, and the resources no live
     * pattern watches leave the store, except those a `sub` in flight named in its `since`
     * (the hub will answer for them).
     */
    function onUnsubscribed(pattern: string) {
      live.delete(pattern);
      const named = [...sinceInFlight.values()];
      forget(
        selectAllResources(getState())
          .map(({ resource }) => resource)
          .filter((id) => !isWatched(id) && !named.some((ids) => ids.has(id))),
      );
    }

    /**
     * The epoch to send beside `pattern`'s `since`: the one its seqs were seen under. When
     * some were seen under an earlier epoch, that one (never the hub's), so the hub trusts
     * none of them: a reset snapshot costs a little, a seq of other data would be wrong.
     */
    function sinceEpoch(pattern: string): string | null {
      for (const [resource, epoch] of staleEpochs) {
        if (matchesPattern(pattern, resource)) return epoch;
      }
      return seqEpoch;
    }

    /** Forgets `ids`: nothing vouches for their state any more. */
    function forget(ids: readonly string[]) {
      if (ids.length === 0) return;
      for (const id of ids) staleEpochs.delete(id);
      dispatch(resourcesForgotten([...ids]));
    }

    /** The held resources `pattern` matches (all, or only those of an earlier epoch). */
    function heldMatching(pattern: string, onlyStale: boolean): string[] {
      flush();
      return selectAllResources(getState())
        .map(({ resource }) => resource)
        .filter((id) => matchesPattern(pattern, id) && (!onlyStale || staleEpochs.has(id)));
    }

    /**
     * A new session. When its epoch differs from the last one, the hub's data was replaced:
     * every held seq is marked with the epoch it was seen under, and the resume sends it with
     * that epoch so the hub resets or removes each id (no ghost). Held resources of an earlier
     * epoch that no subscription will resume are forgotten, as nothing would correct them.
     */
    function onWelcome(frame: WelcomeFrame) {
      dispatch(welcomed(frame));
      if (seqEpoch !== null && seqEpoch !== frame.epoch) {
        for (const { resource } of selectAllResources(getState())) {
          if (!staleEpochs.has(resource)) staleEpochs.set(resource, seqEpoch);
        }
      }
      seqEpoch = frame.epoch;
      // Back under the epoch they were seen under (the same data again): their seqs hold.
      for (const [resource, epoch] of staleEpochs) {
        if (epoch === frame.epoch) staleEpochs.delete(resource);
      }
      const wanted = narrowToScope(getState().hub.requested, scope);
      forget(
        [...staleEpochs.keys()].filter(
          (id) => !wanted.some((pattern) => matchesPattern(pattern, id)),
        ),
      );
      reconcile();
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
        // Of a subscription given up (or not yet started): not the truth of any live one.
        if (isWatched(frame.resource)) gather(frame);
        return;
      }
      // Anything else may read resources (a resume's `since`) or follow them in meaning.
      flush();
      switch (frame.t) {
        case "welcome":
          settle(frame.id);
          onWelcome(frame);
          ping();
          startHeartbeat(frame.heartbeat_ms);
          return;
        case "ok": {
          const purpose = settle(frame.id);
          // A `more` part is answered `ok` without `count`: the subscription has not started.
          if (purpose?.kind === "sub" && purpose.final)
            onSubscribed(frame.id, purpose, frame.count ?? 0);
          else if (purpose?.kind === "unsub") onUnsubscribed(purpose.pattern);
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

    function onSubscribed(
      id: RequestId,
      { pattern }: Extract<Pending, { kind: "sub" }>,
      count: number,
    ) {
      sinceInFlight.delete(id);
      live.add(pattern); // the hub started it, even on part of `since`
      if (brokenResumes.delete(pattern)) {
        // The hub took only part of `since`: give it up, and start again from its snapshots.
        unsubscribe(pattern);
        subscribe(pattern, true);
        return;
      }
      dispatch(subscriptionConfirmed({ pattern, count }));
    }

    function onError(frame: Extract<ServerFrame, { t: "error" }>) {
      const purpose = settle(frame.id);
      if (purpose?.kind === "hello" && frame.code === "unauthorized") {
        requireSignIn("unauthorized", frame.message);
      } else if (purpose?.kind === "pub") {
        dispatch(
          publishRejected({ ticket: purpose.ticket, code: frame.code, message: frame.message }),
        );
      } else if (purpose?.kind === "sub" && !purpose.final) {
        brokenResumes.add(purpose.pattern); // the final part's answer decides what follows
      } else if (purpose?.kind === "sub") {
        sinceInFlight.delete(frame.id ?? -1);
        brokenResumes.delete(purpose.pattern);
        // Seqs of a replaced hub's data that this hub will not reset vouch for nothing.
        forget(heldMatching(purpose.pattern, true));
        dispatch(
          subscriptionRefused({
            pattern: purpose.pattern,
            code: frame.code,
            message: frame.message,
          }),
        );
      } else {
        // A refused `unsub` leaves nothing the SPA still wants: the pattern is given up all
        // the same (its frames are ignored from now on), and the refusal is shown.
        if (purpose?.kind === "unsub") onUnsubscribed(purpose.pattern);
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
        if (tokenSubmitted.match(action)) staleEpochs.clear();
        connect();
      } else if (signedOut.match(action)) {
        discardBurst();
        staleEpochs.clear();
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
