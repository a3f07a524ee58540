import { act, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { delta, snapshot } from "../../test/frames";
import { renderWithProviders } from "../../test/renderWithProviders";
import { answerRestRoutes, requestedPaths } from "../../test/restRoutes";
import { selectMonitoring } from "../monitoring/monitoringApi";
import { framesReceived } from "../resources/resourcesSlice";
import { RollupCards } from "./RollupCards";

const monitoring = {
  probes: [],
  alerts: [],
  rollups: [
    { resource: "rollup/services", pattern: "svc/**" },
    { resource: "rollup/hosts", pattern: "host/*" },
  ],
};

const servicesRollup = snapshot("rollup/services", {
  status: "down",
  fields: { up: 3, degraded: 1, down: 1, unknown: 0, stale: 0, maintenance: 0, total: 5 },
});

afterEach(() => {
  window.location.hash = "";
});

function countOf(card: HTMLElement, status: string) {
  return within(card).getByTestId(`rollup-count-${status}`);
}

describe("RollupCards", () => {
  it("shows each configured rollup with its worst status and members per status", async () => {
    const fetch = answerRestRoutes({ "/api/v1/monitoring": { body: monitoring } });
    const { store } = renderWithProviders(<RollupCards />);
    act(() => {
      store.dispatch(framesReceived([servicesRollup]));
    });

    const services = await screen.findByRole("listitem", { name: "Rollup rollup/services" });
    expect(services).toHaveAttribute("data-status", "down");
    expect(within(services).getByRole("link", { name: "rollup/services" })).toHaveAttribute(
      "href",
      "#/resources/rollup/services",
    );
    expect(services.querySelector('[data-status="down"]')).toHaveTextContent("down");
    expect(countOf(services, "up")).toHaveTextContent("up3");
    expect(countOf(services, "degraded")).toHaveTextContent("degraded1");
    expect(countOf(services, "down")).toHaveTextContent("down1");
    expect(countOf(services, "stale")).toHaveTextContent("stale0");
    expect(within(services).getByTestId("rollup-total")).toHaveTextContent("5 members of svc/**");
    expect(requestedPaths(fetch)).toEqual(["/api/v1/monitoring"]);

    // A rollup the hub has not reported (yet) says so instead of showing zeros.
    const hosts = screen.getByRole("listitem", { name: "Rollup rollup/hosts" });
    expect(hosts).toHaveTextContent("has not reported this rollup");
  });

  it("follows the rollup resource live", async () => {
    answerRestRoutes({ "/api/v1/monitoring": { body: monitoring } });
    const { store } = renderWithProviders(<RollupCards />);
    act(() => {
      store.dispatch(framesReceived([servicesRollup]));
    });
    const services = await screen.findByRole("listitem", { name: "Rollup rollup/services" });

    act(() => {
      store.dispatch(
        framesReceived([
          delta("rollup/services", 2, { status: "degraded", fields: { up: 4, down: 0 } }),
        ]),
      );
    });
    await waitFor(() => {
      expect(services).toHaveAttribute("data-status", "degraded");
    });
    expect(countOf(services, "up")).toHaveTextContent("up4");
    expect(countOf(services, "down")).toHaveTextContent("down0");
  });

  it("shows the members in the table, filtered by the rollup's pattern", async () => {
    answerRestRoutes({ "/api/v1/monitoring": { body: monitoring } });
    const { store, user } = renderWithProviders(<RollupCards />);
    act(() => {
      store.dispatch(framesReceived([servicesRollup]));
    });
    const services = await screen.findByRole("listitem", { name: "Rollup rollup/services" });
    await user.click(within(services).getByRole("button", { name: "Show members" }));
    expect(store.getState().resources.filter).toMatchObject({ pattern: "svc/**", statuses: [] });
    expect(window.location.hash).toBe("#/resources");
  });

  it("shows nothing on a hub without the monitoring route", async () => {
    answerRestRoutes({});
    const { store } = renderWithProviders(<RollupCards />);
    await waitFor(() => {
      expect(selectMonitoring(store.getState()).error).toMatchObject({ status: 404 });
    });
    expect(screen.queryByRole("region", { name: "Rollups" })).toBeNull();
    expect(screen.queryByRole("alert")).toBeNull();
  });
});
