/**
 * A resource's recent deltas over REST: `GET /api/v1/history/{id}?since=S&limit=100`.
 * A body that is not the contract's history map comes back as null, so the chart says so
 * instead of drawing garbage.
 */
import { isHistoryBody, type HistoryBody, type Seq } from "@protocol/frames";
import { resourcePath, restApi } from "../../common/restApi";

/** How many deltas the detail panel asks for. */
export const HISTORY_LIMIT = 100;
const WINDOW_STEP = HISTORY_LIMIT / 2;

/**
 * The `since` that asks for the newest 50 to 100 deltas of a resource at `seq`. `since` is
 * exclusive and the hub returns the oldest deltas after it, so `since=0` would show a busy
 * resource's distant past. The value moves in steps of 50, so a live resource keeps one
 * query (refetched as it changes) instead of a new one per change.
 */
export function historyWindowStart(seq: Seq): Seq {
  return Math.max(0, Math.floor((seq - WINDOW_STEP) / WINDOW_STEP) * WINDOW_STEP);
}

export const historyApi = restApi.injectEndpoints({
  endpoints: (build) => ({
    getHistory: build.query<HistoryBody | null, { resource: string; since: Seq }>({
      query: ({ resource, since }) =>
        `history/${resourcePath(resource)}?since=${String(since)}&limit=${String(HISTORY_LIMIT)}`,
      transformResponse: (body: unknown) => (isHistoryBody(body) ? body : null),
      providesTags: (_result, _error, { resource }) => [{ type: "History", id: resource }],
    }),
  }),
});

export const { useGetHistoryQuery } = historyApi;
