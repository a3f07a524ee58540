/** Short human durations and times for a dashboard: "4 s", "3 min", "2 h 5 min". */

export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${String(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${String(minutes)} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${String(hours)} h ${String(minutes % 60)} min`;
  return `${String(Math.floor(hours / 24))} d`;
}

/** "12 s ago" for a time in the past (clock skew can make it a little in the future). */
export function formatAge(at: number, now: number): string {
  return now - at < 1000 ? "just now" : `${formatDuration(now - at)} ago`;
}

/** Local date and time, to the second, for tooltips and detail panels. */
export function formatTimestamp(at: number): string {
  return new Date(at).toLocaleString(undefined, {
    year: "numeric",
    month: "short",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
}

/** Month, day and time without the year, for lists where every entry is recent. */
export function formatShortTimestamp(at: number): string {
  return new Date(at).toLocaleString(undefined, {
    month: "short",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
}

/** A UTC day (`2026-12-01`) as "Tue, Dec 1, 2026": the hub counts uptime per UTC day. */
export function formatUtcDay(date: string): string {
  const day = new Date(`${date}T00:00:00Z`);
  if (Number.isNaN(day.getTime())) return date;
  return day.toLocaleDateString(undefined, {
    timeZone: "UTC",
    weekday: "short",
    year: "numeric",
    month: "short",
    day: "numeric",
  });
}
