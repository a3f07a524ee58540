/**
 * The one way the dashboard calls the hub's REST facade (`/api/v1/...`, same origin): every
 * request carries the session's token as `Authorization: Bearer`, when there is one, and
 * comes back as `{ data }` or `{ error }` in RTK Query's shapes (`fetchBaseQuery`'s), whoever
 * asked. Two callers use it:
 *
 * - RTK Query (`restApi.ts`), as its base query, for the views that read and cache REST
 *   (history, uptime, the hub's status, deleting a resource). RTK Query is loaded with those
 *   views, not with the first page.
 * - `monitoring/monitoringApi.ts`, for `GET /api/v1/monitoring`, which the overview (the first
 *   page) needs at once: a small thunk and slice keep RTK Query's ~50 kB off that page.
 *
 * This file is small on purpose: the first page loads it.
 */

/** A failed request, as `fetchBaseQuery` reports one (so both callers' errors look alike). */
export type RestError =
  /** The hub answered outside 2xx; `data` is its parsed body (null when empty). */
  | { status: number; data: unknown }
  /** No answer: the hub could not be reached. */
  | { status: "FETCH_ERROR"; error: string }
  /** An answer whose body is not JSON. */
  | { status: "PARSING_ERROR"; originalStatus: number; data: string; error: string };

export type RestResult =
  { data: unknown; error?: undefined } | { data?: undefined; error: RestError };

/** A path under `/api/v1/` (query included), and the method when it is not GET. */
export type RestRequest = string | { url: string; method?: "GET" | "DELETE" };

/** Sends one request and reads its JSON answer. */
export async function restRequest(
  request: RestRequest,
  token: string | null,
  signal?: AbortSignal,
): Promise<RestResult> {
  const { url, method = "GET" } = typeof request === "string" ? { url: request } : request;
  const headers = new Headers({ Accept: "application/json" });
  if (token !== null) headers.set("Authorization", `Bearer ${token}`);
  let response: Response;
  try {
    // Absolute, same origin: a Request built from a bare path fails outside a browser (tests).
    response = await fetch(
      new Request(`${window.location.origin}/api/v1/${url}`, {
        method,
        headers,
        ...(signal === undefined ? {} : { signal }),
      }),
    );
  } catch (error) {
    return { error: { status: "FETCH_ERROR", error: String(error) } };
  }
  const text = await response.text();
  let data: unknown;
  try {
    data = text.length > 0 ? JSON.parse(text) : null;
  } catch (error) {
    return {
      error: {
        status: "PARSING_ERROR",
        originalStatus: response.status,
        data: text,
        error: String(error),
      },
    };
  }
  return response.ok ? { data } : { error: { status: response.status, data } };
}

/** A short, human sentence for a failed REST request. */
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
