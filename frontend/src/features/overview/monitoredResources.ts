/**
 * What the overview counts: the monitored resources, that is every resource but the hub's
 * alert resources (`alert/**`). An alert restates a member's status (it is `down` while the
 * member fires), so counting it would show one outage as two; alerts have their own page.
 * Of these, the ones that need attention are down, stale or degraded: worst first and, within
 * a status, the most recent change first.
 */
import { createSelector } from "@reduxjs/toolkit";
import type { Status } from "@protocol/frames";
import { isAlertResource } from "../alerts/alertEpisodes";
import {
  countByStatus,
  selectAllResources,
  STATUS_ORDER,
  type Resource,
} from "../resources/resourcesSlice";

/** The statuses that need attention, worst first. */
export const ATTENTION_STATUSES: readonly Status[] = ["down", "stale", "degraded"];

export const selectMonitoredResources = createSelector([selectAllResources], (all) =>
  all.filter((resource) => !isAlertResource(resource.resource)),
);

export const selectMonitoredStatusCounts = createSelector(
  [selectMonitoredResources],
  countByStatus,
);

const severity = (resource: Resource) => STATUS_ORDER.indexOf(resource.status);

export const selectResourcesNeedingAttention = createSelector(
  [selectMonitoredResources],
  (monitored) =>
    monitored
      .filter((resource) => ATTENTION_STATUSES.includes(resource.status))
      .sort(
        (a, b) =>
          severity(a) - severity(b) ||
          b.updated_at - a.updated_at ||
          a.resource.localeCompare(b.resource),
      ),
);
