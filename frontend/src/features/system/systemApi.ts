/** The hub's own numbers over REST: `GET /api/v1/status`. */
import type { HubStatusBody } from "@protocol/frames";
import { restApi } from "../../common/restApi";

export const systemApi = restApi.injectEndpoints({
  endpoints: (build) => ({
    getHubStatus: build.query<HubStatusBody, undefined>({ query: () => "status" }),
  }),
});

export const { useGetHubStatusQuery } = systemApi;
