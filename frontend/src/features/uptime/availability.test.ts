import { describe, expect, it } from "vitest";
import {
  availabilityGrade,
  availabilityOf,
  describeDay,
  formatAvailability,
  formatPercent,
  secondsOverLast,
} from "./availability";
import type { UptimeDay } from "./uptimeApi";

const day = (date: string, seconds: UptimeDay["seconds"]): UptimeDay => {
  const counted = Object.values(seconds).reduce((sum, value) => sum + value, 0);
  const share = Object.fromEntries(
    Object.entries(seconds).map(([status, value]) => [status, value / counted]),
  );
  return { date, seconds, share, availability: availabilityOf(seconds) };
};

describe("availability", () => {
  it("is up over all counted time but maintenance, and null when nothing is counted", () => {
    expect(availabilityOf({ up: 900, down: 100, maintenance: 3600 })).toBe(0.9);
    expect(availabilityOf({ up: 0, stale: 10 })).toBe(0);
    expect(availabilityOf({ maintenance: 86_400 })).toBeNull();
    expect(availabilityOf({})).toBeNull();
  });

  it("sums the last days' seconds, so a week is weighed by time, not by day", () => {
    const days = [
      day("2026-11-30", { down: 86_400 }),
      day("2026-12-01", { up: 86_400 }),
      day("2026-12-02", { up: 3600, down: 3600 }),
    ];
    expect(secondsOverLast(days, 2)).toEqual({
      up: 90_000,
      degraded: 0,
      down: 3600,
      unknown: 0,
      stale: 0,
      maintenance: 0,
    });
    expect(availabilityOf(secondsOverLast(days, 2))).toBeCloseTo(90_000 / 93_600);
  });

  it("cuts percentages instead of rounding a short outage away", () => {
    expect(formatPercent(1)).toBe("100 %");
    expect(formatPercent(0.99999)).toBe("99.99 %");
    expect(formatPercent(0.9995)).toBe("99.95 %");
    expect(formatPercent(0.5)).toBe("50.00 %");
    expect(formatPercent(0.00001)).toBe("< 0.01 %");
    expect(formatPercent(0)).toBe("0 %");
    expect(formatAvailability(null)).toBe("no data");
  });

  it("grades a day by its availability", () => {
    expect(availabilityGrade(1)).toBe("good");
    expect(availabilityGrade(0.999)).toBe("good");
    expect(availabilityGrade(0.98)).toBe("fair");
    expect(availabilityGrade(0.5)).toBe("poor");
    expect(availabilityGrade(null)).toBe("none");
  });

  it("describes a day by its availability and the share of each status", () => {
    expect(describeDay(day("2026-12-02", { up: 85_968, down: 432 }))).toBe(
      "99.50 % available (up 99.50 %, down 0.50 %)",
    );
    expect(describeDay(day("2026-12-03", { maintenance: 86_400 }))).toBe(
      "no availability counted (maintenance 100 %)",
    );
    expect(describeDay({ date: "2026-11-01", seconds: {}, share: {}, availability: null })).toBe(
      "no data",
    );
  });
});
