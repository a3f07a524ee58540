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
    // Absolute, same origin: a Request built from a bare path fails outside a browser (tests).
    baseUrl: `${window.location.origin}/api/v1/`,
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

/**
 * A resource id as a URL path. Valid ids only hold `A-Za-z0-9_.:-` and `/`, which travel as
 * they are (the hub matches `{id:.*}`); anything else is percent-escaped.
 */
export function resourcePath(resource: string): string {
  return resource.replace(/[^A-Za-z0-9_.:/-]/g, encodeURIComponent);
}

/** A short, human sentence for a failed REST request (RTK Query's error shape). */
export function describeRestError(error: unknown): string {
  if (typeof error !== "object" || error === null || !("status" in error)) {
    return "the request failed";
  }
  const { status } = error;
  const message = "data" in error ? restErrorMessage(error.data) : null;
  if (typeof status === "number") {
    return message === null
      ? `the hub answered ${String(status)}`
      : `${String(status)}: ${message}`;
  }
  return typeof status === "string" && status === "FETCH_ERROR"
    ? "the hub could not be reached"
    : "the hub sent an answer the dashboard could not read";
}

/** The `message` of the contract's REST error body `{"error": {"code", "message"}}`. */
function restErrorMessage(body: unknown): string | null {
  if (typeof body !== "object" || body === null || !("error" in body)) return null;
  const { error } = body;
  if (typeof error !== "object" || error === null || !("message" in error)) return null;
  return typeof error.message === "string" ? error.message : null;
}
