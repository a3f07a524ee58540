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

  it("keeps a resume's since within the hub's frame limit", () => {
    const { hub } = start();
    welcomeAndSubscribe(hub);
    hub.say(...Array.from({ length: 200 }, (_, index) => snapshot(`load/r-${String(index)}`)));
    vi.advanceTimersByTime(BURST_MS);
    hub.close(1001);
    vi.advanceTimersByTime(500);
    hub.open();
    hub.say(welcome({ id: hub.sent("hello")[0]?.id ?? 0, max_frame_bytes: 2048 }));
    const { since } = hub.sent("sub")[0]!;
    const kept = Object.keys(since ?? {}).length;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(200);
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
      { t: "sub", id: 6, pattern: "svc/**", since: { "svc/api": 3, "svc/db/primary": 5 } },
      { t: "sub", id: 7, pattern: "host/a", since: { "host/a": 8 } },
    ]);

    // Replayed deltas already seen are ignored; later ones apply, once.
    hub.say(delta("svc/api", 3, { status: "down" }), delta("svc/api", 4, { status: "degraded" }));
    vi.advanceTimersByTime(BURST_MS);
    expect(selectResourceById(store.getState(), "svc/api")).toMatchObject({
      seq: 4,
      status: "degraded",
    });
  });

  it("keeps every scoped sub frame within the hub's frame limit", () => {
    const { hub, store } = start(scoped);
    welcomeOnly(hub);
    store.dispatch(
      framesReceived(
        Array.from({ length: 400 }, (_, index) =>
          snapshot(`svc/r-${String(index).padStart(3, "0")}`, { seq: 2 ** 40 }),
        ),
      ),
    );
    store.dispatch(framesReceived([snapshot("host/a", { seq: 9 })]));
    hub.close(1001);
    vi.advanceTimersByTime(500);
    const subs = welcomeOnly(hub, { max_frame_bytes: 2048 });
    expect(subs.map((sub) => sub.pattern)).toEqual(["svc/**", "host/a"]);
    for (const sub of subs) expect(encodeFrame(sub).length).toBeLessThanOrEqual(2048);
    const kept = Object.keys(subs[0]?.since ?? {}).length;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(400);
    expect(subs[1]?.since).toEqual({ "host/a": 9 });
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
