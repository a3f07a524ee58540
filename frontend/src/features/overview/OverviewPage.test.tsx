import { act, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { snapshot } from "../../test/frames";
import { renderWithProviders } from "../../test/renderWithProviders";
import { answerRestRoutes } from "../../test/restRoutes";
import { framesReceived } from "../resources/resourcesSlice";
import { OverviewPage } from "./OverviewPage";

const T = 1_700_000_000_000;

afterEach(() => {
  window.location.hash = "";
});

function renderOverview(...frames: Parameters<typeof framesReceived>[0]) {
  answerRestRoutes({
    "/api/v1/monitoring": {
      body: {
        probes: [],
        alerts: [],
        rollups: [{ resource: "rollup/services", pattern: "svc/**" }],
      },
    },
  });
  const rendered = renderWithProviders(<OverviewPage />);
  act(() => {
    rendered.store.dispatch(framesReceived(frames));
  });
  return rendered;
}

describe("OverviewPage", () => {
  it("lists down, stale and degraded resources as needing attention, worst first", async () => {
    renderOverview(
      snapshot("svc/api", { status: "degraded", updated_at: T + 3000 }),
      snapshot("svc/db", { status: "up", updated_at: T + 4000 }),
      snapshot("host/web-1", { status: "stale", updated_at: T + 1000 }),
      snapshot("svc/web", { status: "down", updated_at: T }),
      snapshot("svc/queue", { status: "degraded", updated_at: T + 5000 }),
      snapshot("svc/batch", { status: "maintenance" }),
      // A rollup and an alert restate their members' statuses: they have their own places.
      snapshot("rollup/services", { status: "down", fields: { down: 1, total: 6 } }),
      snapshot("alert/web-down/svc.web", {
        status: "down",
        labels: { alert: "web-down", resource: "svc/web" },
        fields: { state: "firing", since: T, status: "down" },
      }),
    );
    await screen.findByRole("region", { name: "Rollups" }); // the configuration has come
    const attention = screen.getByRole("list", { name: "Resources needing attention" });
    const rows = within(attention)
      .getAllByRole("listitem")
      .map((row) => [
        within(row).getByRole("link").textContent,
        row.querySelector("[data-status]")?.getAttribute("data-status"),
      ]);
    expect(rows).toEqual([
      ["svc/web", "down"],
      ["host/web-1", "stale"],
      ["svc/queue", "degraded"],
      ["svc/api", "degraded"],
    ]);
    // The svc/web outage counts once as a resource (and once in its rollup), not as its alert.
    expect(screen.getByTestId("status-count-down")).toHaveTextContent("2");
    expect(screen.getByTestId("resource-total")).toHaveTextContent("7 resources");
    expect(screen.getByTestId("firing-alerts-link")).toHaveTextContent("1 alert firing");
    expect(screen.getByTestId("firing-alerts-link")).toHaveAttribute("href", "#/alerts");
  });

  it("says so when nothing needs attention", async () => {
    renderOverview(
      snapshot("svc/db", { status: "up" }),
      snapshot("svc/batch", { status: "maintenance" }),
    );
    expect(await screen.findByText("Nothing is down, stale or degraded.")).toBeVisible();
    expect(screen.queryByTestId("firing-alerts-link")).toBeNull();
  });

  it("shows the hub's rollups as cards", async () => {
    renderOverview(
      snapshot("rollup/services", {
        status: "degraded",
        fields: { up: 2, degraded: 1, down: 0, unknown: 0, stale: 0, maintenance: 0, total: 3 },
      }),
    );
    const rollups = await screen.findByRole("region", { name: "Rollups" });
    const card = within(rollups).getByRole("listitem", { name: "Rollup rollup/services" });
    expect(card).toHaveAttribute("data-status", "degraded");
    expect(within(card).getByTestId("rollup-total")).toHaveTextContent("3 members of svc/**");
  });
});
