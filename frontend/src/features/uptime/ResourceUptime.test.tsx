import { screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { renderWithProviders } from "../../test/renderWithProviders";
import { answerRestRoutes, requestedPaths } from "../../test/restRoutes";
import { availabilityOf } from "./availability";
import { ResourceUptime } from "./ResourceUptime";
import type { UptimeBody, UptimeDay, UptimeSummary } from "./uptimeApi";

const DAY_S = 86_400;

function summary(seconds: UptimeSummary["seconds"]): UptimeSummary {
  const counted = Object.values(seconds).reduce((sum, value) => sum + value, 0);
  const share = Object.fromEntries(
    Object.entries(seconds).map(([status, value]) => [status, value / counted]),
  );
  return { seconds, share, availability: availabilityOf(seconds) };
}

/**
 * 30 days from 2026-11-04 to 2026-12-03: the resource was created on the fourth day, was up
 * every day since but 2026-12-01, when it was down for 4320 s (5 %).
 */
function thirtyDays(): UptimeBody {
  const days: UptimeDay[] = Array.from({ length: 30 }, (_, index) => {
    const date = new Date(Date.UTC(2026, 10, 4 + index)).toISOString().slice(0, 10);
    if (index < 3) return { date, ...summary({}) };
    if (date === "2026-12-01") return { date, ...summary({ up: DAY_S - 4320, down: 4320 }) };
    return { date, ...summary({ up: DAY_S }) };
  });
  return {
    resource: "svc/api",
    days,
    total: summary({ up: 26 * DAY_S + DAY_S - 4320, down: 4320 }),
    last_24h: summary({ up: DAY_S }),
  };
}

describe("ResourceUptime", () => {
  it("asks for 30 days and shows availability over 24 hours, 7 days and 30 days", async () => {
    const fetch = answerRestRoutes({ "/api/v1/uptime/svc/api": { body: thirtyDays() } });
    renderWithProviders(<ResourceUptime resource="svc/api" />);

    expect(await screen.findByTestId("availability-24h")).toHaveTextContent("24 hours100 %");
    // The 7 days are the 30 days' last seven, weighed by time: 600,480 s up of 604,800.
    expect(screen.getByTestId("availability-7d")).toHaveTextContent("7 days99.28 %");
    expect(screen.getByTestId("availability-30d")).toHaveTextContent("30 days99.81 %");
    expect(requestedPaths(fetch)).toEqual(["/api/v1/uptime/svc/api?days=30"]);
  });

  it("draws a bar per day and tells each day's date and percentages", async () => {
    answerRestRoutes({ "/api/v1/uptime/svc/api": { body: thirtyDays() } });
    renderWithProviders(<ResourceUptime resource="svc/api" />);

    const strip = await screen.findByRole("img", { name: /^Availability per day/ });
    expect(strip).toHaveAccessibleName(
      "Availability per day from 2026-11-04 to 2026-12-03; lowest 95.00 % on 2026-12-01",
    );
    const days = within(screen.getByRole("list", { name: "Availability per day" })).getAllByRole(
      "listitem",
    );
    expect(days).toHaveLength(30);
    expect(days[0]).toHaveTextContent("2026-11-04: no data");
    expect(days[27]).toHaveTextContent("2026-12-01: 95.00 % available (up 95.00 %, down 5.00 %)");
    expect(days[29]).toHaveTextContent("2026-12-03: 100 % available (up 100 %)");
  });

  it("says when the hub does not report the last 24 hours", async () => {
    const body: UptimeBody = thirtyDays();
    delete body.last_24h;
    answerRestRoutes({ "/api/v1/uptime/svc/api": { body } });
    renderWithProviders(<ResourceUptime resource="svc/api" />);
    expect(await screen.findByTestId("availability-24h")).toHaveTextContent("not reported");
    expect(screen.getByTestId("availability-30d")).toHaveTextContent("99.81 %");
  });

  it("says uptime is not available when the route answers 404", async () => {
    answerRestRoutes({});
    renderWithProviders(<ResourceUptime resource="svc/api" />);
    expect(
      await screen.findByText("Uptime is not available: 404: no route /api/v1/uptime/svc/api."),
    ).toBeVisible();
  });
});
