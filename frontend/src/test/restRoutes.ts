/**
 * The hub's REST facade as a test plays it: `fetch` answers JSON per path (`/api/v1/...`,
 * without the query), and every other path 404 with the contract's error body, as a hub
 * without that route would.
 */
import { vi } from "vitest";

export interface RestAnswer {
  status?: number;
  body: unknown;
}

/** Replaces `fetch` for the test; returns the mock, to read the requests it got. */
export function answerRestRoutes(routes: Record<string, RestAnswer | (() => RestAnswer)>) {
  const fetch = vi.fn<(request: Request) => Promise<Response>>((request) => {
    const { pathname } = new URL(request.url);
    const route = routes[pathname];
    const answer: RestAnswer =
      route === undefined
        ? { status: 404, body: { error: { code: "not_found", message: `no route ${pathname}` } } }
        : typeof route === "function"
          ? route()
          : route;
    return Promise.resolve(
      new Response(JSON.stringify(answer.body), {
        status: answer.status ?? 200,
        headers: { "Content-Type": "application/json" },
      }),
    );
  });
  vi.stubGlobal("fetch", fetch);
  return fetch;
}

/** The paths `fetch` was asked for, with their queries, in order. */
export function requestedPaths(fetch: ReturnType<typeof answerRestRoutes>): string[] {
  return fetch.mock.calls.map(([request]) => {
    const url = new URL(request.url);
    return `${url.pathname}${url.search}`;
  });
}
