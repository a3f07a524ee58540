/** The hub's REST facade from a spec: publishes and deletes, many at a time. */

/** Runs `task` over `items` with at most `inFlight` at a time; the results keep their order. */
export async function inParallel<T, R>(
  items: readonly T[],
  inFlight: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return results;
}

/**
 * `fetch`, tried once more when the connection was closed under the request (a kept-alive
 * connection the hub timed out just as it was reused); the scenarios only send requests
 * that may be repeated (a publish that changes nothing gets no new seq).
 */
async function fetchOnce(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (error) {
    const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : null;
    if (cause?.code !== "UND_ERR_SOCKET") throw error;
    return fetch(url, init);
  }
}

/** `POST /api/v1/resources/{id}` (JSON): resolves with the acknowledged seq. */
export async function postResource(
  hubUrl: string,
  resource: string,
  change: Record<string, unknown>,
): Promise<number> {
  const response = await fetchOnce(`${hubUrl}/api/v1/resources/${resource}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(change),
  });
  const body = (await response.json()) as { seq?: unknown };
  if (!response.ok || typeof body.seq !== "number") {
    throw new Error(`POST ${resource}: ${String(response.status)} ${JSON.stringify(body)}`);
  }
  return body.seq;
}

/** `DELETE /api/v1/resources/{id}`: the hub answers 204. */
export async function deleteResource(hubUrl: string, resource: string): Promise<void> {
  const response = await fetch(`${hubUrl}/api/v1/resources/${resource}`, { method: "DELETE" });
  if (response.status !== 204) {
    throw new Error(`DELETE ${resource}: ${String(response.status)} ${await response.text()}`);
  }
}

/** Waits until `GET /api/v1/resources/{id}` answers with `status`; fails naming the last answer. */
export async function waitForStatus(
  hubUrl: string,
  resource: string,
  status: string,
  timeout: number,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeout;
  let last = "no answer yet";
  while (Date.now() < deadline) {
    const response = await fetch(`${hubUrl}/api/v1/resources/${resource}`, {
      headers: { Accept: "application/json" },
    });
    const body = await response.text();
    last = `${String(response.status)} ${body}`;
    if (response.ok) {
      const snapshot = JSON.parse(body) as Record<string, unknown>;
      if (snapshot.status === status) return snapshot;
    }
    await new Promise((tick) => setTimeout(tick, 100));
  }
  throw new Error(`${resource} did not turn ${status} within ${String(timeout)} ms: ${last}`);
}
