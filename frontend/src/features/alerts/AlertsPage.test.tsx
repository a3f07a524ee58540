import { act, fireEvent, screen, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { makeStore } from "../../app/store";
import { BURST_MS } from "../../hub/hubMiddleware";
import { connectRequested } from "../../hub/hubSlice";
import { signedOut } from "../auth/authSlice";
import { FakeHub } from "../../test/fakeHub";
import { delta, snapshot, welcome } from "../../test/frames";
import { renderWithProviders } from "../../test/renderWithProviders";
import { answerRestRoutes } from "../../test/restRoutes";
import { AlertsPage } from "./AlertsPage";

const NOW = 1_800_000_000_000;

/** Stores whose sockets are open: closed after each test, which also stops their heartbeat. */
const live: ReturnType<typeof makeStore>[] = [];

beforeEach(() => {
  vi.useFakeTimers({ now: NOW });
  answerRestRoutes({
    "/api/v1/monitoring": {
      body: {
        probes: [],
        alerts: [
          {
            name: "web-down",
            pattern: "svc/**",
            on: ["down"],
            after_ms: 0,
            format: "json",
            flap_window_ms: 600_000,
            flap_max: 5,
          },
        ],
        rollups: [],
      },
    },
  });
});
afterEach(() => {
  for (const store of live.splice(0)) store.dispatch(signedOut());
  vi.useRealTimers();
});

/** The alerts page on the real store and middleware, over a fake socket the test plays. */
function openAlertsPage() {
  const hub = new FakeHub();
  const store = makeStore(undefined, {
    openSocket: hub.openSocket,
    socketUrl: () => "ws://hub.test/ws",
  });
  live.push(store);
  const view = renderWithProviders(<AlertsPage />, { store });
  act(() => {
    store.dispatch(connectRequested());
    hub.open();
    hub.say(welcome({ id: hub.sent("hello")[0]?.id ?? 0 }));
  });
  return { hub, ...view };
}

/**
 * Plays frames as the hub, and lets the middleware's burst reach the store and the store's
 * batched notification (next animation frame) reach the page.
 */
function hubSays(hub: FakeHub, ...frames: Parameters<FakeHub["say"]>) {
  act(() => {
    hub.say(...frames);
    vi.advanceTimersByTime(BURST_MS);
    vi.advanceTimersToNextFrame();
  });
}

const firingWebDown = snapshot("alert/web-down/svc.e2e.web", {
  status: "down",
  labels: { alert: "web-down", resource: "svc/e2e/web" },
  fields: { since: NOW - 125_000, state: "firing", status: "down" },
  updated_at: NOW - 125_000,
});

describe("AlertsPage", () => {
  it("subscribes to alert/** through the hub connection", () => {
    const { hub } = openAlertsPage();
    expect(hub.sent("sub").map((sub) => sub.pattern)).toEqual(["alert/**"]);
  });

  it("lists a firing alert live with its name, member, member status and age", () => {
    const { hub } = openAlertsPage();
    const [sub] = hub.sent("sub");
    hubSays(hub, { t: "ok", id: sub?.id ?? 0, count: 1 }, firingWebDown);

    const firing = screen.getByRole("table", { name: "Firing alerts" });
    const row = within(firing).getAllByRole("row")[1]!;
    expect(row).toHaveAttribute("data-state", "firing");
    expect(within(row).getByRole("link", { name: "web-down" })).toHaveAttribute(
      "href",
      "#/resources/alert/web-down/svc.e2e.web",
    );
    expect(within(row).getByRole("link", { name: "svc/e2e/web" })).toHaveAttribute(
      "href",
      "#/resources/svc/e2e/web",
    );
    expect(row.querySelector('[data-status="down"]')).toHaveTextContent("down");
    expect(within(row).getByTestId("alert-age")).toHaveTextContent("for 2 min");
    expect(screen.getByRole("button", { name: "Firing (1)" })).toBeVisible();

    // The age goes on counting while the page is open.
    act(() => {
      vi.advanceTimersByTime(60_000);
    });
    expect(within(row).getByTestId("alert-age")).toHaveTextContent("for 3 min");
  });

  it("drops a resolved alert from the firing list and keeps it under recently resolved", () => {
    const { hub } = openAlertsPage();
    const [sub] = hub.sent("sub");
    hubSays(hub, { t: "ok", id: sub?.id ?? 0, count: 1 }, firingWebDown);
    expect(screen.getByRole("table", { name: "Firing alerts" })).toBeVisible();

    act(() => {
      vi.advanceTimersByTime(30_000);
    });
    hubSays(
      hub,
      delta("alert/web-down/svc.e2e.web", 2, {
        at: Date.now(),
        status: "up",
        fields: { state: "resolved", status: "up", since: Date.now() },
      }),
    );
    expect(screen.queryByRole("table", { name: "Firing alerts" })).toBeNull();
    expect(screen.getByTestId("alerts-empty")).toHaveTextContent("No alert is firing.");

    fireEvent.click(screen.getByRole("button", { name: "Recently resolved (1)" }));
    const resolved = screen.getByRole("table", { name: "Resolved alerts" });
    const row = within(resolved).getAllByRole("row")[1]!;
    expect(row).toHaveAttribute("data-state", "resolved");
    expect(within(row).getByRole("link", { name: "svc/e2e/web" })).toBeVisible();
    expect(within(row).getByTestId("alert-age")).toHaveTextContent("resolved just now");
  });

  it("keeps a flapping alert among the firing ones", () => {
    const { hub } = openAlertsPage();
    const [sub] = hub.sent("sub");
    hubSays(
      hub,
      { t: "ok", id: sub?.id ?? 0, count: 1 },
      snapshot("alert/web-down/svc.api", {
        status: "down",
        labels: { alert: "web-down", resource: "svc/api" },
        fields: { since: NOW - 5000, state: "flapping", status: "degraded" },
      }),
    );
    const row = within(screen.getByRole("table", { name: "Firing alerts" })).getAllByRole(
      "row",
    )[1]!;
    expect(row).toHaveAttribute("data-state", "flapping");
    expect(row.querySelector('[data-status="degraded"]')).toHaveTextContent("degraded");
    expect(within(row).getByTestId("alert-age")).toHaveTextContent("for 5 s");
  });

  it("names the configured alert rules, even while nothing fires", async () => {
    openAlertsPage();
    await act(async () => {
      await vi.runOnlyPendingTimersAsync();
    });
    const rules = screen.getByRole("region", { name: "Alert rules" });
    expect(rules).toHaveTextContent("web-down");
    expect(rules).toHaveTextContent("svc/**");
    expect(rules).toHaveTextContent("fires on down at once");
  });
});
