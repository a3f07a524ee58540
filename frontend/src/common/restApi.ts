/**
 * RTK Query's cache of the hub's REST reads, for the views that use it (resource detail:
 * history, uptime, delete; system: status). Endpoints are injected by the features that use
 * them (`history/historyApi.ts`, `resources/resourcesApi.ts`, ...); requests go through
 * `rest.ts` like every other REST call.
 *
 * Only those views import this file, so RTK Query is loaded with them, not with the first
 * page: loading this file adds the API's reducer and middleware to the store
 * (`app/store.ts`, `injectLazyPart`). The overview's one REST read, the monitoring
 * configuration, does not go through here (see `monitoring/monitoringApi.ts`).
 */
import { createApi, type BaseQueryFn } from "@reduxjs/toolkit/query/react";
import { injectLazyPart } from "../app/store";
import { restRequest, type RestError, type RestRequest } from "./rest";

interface WithToken {
  auth: { token: string | null };
}

const baseQuery: BaseQueryFn<RestRequest, unknown, RestError> = (request, { getState, signal }) =>
  restRequest(request, (getState() as WithToken).auth.token, signal);

export const restApi = createApi({
  reducerPath: "restApi",
  baseQuery,
  tagTypes: ["History"],
  endpoints: () => ({}),
});

injectLazyPart(restApi);

/**
 * A resource id as a URL path. Valid ids only hold `A-Za-z0-9_.:-` and `/`, which travel as
 * they are (the hub matches `{id:.*}`); anything else is percent-escaped.
 */
export function resourcePath(resource: string): string {
  return resource.replace(/[^A-Za-z0-9_.:/-]/g, encodeURIComponent);
}
