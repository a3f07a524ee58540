/**
 * The hub's REST facade (`/api/v1/...`, same origin) for RTK Query. Endpoints are injected by
 * the features that use them (`history/historyApi.ts`, `resources/resourcesApi.ts`, ...).
 * Every request carries the session's token as `Authorization: Bearer`, when there is one.
 */
import { createApi, fetchBaseQuery } from "@reduxjs/toolkit/query/react";

interface WithToken {
  auth: { token: string | null };
}

export const restApi = createApi({
  reducerPath: "restApi",
  baseQuery: fetchBaseQuery({
    baseUrl: "/api/v1/",
    prepareHeaders(headers, { getState }) {
      const { token } = (getState() as WithToken).auth;
      if (token !== null) headers.set("Authorization", `Bearer ${token}`);
      headers.set("Accept", "application/json");
      return headers;
    },
  }),
  tagTypes: ["History"],
  endpoints: () => ({}),
});

/** A resource id as a URL path: each segment escaped, the `/` between them kept. */
export function resourcePath(resource: string): string {
  return resource.split("/").map(encodeURIComponent).join("/");
}

/** A short, human sentence for a failed REST request (RTK Query's error shape). */
export function describeRestError(error: unknown): string {
  if (typeof error !== "object" || error === null || !("status" in error)) {
    return "the request failed";
  }
  const { status } = error as { status: unknown };
  const data = "data" in error ? (error as { data: unknown }).data : undefined;
  const message = restErrorMessage(data);
  if (typeof status === "number") {
    return message === null ? `the hub answered ${String(status)}` : `${String(status)}: ${message}`;
  }
  return typeof status === "string" && status === "FETCH_ERROR"
    ? "the hub could not be reached"
    : "the hub sent an answer the dashboard could not read";
}

function restErrorMessage(data: unknown): string | null {
  if (typeof data !== "object" || data === null || !("error" in data)) return null;
  const { error } = data as { error: unknown };
  if (typeof error !== "object" || error === null || !("message" in error)) return null;
  const { message } = error as { message: unknown };
  return typeof message === "string" ? message : null;
}
