/**
 * A resource's recent deltas over REST: `GET /api/v1/history/{id}?since=0&limit=100`.
 * A body that is not the contract's history map comes back as null, so the chart says so
 * instead of drawing garbage.
 */
import { isHistoryBody, type HistoryBody } from "@protocol/frames";
import { resourcePath, restApi } from "../../common/restApi";

/** How many deltas the detail panel asks for. */
export const HISTORY_LIMIT = 100;

export const historyApi = restApi.injectEndpoints({
  endpoints: (build) => ({
    getHistory: build.query<HistoryBody | null, string>({
      query: (resource) => `history/${resourcePath(resource)}?since=0&limit=${String(HISTORY_LIMIT)}`,
      transformResponse: (body: unknown) => (isHistoryBody(body) ? body : null),
      providesTags: (_result, _error, resource) => [{ type: "History", id: resource }],
    }),
  }),
});

export const { useGetHistoryQuery } = historyApi;
