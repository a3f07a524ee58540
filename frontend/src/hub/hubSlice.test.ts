import { describe, expect, it } from "vitest";
import { makeStore } from "../app/store";
import { signedOut } from "../features/auth/authSlice";
import { silentSocket } from "../test/renderWithProviders";
import { welcome } from "../test/frames";
import {
  connectionLost,
  selectRefusedSubscriptions,
  selectRequestedPatterns,
  selectSubscriptions,
  subscriptionConfirmed,
  subscriptionRefused,
  subscriptionRequested,
  subscriptionSent,
  unsubscriptionRequested,
  welcomed,
} from "./hubSlice";

const refusal = {
  pattern: "host/*",
  code: "forbidden" as const,
  message: "pattern `host/*` is wider than the token's scope",
};

/** A live session holding `svc/**` (active) and `host/*` (refused). */
function withSubscriptions() {
  const store = makeStore(undefined, { openSocket: silentSocket });
  store.dispatch(welcomed(welcome()));
  store.dispatch(subscriptionSent({ pattern: "svc/**" }));
  store.dispatch(subscriptionSent({ pattern: "host/*" }));
  store.dispatch(subscriptionConfirmed({ pattern: "svc/**", count: 2 }));
  store.dispatch(subscriptionRefused(refusal));
  return store;
}

describe("hub slice", () => {
  it("keeps each requested pattern once, in the order asked", () => {
    const store = makeStore(undefined, { openSocket: silentSocket });
    store.dispatch(subscriptionRequested({ pattern: "**" }));
    store.dispatch(subscriptionRequested({ pattern: "svc/**" }));
    store.dispatch(subscriptionRequested({ pattern: "**" }));
    expect(selectRequestedPatterns(store.getState())).toEqual(["**", "svc/**"]);
    store.dispatch(unsubscriptionRequested({ pattern: "**" }));
    expect(selectRequestedPatterns(store.getState())).toEqual(["svc/**"]);
  });

  it("records a refusal with the hub's words and selects it", () => {
    const store = withSubscriptions();
    expect(selectRefusedSubscriptions(store.getState())).toEqual([
      {
        pattern: "host/*",
        state: "refused",
        count: null,
        refusal: { code: refusal.code, message: refusal.message },
      },
    ]);
  });

  it("keeps a refusal on show while reconnecting; a new session starts with none", () => {
    const store = withSubscriptions();
    store.dispatch(connectionLost({ code: 1006, reason: "" }));
    expect(selectSubscriptions(store.getState())).toMatchObject({
      "svc/**": { state: "pending" },
      "host/*": { state: "refused" },
    });
    store.dispatch(welcomed(welcome({ session: "s-2" })));
    expect(selectSubscriptions(store.getState())).toEqual({});
  });

  it("forgets the session's subscriptions on sign-out", () => {
    const store = withSubscriptions();
    store.dispatch(signedOut());
    expect(selectSubscriptions(store.getState())).toEqual({});
    expect(selectRefusedSubscriptions(store.getState())).toEqual([]);
  });
});
