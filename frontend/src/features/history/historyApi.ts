/**
 * A resource's recent deltas over REST: `GET /api/v1/history/{id}?since=S&limit=100`.
 * A body that is not the contract's history map comes back as null, so the chart says so
 * instead of drawing garbage. An answer the hub cut to stay within its size bound
 * (`"more": true`) is followed with `since` = its last seq, up to the `limit` the chart wants.
 */
import { isHistoryBody, type HistoryBody, type HistoryEntry, type Seq } from "@protocol/frames";
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

const historyUrl = (resource: string, since: Seq, limit: number) =>
  `history/${resourcePath(resource)}?since=${String(since)}&limit=${String(limit)}`;

export const historyApi = restApi.injectEndpoints({
  endpoints: (build) => ({
    getHistory: build.query<HistoryBody | null, { resource: string; since: Seq }>({
      /**
       * One request, or a few when the hub cuts its answer (`more`: at 1 MiB): each next one
       * asks for what is still missing after the last seq received. A page that brings no
       * newer seq ends the walk, so a hub that says `more` without progress cannot loop it.
       */
      async queryFn({ resource, since }, _api, _extra, fetchPage) {
        const deltas: HistoryEntry[] = [];
        let complete = true;
        let after = since;
        for (let first = true; deltas.length < HISTORY_LIMIT; first = false) {
          const page = await fetchPage(historyUrl(resource, after, HISTORY_LIMIT - deltas.length));
          if (page.error !== undefined) return { error: page.error };
          if (!isHistoryBody(page.data)) return { data: null };
          // Older deltas lost shows on the first page; later ones start where it stopped.
          if (first) complete = page.data.complete;
          deltas.push(...page.data.deltas);
          const last = page.data.deltas.at(-1)?.seq ?? after;
          if (page.data.more !== true || last <= after) break;
          after = last;
        }
        return { data: { resource, deltas, complete } };
      },
      providesTags: (_result, _error, { resource }) => [{ type: "History", id: resource }],
    }),
  }),
});

export const { useGetHistoryQuery } = historyApi;
