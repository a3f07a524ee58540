/**
 * Availability arithmetic and wording, the hub's way: up / (all counted time but maintenance),
 * null when no time is counted. Percentages are cut, never rounded up, so a day with a
 * minute down never reads "100 %".
 */
import { STATUSES, type Status } from "@protocol/frames";
import type { PerStatus, UptimeDay } from "./uptimeApi";

/** A grade for colouring a day: at least 99.9 %, at least 95 %, less, or nothing counted. */
export type AvailabilityGrade = "good" | "fair" | "poor" | "none";

/** The status whose colour shows each grade (never colour alone: the tooltip says it). */
export const gradeStatus: Record<AvailabilityGrade, Status> = {
  good: "up",
  fair: "degraded",
  poor: "down",
  none: "unknown",
};

export const GOOD_FROM = 0.999;
export const FAIR_FROM = 0.95;

export function availabilityOf(seconds: PerStatus): number | null {
  let counted = 0;
  for (const status of STATUSES) {
    if (status !== "maintenance") counted += seconds[status] ?? 0;
  }
  return counted > 0 ? (seconds.up ?? 0) / counted : null;
}

/** Seconds per status summed over the last `count` days of `days` (oldest first). */
export function secondsOverLast(days: readonly UptimeDay[], count: number): PerStatus {
  const sum: PerStatus = {};
  for (const day of days.slice(-count)) {
    for (const status of STATUSES) {
      sum[status] = (sum[status] ?? 0) + (day.seconds[status] ?? 0);
    }
  }
  return sum;
}

export function availabilityGrade(availability: number | null): AvailabilityGrade {
  if (availability === null) return "none";
  if (availability >= GOOD_FROM) return "good";
  return availability >= FAIR_FROM ? "fair" : "poor";
}

/** "99.95 %": cut to two decimals; "100 %" only when nothing else was counted. */
export function formatPercent(fraction: number): string {
  if (fraction >= 1) return "100 %";
  if (fraction <= 0) return "0 %";
  if (fraction < 0.0001) return "< 0.01 %";
  return `${(Math.floor(fraction * 10_000) / 100).toFixed(2)} %`;
}

export function formatAvailability(availability: number | null): string {
  return availability === null ? "no data" : formatPercent(availability);
}

/**
 * "99.50 % available (up 99.50 %, down 0.50 %)". A day whose time was counted only in
 * maintenance has no availability, but still says where its time went.
 */
export function describeDay(day: UptimeDay): string {
  const shares = STATUSES.filter((status) => (day.share[status] ?? 0) > 0).map(
    (status) => `${status} ${formatPercent(day.share[status] ?? 0)}`,
  );
  if (day.availability !== null) {
    return `${formatPercent(day.availability)} available (${shares.join(", ")})`;
  }
  return shares.length === 0 ? "no data" : `no availability counted (${shares.join(", ")})`;
}
