import { describe, expect, it } from "vitest";
import type { Resource } from "../resources/resourcesSlice";
import { toAlertEpisode } from "./alertEpisodes";

const alertResource = (overrides: Partial<Resource>): Resource => ({
  resource: "alert/web-down/svc.e2e.web",
  seq: 3,
  status: "down",
  fields: {},
  labels: {},
  updated_at: 5000,
  ttl_ms: null,
  lastChange: null,
  ...overrides,
});

describe("toAlertEpisode", () => {
  it("reads the alert, its member and its state from labels and fields", () => {
    expect(
      toAlertEpisode(
        alertResource({
          labels: { alert: "web-down", resource: "svc/e2e.web" },
          fields: { since: 1000, state: "flapping", status: "degraded" },
        }),
      ),
    ).toEqual({
      id: "alert/web-down/svc.e2e.web",
      name: "web-down",
      member: "svc/e2e.web",
      memberStatus: "degraded",
      state: "flapping",
      since: 1000,
      changedAt: 5000,
    });
  });

  it("falls back on the id and the status when labels and fields are missing", () => {
    expect(toAlertEpisode(alertResource({}))).toMatchObject({
      name: "web-down",
      member: "svc/e2e/web",
      memberStatus: null,
      state: "firing",
      since: 5000,
    });
    expect(toAlertEpisode(alertResource({ status: "up" })).state).toBe("resolved");
  });

  it("keeps a member status that is no status, such as deleted", () => {
    const episode = toAlertEpisode(
      alertResource({ status: "up", fields: { state: "resolved", status: "deleted" } }),
    );
    expect(episode).toMatchObject({ state: "resolved", memberStatus: "deleted" });
  });
});
