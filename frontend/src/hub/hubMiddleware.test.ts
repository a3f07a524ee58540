/**
 * The middleware against a fake socket: the one place a fake is allowed, because here the
 * unit under test is the protocol state machine, not the socket. The e2e specs drive a real hub.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { makeStore } from "../app/store";
import { signedOut, tokenSubmitted } from "../features/auth/authSlice";
import { publishRequested, selectPublishOutcome } from "../features/publish/publishSlice";
import { selectResourceById, selectResourceTotal } from "../features/resources/resourcesSlice";
import { delta, snapshot, welcome } from "../test/frames";
import { FakeHub } from "../test/fakeHub";
import { BURST_MS, CLIENT_NAME } from "./hubMiddleware";
import { encodeFrame } from "./connection";
import { framesReceived } from "../features/resources/resourcesSlice";
import { unsignedJwt } from "../test/tokens";
import {
  connectRequested,
  selectLastHubError,
  selectSubscriptions,
  subscriptionRequested,
  unsubscriptionRequested,
} from "./hubSlice";

/** The whole `since` a resume sent over its parts; fails if an id came twice. */
function sinceOf(parts: readonly { since?: Record<string, number> }[]): Record<string, number> {
  const whole: Record<string, number> = {};
  for (const part of parts) {
    for (const [id, seq] of Object.entries(part.since ?? {})) {
      expect(whole, `${id} sent twice`).not.toHaveProperty([id]);
      whole[id] = seq;
    }
  }
  return whole;
}

function start(token: string | null = null) {
  const hub = new FakeHub();
  const store = makeStore(
    token === null ? undefined : { auth: { token, signInReason: null, message: null } },
    { openSocket: hub.openSocket, socketUrl: () => "ws://hub.test/ws", random: () => 0.5 },
  );
  store.dispatch(subscriptionRequested({ pattern: "**" }));
  store.dispatch(connectRequested());
  return { hub, store };
}

/** Opens the socket, answers hello with welcome and the subscription with ok. */
function welcomeAndSubscribe(hub: FakeHub) {
  hub.open();
  const hello = hub.sent("hello")[0];
  hub.say(welcome({ id: hello?.id ?? 0 }));
  const sub = hub.sent("sub")[0];
  hub.say({ t: "ok", id: sub?.id ?? 0, count: 0 });
  return sub;
}

/** Answers every `sub` the current socket sent with `ok`, as the hub does, in order. */
function answerSubs(hub: FakeHub, count = 0) {
  for (const sub of hub.sent("sub")) {
    hub.say(sub.more === true ? { t: "ok", id: sub.id } : { t: "ok", id: sub.id, count });
  }
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("hub middleware", () => {
  it("says hello without a token when there is none, then subscribes after welcome", () => {
    const { hub, store } = start();
    hub.open();
    expect(hub.current.sent).toEqual([{ t: "hello", id: 1, client: CLIENT_NAME }]);
    hub.say(welcome({ id: 1, roles: ["viewer"] }));
    expect(store.getState().hub.link).toBe("live");
    expect(store.getState().hub.session?.roles).toEqual(["viewer"]);
    expect(hub.sent("sub")).toEqual([{ t: "sub", id: 2, pattern: "**" }]);
  });

  it("keeps one socket when asked to connect twice (React StrictMode runs effects twice)", () => {
    const { hub, store } = start();
    store.dispatch(connectRequested());
    expect(hub.sockets).toHaveLength(1);
  });

  it("closes the socket on sign-out and does not reconnect", () => {
    const { hub, store } = start("a.b.c");
    welcomeAndSubscribe(hub);
    store.dispatch(signedOut());
    expect(hub.current.closedWith).toBe(1000);
    expect(store.getState().hub.link).toBe("signedOut");
    vi.advanceTimersByTime(120_000);
    expect(hub.sockets).toHaveLength(1);
  });

  it("sends the session's token in hello", () => {
    const { hub } = start("header.payload.signature");
    hub.open();
    expect(hub.sent("hello")[0]?.token).toBe("header.payload.signature");
  });

  it("gathers a burst of resource frames into the store within one burst interval", () => {
    const { hub, store } = start();
    welcomeAndSubscribe(hub);
    hub.say(snapshot("svc/api", { seq: 3 }), delta("svc/api", 4, { status: "down" }));
    expect(selectResourceTotal(store.getState())).toBe(0);
    vi.advanceTimersByTime(BURST_MS);
    expect(selectResourceById(store.getState(), "svc/api")).toMatchObject({
      seq: 4,
      status: "down",
    });
  });

  it("after a drop, reconnects with backoff and resumes with since: every known resource's seq", () => {
    const { hub, store } = start();
    welcomeAndSubscribe(hub);
    hub.say(snapshot("svc/api", { seq: 3 }), snapshot("host/web-1", { seq: 8 }));
    hub.close(1001, "hub shutting down");
    expect(store.getState().hub.link).toBe("waiting");
    expect(store.getState().hub.retryAt).not.toBeNull();
    // The resources stay on screen while the hub is away.
    expect(selectResourceTotal(store.getState())).toBe(2);

    vi.advanceTimersByTime(500);
    expect(hub.sockets).toHaveLength(2);
    const resumed = welcomeAndSubscribe(hub);
    expect(resumed).toMatchObject({
      t: "sub",
      pattern: "**",
      since: { "svc/api": 3, "host/web-1": 8 },
    });

    // Replayed deltas already seen are ignored; later ones apply.
    hub.say(delta("svc/api", 3, { status: "down" }), delta("svc/api", 4, { status: "degraded" }));
    vi.advanceTimersByTime(BURST_MS);
    expect(selectResourceById(store.getState(), "svc/api")).toMatchObject({
      seq: 4,
      status: "degraded",
    });
    expect(store.getState().hub.attempt).toBe(0);
  });

  it("waits longer after each failed attempt", () => {
    const { hub, store } = start();
    const delays: number[] = [];
    for (let attempt = 0; attempt < 4; attempt += 1) {
      hub.close(1006);
      const { retryAt } = store.getState().hub;
      delays.push((retryAt ?? 0) - Date.now());
      vi.advanceTimersByTime(60_000);
    }
    expect(delays).toEqual([375, 750, 1500, 3000]);
  });

  it("asks for sign-in and stops reconnecting when the hub refuses the hello (error + 4001)", () => {
    const { hub, store } = start();
    hub.open();
    hub.say({ t: "error", id: 1, code: "unauthorized", message: "a token is required" });
    hub.close(4001, "unauthorized");
    expect(store.getState().hub.link).toBe("signedOut");
    expect(store.getState().auth).toMatchObject({
      signInReason: "unauthorized",
      message: "a token is required",
    });
    vi.advanceTimersByTime(120_000);
    expect(hub.sockets).toHaveLength(1);

    store.dispatch(tokenSubmitted({ token: "new.token.here" }));
    expect(hub.sockets).toHaveLength(2);
    hub.open();
    expect(hub.sent("hello")[0]?.token).toBe("new.token.here");
  });

  it("asks for sign-in when the token expires mid-session (4002)", () => {
    const { hub, store } = start("old.token.here");
    welcomeAndSubscribe(hub);
    hub.close(4002, "token expired");
    expect(store.getState().auth).toMatchObject({ token: null, signInReason: "expired" });
    expect(store.getState().hub.link).toBe("signedOut");
  });

  it("publishes with a pub frame and reports the ack's seq", () => {
    const { hub, store } = start();
    welcomeAndSubscribe(hub);
    const { ticket } = store.dispatch(
      publishRequested({ resource: "svc/api", status: "up", fields: { a: 1 } }),
    ).payload;
    const pub = hub.sent("pub")[0];
    expect(pub).toMatchObject({ t: "pub", resource: "svc/api", status: "up", fields: { a: 1 } });
    hub.say({ t: "ack", id: pub?.id ?? 0, seq: 7 });
    expect(selectPublishOutcome(store.getState(), ticket)).toEqual({
      state: "acknowledged",
      resource: "svc/api",
      seq: 7,
    });
  });

  it("reports the hub's error for a refused publish", () => {
    const { hub, store } = start();
    welcomeAndSubscribe(hub);
    const { ticket } = store.dispatch(
      publishRequested({ resource: "svc/api", status: "up" }),
    ).payload;
    hub.say({
      t: "error",
      id: hub.sent("pub")[0]?.id ?? 0,
      code: "forbidden",
      message: "role viewer may not publish",
    });
    expect(selectPublishOutcome(store.getState(), ticket)).toMatchObject({
      state: "rejected",
      code: "forbidden",
    });
  });

  it("refuses a publish at once while not connected", () => {
    const { store } = start();
    const { ticket } = store.dispatch(
      publishRequested({ resource: "svc/api", status: "up" }),
    ).payload;
    expect(selectPublishOutcome(store.getState(), ticket)).toMatchObject({
      state: "rejected",
      code: "unavailable",
    });
  });

  it("pings every heartbeat and keeps a hub that answers", () => {
    const { hub, store } = start();
    hub.open();
    hub.say(welcome({ id: 1, heartbeat_ms: 1000 }));
    for (let beat = 0; beat < 5; beat += 1) {
      const ping = hub.sent("ping").at(-1);
      hub.say({ t: "pong", id: ping?.id ?? 0, time: Date.now() });
      vi.advanceTimersByTime(1000);
    }
    expect(hub.sent("ping").length).toBeGreaterThanOrEqual(5);
    expect(store.getState().hub.link).toBe("live");
  });

  it("treats a hub that leaves a ping unanswered for a heartbeat as lost", () => {
    const { hub, store } = start();
    hub.open();
    hub.say(welcome({ id: 1, heartbeat_ms: 1000 }));
    vi.advanceTimersByTime(2000);
    expect(store.getState().hub.link).toBe("waiting");
    expect(hub.sockets[0]?.closedWith).toBe(1000);
  });

  it("resumes every known resource, nothing trimmed: since over sub parts within the frame limit", () => {
    const { hub, store } = start();
    welcomeAndSubscribe(hub);
    const ids = Array.from({ length: 200 }, (_, index) => `load/r-${String(index)}`);
    hub.say(...ids.map((id, index) => snapshot(id, { seq: index + 1 })));
    vi.advanceTimersByTime(BURST_MS);
    hub.close(1001);
    vi.advanceTimersByTime(500);
    hub.open();
    hub.say(welcome({ id: hub.sent("hello")[0]?.id ?? 0, max_frame_bytes: 2048 }));

    const parts = hub.sent("sub");
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) expect(encodeFrame(part).length).toBeLessThanOrEqual(2048);
    expect(parts.map((part) => part.more)).toEqual([...parts.slice(1).map(() => true), undefined]);
    expect(parts.every((part) => part.pattern === "**" && part.epoch === "e-5f3c2a9b1d")).toBe(
      true,
    );
    expect(sinceOf(parts)).toEqual(Object.fromEntries(ids.map((id, index) => [id, index + 1])));

    // Each `more` part is answered `ok` without count; only the last one starts the subscription.
    hub.say(...parts.slice(0, -1).map((part) => ({ t: "ok" as const, id: part.id })));
    expect(selectSubscriptions(store.getState())["**"]?.state).toBe("pending");
    hub.say({ t: "ok", id: parts.at(-1)?.id ?? 0, count: 199 });
    expect(selectSubscriptions(store.getState())["**"]).toMatchObject({
      state: "active",
      count: 199,
    });

    // The hub answers the ids that changed while the SPA was away: one deleted, one updated.
    hub.say(
      { t: "removed", resource: "load/r-7", seq: 9 },
      delta("load/r-8", 10, { status: "down" }),
    );
    vi.advanceTimersByTime(BURST_MS);
    expect(selectResourceById(store.getState(), "load/r-7")).toBeUndefined();
    expect(selectResourceById(store.getState(), "load/r-8")).toMatchObject({
      seq: 10,
      status: "down",
    });
    expect(selectResourceTotal(store.getState())).toBe(199);
  });

  it("sends since with the epoch its seqs were seen under, even to a hub whose epoch changed", () => {
    const { hub, store } = start();
    hub.open();
    hub.say(welcome({ id: 1, epoch: "e-old" }));
    answerSubs(hub, 3);
    hub.say(
      snapshot("svc/api", { seq: 9, status: "down" }),
      snapshot("svc/gone", { seq: 4 }),
      snapshot("svc/db", { seq: 3 }),
    );
    vi.advanceTimersByTime(BURST_MS);
    hub.close(1001);
    vi.advanceTimersByTime(500);

    // The hub's data dir was replaced: it has another epoch and lower seqs.
    hub.open();
    hub.say(welcome({ id: hub.sent("hello")[0]?.id ?? 0, epoch: "e-new" }));
    const [resumed] = hub.sent("sub");
    expect(resumed).toMatchObject({
      pattern: "**",
      since: { "svc/api": 9, "svc/gone": 4, "svc/db": 3 },
      epoch: "e-old",
    });
    expect(resumed?.more).toBeUndefined();

    // So it resets every id it has (whatever the seq) and removes the others.
    hub.say(
      { t: "ok", id: resumed?.id ?? 0, count: 2 },
      snapshot("svc/api", { seq: 2, status: "up", reset: true }),
      snapshot("svc/db", { seq: 1, status: "degraded", reset: true }),
      { t: "removed", resource: "svc/gone", seq: 1 },
    );
    vi.advanceTimersByTime(BURST_MS);
    expect(selectResourceById(store.getState(), "svc/api")).toMatchObject({
      seq: 2,
      status: "up",
    });
    expect(selectResourceById(store.getState(), "svc/db")).toMatchObject({
      seq: 1,
      status: "degraded",
    });
    expect(selectResourceById(store.getState(), "svc/gone")).toBeUndefined();

    // From then on the seqs are the new hub's, and say so.
    hub.close(1001);
    vi.advanceTimersByTime(1000);
    hub.open();
    hub.say(welcome({ id: hub.sent("hello")[0]?.id ?? 0, epoch: "e-new" }));
    expect(hub.sent("sub")).toEqual([
      {
        t: "sub",
        id: expect.any(Number) as number,
        pattern: "**",
        since: { "svc/api": 2, "svc/db": 1 },
        epoch: "e-new",
      },
    ]);
  });

  it("keeps the old epoch for seqs the new hub has not answered yet, across a drop", () => {
    const { hub, store } = start();
    hub.open();
    hub.say(welcome({ id: 1, epoch: "e-old" }));
    answerSubs(hub, 2);
    hub.say(snapshot("svc/api", { seq: 9 }), snapshot("svc/db", { seq: 3 }));
    vi.advanceTimersByTime(BURST_MS);
    hub.close(1001);
    vi.advanceTimersByTime(500);
    hub.open();
    hub.say(welcome({ id: hub.sent("hello")[0]?.id ?? 0, epoch: "e-new" }));
    expect(hub.sent("sub")[0]).toMatchObject({ epoch: "e-old" });

    // Dropped before the hub answered: the seqs are still the old data's.
    hub.close(1006);
    vi.advanceTimersByTime(1000);
    hub.open();
    hub.say(welcome({ id: hub.sent("hello")[0]?.id ?? 0, epoch: "e-new" }));
    const [again] = hub.sent("sub");
    expect(again).toMatchObject({ since: { "svc/api": 9, "svc/db": 3 }, epoch: "e-old" });

    // One answered, one not yet: the since still goes out under the old epoch, whole.
    hub.say(
      { t: "ok", id: again?.id ?? 0, count: 2 },
      snapshot("svc/api", { seq: 1, reset: true }),
    );
    vi.advanceTimersByTime(BURST_MS);
    hub.close(1006);
    vi.advanceTimersByTime(2000);
    hub.open();
    hub.say(welcome({ id: hub.sent("hello")[0]?.id ?? 0, epoch: "e-new" }));
    expect(hub.sent("sub")[0]).toMatchObject({
      since: { "svc/api": 1, "svc/db": 3 },
      epoch: "e-old",
    });
    expect(selectResourceTotal(store.getState())).toBe(2);
  });

  it("after a refused more part, resubscribes afresh once the last part is taken (no ghost)", () => {
    const { hub, store } = start();
    welcomeAndSubscribe(hub);
    hub.say(...Array.from({ length: 200 }, (_, index) => snapshot(`load/r-${String(index)}`)));
    vi.advanceTimersByTime(BURST_MS);
    hub.close(1001);
    vi.advanceTimersByTime(500);
    hub.open();
    hub.say(welcome({ id: hub.sent("hello")[0]?.id ?? 0, max_frame_bytes: 2048 }));
    const parts = hub.sent("sub");
    expect(parts.length).toBeGreaterThan(1);

    // The hub refuses one part, takes the others, and starts the subscription on what it got.
    hub.say({ t: "error", id: parts[0]?.id ?? 0, code: "rate_limited", message: "slow down" });
    hub.say(...parts.slice(1, -1).map((part) => ({ t: "ok" as const, id: part.id })));
    hub.say({ t: "ok", id: parts.at(-1)?.id ?? 0, count: 200 });
    expect(hub.current.sent.slice(-2)).toEqual([
      { t: "unsub", id: expect.any(Number) as number, pattern: "**" },
      { t: "sub", id: expect.any(Number) as number, pattern: "**" },
    ]);
    expect(selectSubscriptions(store.getState())["**"]?.state).toBe("pending");
    expect(selectLastHubError(store.getState())).toBeNull();

    // Until the unsub's ok, the partial subscription is live; its ok forgets what it watched.
    hub.say(delta("load/r-7", 2, { status: "down" }));
    vi.advanceTimersByTime(BURST_MS);
    expect(selectResourceById(store.getState(), "load/r-7")).toMatchObject({ status: "down" });
    hub.say({ t: "ok", id: hub.sent("unsub").at(-1)?.id ?? 0 });
    expect(selectResourceTotal(store.getState())).toBe(0);

    // The fresh subscription's snapshots are the whole truth: what the hub did not send is gone.
    const fresh = hub.sent("sub").at(-1);
    hub.say({ t: "ok", id: fresh?.id ?? 0, count: 2 }, snapshot("load/r-1"), snapshot("load/r-2"));
    vi.advanceTimersByTime(BURST_MS);
    expect(selectSubscriptions(store.getState())["**"]).toMatchObject({
      state: "active",
      count: 2,
    });
    expect(selectResourceTotal(store.getState())).toBe(2);
  });

  it("takes a pattern's frames from its sub's ok until its unsub's ok, then forgets what nothing watches", () => {
    const { hub, store } = start();
    hub.open();
    hub.say(welcome({ id: hub.sent("hello")[0]?.id ?? 0 }));
    const [all] = hub.sent("sub");
    // Not live before its ok: the hub never sends such frames, and none is taken.
    hub.say(snapshot("svc/early"));
    hub.say({ t: "ok", id: all?.id ?? 0, count: 3 });
    hub.say(snapshot("svc/api", { seq: 3 }), snapshot("host/web-1", { seq: 8 }));
    vi.advanceTimersByTime(BURST_MS);
    expect(selectResourceById(store.getState(), "svc/early")).toBeUndefined();

    // Narrow ** to svc/**: the new sub goes first, then the unsub.
    store.dispatch(subscriptionRequested({ pattern: "svc/**" }));
    store.dispatch(unsubscriptionRequested({ pattern: "**" }));
    const narrow = hub.sent("sub").at(-1);
    const unsub = hub.sent("unsub").at(-1);
    expect(narrow).toMatchObject({ pattern: "svc/**", since: { "svc/api": 3 } });
    expect(unsub).toMatchObject({ pattern: "**" });

    // Until the unsub's ok, ** is live: its frames count, also for host/web-1.
    hub.say(delta("host/web-1", 9, { status: "down" }));
    hub.say({ t: "ok", id: narrow?.id ?? 0, count: 1 });
    hub.say(delta("host/web-1", 10, { status: "degraded" }), delta("svc/api", 4));
    vi.advanceTimersByTime(BURST_MS);
    expect(selectResourceById(store.getState(), "host/web-1")).toMatchObject({
      seq: 10,
      status: "degraded",
    });

    // The unsub's ok: host/web-1 is watched by no live pattern any more, and leaves the store.
    hub.say(delta("host/web-1", 11), { t: "ok", id: unsub?.id ?? 0 });
    expect(selectResourceById(store.getState(), "host/web-1")).toBeUndefined();
    expect(selectResourceById(store.getState(), "svc/api")).toMatchObject({ seq: 4 });

    // Frames of the subscription given up are ignored; svc/** goes on.
    hub.say(
      delta("host/web-1", 12),
      snapshot("host/web-2", { seq: 5 }),
      { t: "removed", resource: "host/web-1", seq: 13 },
      delta("svc/api", 5, { status: "down" }),
    );
    vi.advanceTimersByTime(BURST_MS);
    expect(selectResourceById(store.getState(), "host/web-1")).toBeUndefined();
    expect(selectResourceById(store.getState(), "host/web-2")).toBeUndefined();
    expect(selectResourceById(store.getState(), "svc/api")).toMatchObject({
      seq: 5,
      status: "down",
    });
    expect(selectResourceTotal(store.getState())).toBe(1);
  });

  it("keeps, at an unsub's ok, what a sub sent after it named in since", () => {
    const { hub, store } = start();
    welcomeAndSubscribe(hub);
    hub.say(snapshot("svc/api", { seq: 3 }), snapshot("svc/db", { seq: 2 }));
    vi.advanceTimersByTime(BURST_MS);

    // ** given up, then asked for again before the hub answered: unsub, then sub with since.
    store.dispatch(unsubscriptionRequested({ pattern: "**" }));
    store.dispatch(subscriptionRequested({ pattern: "**" }));
    const unsub = hub.sent("unsub").at(-1);
    const again = hub.sent("sub").at(-1);
    expect(again).toMatchObject({ pattern: "**", since: { "svc/api": 3, "svc/db": 2 } });

    // Still live: a resource created now is taken, though the new sub's since lacks it.
    hub.say(snapshot("svc/new", { seq: 1 }));
    hub.say({ t: "ok", id: unsub?.id ?? 0 });
    // The since ids stay (the hub answers for them after the sub's ok); svc/new goes.
    expect(selectResourceById(store.getState(), "svc/api")).toMatchObject({ seq: 3 });
    expect(selectResourceById(store.getState(), "svc/db")).toMatchObject({ seq: 2 });
    expect(selectResourceById(store.getState(), "svc/new")).toBeUndefined();

    // The sub's ok: deltas after since, removed, and a snapshot for what since lacked.
    hub.say(
      { t: "ok", id: again?.id ?? 0, count: 2 },
      { t: "removed", resource: "svc/db", seq: 3 },
      snapshot("svc/new", { seq: 1 }),
    );
    vi.advanceTimersByTime(BURST_MS);
    expect(selectResourceById(store.getState(), "svc/api")).toMatchObject({ seq: 3 });
    expect(selectResourceById(store.getState(), "svc/db")).toBeUndefined();
    expect(selectResourceById(store.getState(), "svc/new")).toBeDefined();
    expect(selectResourceTotal(store.getState())).toBe(2);
  });

  it.each([
    [1002, "WebSocket protocol error"],
    [1003, "wrong frame type"],
    [4010, "heartbeat missed"],
    [4009, "slow consumer"],
  ])("reconnects with backoff and resumes after close %i (%s)", (code) => {
    const { hub, store } = start();
    welcomeAndSubscribe(hub);
    hub.say(snapshot("svc/api", { seq: 3 }));
    hub.close(code);
    expect(store.getState().hub.link).toBe("waiting");
    expect(store.getState().auth.signInReason).toBeNull();
    vi.advanceTimersByTime(500);
    expect(hub.sockets).toHaveLength(2);
    expect(welcomeAndSubscribe(hub)).toMatchObject({ since: { "svc/api": 3 } });
  });
});

describe("hub middleware: subscriptions within the token's scope", () => {
  const scoped = unsignedJwt({ sub: "ops", roles: ["viewer"], res: ["svc/**", "host/a"] });

  /** Opens the socket and answers hello with welcome; returns the subs sent after it. */
  function welcomeOnly(hub: FakeHub, overrides: Parameters<typeof welcome>[0] = {}) {
    hub.open();
    hub.say(welcome({ id: hub.sent("hello")[0]?.id ?? 0, ...overrides }));
    return hub.sent("sub");
  }

  it("subscribes ** once when the token has no res", () => {
    const { hub } = start(unsignedJwt({ sub: "ops", roles: ["viewer"] }));
    expect(welcomeOnly(hub)).toEqual([{ t: "sub", id: 2, pattern: "**" }]);
  });

  it("subscribes ** once with auth off (no token)", () => {
    const { hub } = start();
    expect(welcomeOnly(hub).map((sub) => sub.pattern)).toEqual(["**"]);
  });

  it("subscribes each pattern of the token's res instead of **", () => {
    const { hub, store } = start(scoped);
    const subs = welcomeOnly(hub);
    expect(subs).toEqual([
      { t: "sub", id: 2, pattern: "svc/**" },
      { t: "sub", id: 3, pattern: "host/a" },
    ]);
    hub.say({ t: "ok", id: 2, count: 2 }, { t: "ok", id: 3, count: 1 });
    expect(selectSubscriptions(store.getState())).toMatchObject({
      "svc/**": { state: "active", count: 2 },
      "host/a": { state: "active", count: 1 },
    });
    expect(Object.keys(selectSubscriptions(store.getState()))).toEqual(["svc/**", "host/a"]);
  });

  it("resumes each scoped pattern with since holding only the known resources it matches", () => {
    const { hub, store } = start(scoped);
    welcomeOnly(hub);
    answerSubs(hub);
    hub.say(
      snapshot("svc/api", { seq: 3 }),
      snapshot("svc/db/primary", { seq: 5 }),
      snapshot("host/a", { seq: 8 }),
    );
    // Known from elsewhere (say, before the token changed): matched by neither pattern.
    store.dispatch(framesReceived([snapshot("host/b", { seq: 2 }), snapshot("other/x")]));
    hub.close(1001, "hub shutting down");
    vi.advanceTimersByTime(500);
    expect(hub.sockets).toHaveLength(2);

    const resumed = welcomeOnly(hub);
    expect(resumed).toEqual([
      {
        t: "sub",
        id: 6,
        pattern: "svc/**",
        since: { "svc/api": 3, "svc/db/primary": 5 },
        epoch: "e-5f3c2a9b1d",
      },
      { t: "sub", id: 7, pattern: "host/a", since: { "host/a": 8 }, epoch: "e-5f3c2a9b1d" },
    ]);

    // Replayed deltas already seen are ignored; later ones apply, once.
    answerSubs(hub);
    hub.say(delta("svc/api", 3, { status: "down" }), delta("svc/api", 4, { status: "degraded" }));
    vi.advanceTimersByTime(BURST_MS);
    expect(selectResourceById(store.getState(), "svc/api")).toMatchObject({
      seq: 4,
      status: "degraded",
    });
  });

  it("splits each scoped pattern's since over parts within the frame limit, nothing trimmed", () => {
    const { hub, store } = start(scoped);
    welcomeOnly(hub);
    const ids = Array.from(
      { length: 400 },
      (_, index) => `svc/r-${String(index).padStart(3, "0")}`,
    );
    store.dispatch(framesReceived(ids.map((id) => snapshot(id, { seq: 2 ** 40 }))));
    store.dispatch(framesReceived([snapshot("host/a", { seq: 9 })]));
    hub.close(1001);
    vi.advanceTimersByTime(500);
    const subs = welcomeOnly(hub, { max_frame_bytes: 2048 });
    for (const sub of subs) expect(encodeFrame(sub).length).toBeLessThanOrEqual(2048);

    // The parts of one pattern go out together, in order, before the next pattern's.
    const svc = subs.filter((sub) => sub.pattern === "svc/**");
    expect(subs.map((sub) => sub.pattern)).toEqual([...svc.map(() => "svc/**"), "host/a"]);
    expect(svc.length).toBeGreaterThan(1);
    expect(svc.map((sub) => sub.more)).toEqual([...svc.slice(1).map(() => true), undefined]);
    expect(sinceOf(svc)).toEqual(Object.fromEntries(ids.map((id) => [id, 2 ** 40])));
    expect(subs.at(-1)).toMatchObject({ since: { "host/a": 9 }, epoch: "e-5f3c2a9b1d" });
    expect(subs.at(-1)?.more).toBeUndefined();
  });

  it("forgets, when the hub's epoch changed, what no subscription of the new session resumes", () => {
    const { hub, store } = start(scoped);
    welcomeOnly(hub, { epoch: "e-old" });
    answerSubs(hub);
    hub.say(snapshot("svc/api", { seq: 3 }), snapshot("host/a", { seq: 8 }));
    // Known from elsewhere, matched by neither pattern: nothing would ever correct it.
    store.dispatch(framesReceived([snapshot("other/x", { seq: 2 })]));
    hub.close(1001);
    vi.advanceTimersByTime(500);

    const resumed = welcomeOnly(hub, { epoch: "e-new" });
    expect(resumed).toMatchObject([
      { pattern: "svc/**", since: { "svc/api": 3 }, epoch: "e-old" },
      { pattern: "host/a", since: { "host/a": 8 }, epoch: "e-old" },
    ]);
    expect(selectResourceById(store.getState(), "other/x")).toBeUndefined();
    expect(selectResourceById(store.getState(), "svc/api")).toBeDefined();

    // A pattern the new hub refuses: its old seqs were never reset, so they go too.
    hub.say({ t: "error", id: resumed[1]?.id ?? 0, code: "forbidden", message: "no" });
    expect(selectResourceById(store.getState(), "host/a")).toBeUndefined();
    expect(selectResourceById(store.getState(), "svc/api")).toBeDefined();
  });

  it("narrows a pattern asked for later to the scope, and skips one outside it", () => {
    const { hub, store } = start(scoped);
    welcomeOnly(hub);
    store.dispatch(subscriptionRequested({ pattern: "host/*" }));
    store.dispatch(subscriptionRequested({ pattern: "svc/api" }));
    store.dispatch(subscriptionRequested({ pattern: "other/**" }));
    // host/* within the scope is host/a, and svc/api lies within svc/**: both already watched.
    expect(hub.sent("sub").map((sub) => sub.pattern)).toEqual(["svc/**", "host/a"]);
    expect(hub.sent("unsub")).toEqual([]);
  });

  it("subscribes the narrower pattern before it drops the wider one on unsubscribe", () => {
    const { hub, store } = start();
    welcomeOnly(hub);
    store.dispatch(subscriptionRequested({ pattern: "svc/**" }));
    expect(hub.sent("sub").map((sub) => sub.pattern)).toEqual(["**"]);
    store.dispatch(unsubscriptionRequested({ pattern: "**" }));
    expect(hub.current.sent.slice(-2)).toMatchObject([
      { t: "sub", pattern: "svc/**" },
      { t: "unsub", pattern: "**" },
    ]);
    expect(Object.keys(selectSubscriptions(store.getState()))).toEqual(["svc/**"]);
  });

  it("records a refused subscription with the hub's words and does not ask again", () => {
    const { hub, store } = start(unsignedJwt({ sub: "ops", roles: ["viewer"] }));
    const [sub] = welcomeOnly(hub);
    hub.say({
      t: "error",
      id: sub?.id ?? 0,
      code: "forbidden",
      message: "pattern `**` is wider than the token's scope",
    });
    expect(selectSubscriptions(store.getState())["**"]).toEqual({
      pattern: "**",
      state: "refused",
      count: null,
      refusal: { code: "forbidden", message: "pattern `**` is wider than the token's scope" },
    });
    // Reported as the subscription's answer, not as a stray error.
    expect(selectLastHubError(store.getState())).toBeNull();
    store.dispatch(subscriptionRequested({ pattern: "**" }));
    expect(hub.sent("sub")).toHaveLength(1);
    expect(store.getState().hub.link).toBe("live");
  });
});
