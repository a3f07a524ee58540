import { act, screen, waitForElementToBeRemoved } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { makeStore } from "../../app/store";
import { signedOut } from "../auth/authSlice";
import { connectRequested, subscriptionRequested } from "../../hub/hubSlice";
import { FakeHub } from "../../test/fakeHub";
import { welcome } from "../../test/frames";
import { renderWithProviders } from "../../test/renderWithProviders";
import { unsignedJwt } from "../../test/tokens";
import { RefusedSubscriptions } from "./RefusedSubscriptions";

/** Stores whose sockets are open: closed after each test, which also stops their heartbeat. */
const live: ReturnType<typeof makeStore>[] = [];
afterEach(() => {
  for (const store of live.splice(0)) store.dispatch(signedOut());
});

/** The real store and middleware on a fake socket, signed in with `token`, watching `**`. */
function signedIn(token: string) {
  const hub = new FakeHub();
  const store = makeStore(
    { auth: { token, signInReason: null, message: null } },
    { openSocket: hub.openSocket, socketUrl: () => "ws://hub.test/ws" },
  );
  live.push(store);
  const view = renderWithProviders(<RefusedSubscriptions />, { store });
  act(() => {
    store.dispatch(subscriptionRequested({ pattern: "**" }));
    store.dispatch(connectRequested());
    hub.open();
    hub.say(welcome({ id: hub.sent("hello")[0]?.id ?? 0, roles: ["viewer"] }));
  });
  return { hub, ...view };
}

describe("RefusedSubscriptions", () => {
  it("names the pattern the hub refused as forbidden, until dismissed", async () => {
    const { hub, user } = signedIn(unsignedJwt({ sub: "ops", roles: ["viewer"] }));
    expect(screen.queryByTestId("refused-subscriptions")).toBeNull();

    const sub = hub.sent("sub")[0];
    expect(sub?.pattern).toBe("**");
    act(() => {
      hub.say({
        t: "error",
        id: sub?.id ?? 0,
        code: "forbidden",
        message: "pattern `**` is wider than the token's scope",
      });
    });
    const notice = await screen.findByTestId("refused-subscriptions");
    expect(notice).toHaveTextContent("The hub refused a subscription");
    expect(notice).toHaveTextContent(
      "Resources matching ** are not shown (forbidden): pattern `**` is wider than the token's scope.",
    );
    expect(notice).toHaveTextContent("Sign in with a token whose res covers this pattern");
    expect(notice.querySelector("code")).toHaveTextContent(/^\*\*$/);

    await user.click(screen.getByRole("button", { name: "Close" }));
    await waitForElementToBeRemoved(() => screen.queryByTestId("refused-subscriptions"));
  });

  it("lists each refused pattern of a scoped token and stays silent for accepted ones", async () => {
    const { hub } = signedIn(
      unsignedJwt({ sub: "ops", roles: ["viewer"], res: ["svc/**", "host/*"] }),
    );
    const [svc, host] = hub.sent("sub");
    expect([svc?.pattern, host?.pattern]).toEqual(["svc/**", "host/*"]);
    act(() => {
      hub.say(
        { t: "ok", id: svc?.id ?? 0, count: 3 },
        {
          t: "error",
          id: host?.id ?? 0,
          code: "forbidden",
          message: "pattern `host/*` is wider than the token's scope",
        },
      );
    });
    const notice = await screen.findByTestId("refused-subscriptions");
    expect(notice).toHaveTextContent("Resources matching host/* are not shown (forbidden)");
    expect(notice).not.toHaveTextContent("svc/**");
  });
});
