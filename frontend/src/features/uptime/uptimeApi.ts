/**
 * How long a resource spent in each status, per UTC day: `GET /api/v1/uptime/{id}?days=N`.
 * Days come oldest first, every day listed; `availability` is up / (all counted time but
 * maintenance), null when no time is counted (before the resource existed). A body without
 * the contract's shape comes back as null, so the view says so instead of drawing garbage.
 */
import { STATUSES, type Status } from "@protocol/frames";
import { isMap, isNumber, isText } from "../../common/jsonGuards";
import { resourcePath, restApi } from "../../common/restApi";

/** Seconds (or shares of the counted time) per status; a status the hub leaves out is 0. */
export type PerStatus = Partial<Record<Status, number>>;

/** Time per status over some span, and the share of it the resource was available. */
export interface UptimeSummary {
  seconds: PerStatus;
  share: PerStatus;
  availability: number | null;
}

export interface UptimeDay extends UptimeSummary {
  /** `YYYY-MM-DD`, a UTC day. */
  date: string;
}

export interface UptimeBody {
  resource: string;
  days: UptimeDay[];
  total: UptimeSummary;
  /** The 24 hours up to the answer (not a calendar day); absent from a hub that omits it. */
  last_24h?: UptimeSummary;
}

/** How many days the detail panel shows. */
export const UPTIME_DAYS = 30;

const isPerStatus = (value: unknown): value is PerStatus =>
  isMap(value) &&
  STATUSES.every((status) => value[status] === undefined || isNumber(value[status]));

const isSummary = (value: unknown): value is UptimeSummary =>
  isMap(value) &&
  isPerStatus(value.seconds) &&
  isPerStatus(value.share) &&
  (value.availability === null || isNumber(value.availability));

const isDay = (value: unknown): value is UptimeDay =>
  isSummary(value) && isText((value as { date?: unknown }).date);

/** Whether `value` is the body of `GET /api/v1/uptime/{id}`. */
export function isUptimeBody(value: unknown): value is UptimeBody {
  return (
    isMap(value) &&
    isText(value.resource) &&
    Array.isArray(value.days) &&
    value.days.every(isDay) &&
    isSummary(value.total) &&
    (value.last_24h === undefined || isSummary(value.last_24h))
  );
}

export const uptimeApi = restApi.injectEndpoints({
  endpoints: (build) => ({
    getUptime: build.query<UptimeBody | null, { resource: string; days: number }>({
      query: ({ resource, days }) => `uptime/${resourcePath(resource)}?days=${String(days)}`,
      transformResponse: (body: unknown) => (isUptimeBody(body) ? body : null),
    }),
  }),
});

export const { useGetUptimeQuery } = uptimeApi;
