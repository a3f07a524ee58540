/**
 * Alerts as the hub publishes them: each (alert, member) is a live resource
 * `alert/<alert name>/<member id with / replaced by .>`, status `down` while firing and `up`
 * once resolved, labels `alert` and `resource` (the exact member id), fields `since` (unix ms
 * the member's status began), `state` (`firing`, `resolved` or `flapping`) and `status` (the
 * member's). The SPA holds them like any resource; these selectors read them as episodes.
 */
import { createSelector } from "@reduxjs/toolkit";
import { selectAllResources, type Resource } from "../resources/resourcesSlice";

/** Where the hub keeps its alert resources. */
export const ALERTS_PATTERN = "alert/**";
const ALERT_PREFIX = "alert/";

export type AlertState = "firing" | "resolved" | "flapping";

/** One member's episode of one alert. */
export interface AlertEpisode {
  /** The alert resource's id (`alert/web-down/svc.web`). */
  id: string;
  /** The alert's name, as in the configuration. */
  name: string;
  /** The member resource's exact id. */
  member: string;
  /**
   * The member's status as the hub last reported it on the alert: one of the six, or another
   * word (`deleted` once the member is gone); null when the alert does not say.
   */
  memberStatus: string | null;
  state: AlertState;
  /** Unix ms the member's status began. */
  since: number;
  /** Unix ms of the alert resource's last change (for a resolved one: about when it resolved). */
  changedAt: number;
}

export const isAlertResource = (id: string) => id.startsWith(ALERT_PREFIX);

const isAlertState = (value: unknown): value is AlertState =>
  value === "firing" || value === "resolved" || value === "flapping";

/**
 * An alert resource read as an episode. `state` says whether it fires; without a readable
 * one, the status does (`down` while firing). Labels name the alert and member exactly; the
 * id's segments are the fallback (its dots may have been slashes).
 */
export function toAlertEpisode(resource: Resource): AlertEpisode {
  const [, idName = "", ...idMember] = resource.resource.split("/");
  const { state, since, status } = resource.fields;
  return {
    id: resource.resource,
    name: resource.labels.alert ?? idName,
    member: resource.labels.resource ?? idMember.join("/").replaceAll(".", "/"),
    memberStatus: typeof status === "string" ? status : null,
    state: isAlertState(state) ? state : resource.status === "down" ? "firing" : "resolved",
    since: typeof since === "number" ? since : resource.updated_at,
    changedAt: resource.updated_at,
  };
}

export const isFiring = (episode: AlertEpisode) => episode.state !== "resolved";

const selectAlertEpisodes = createSelector([selectAllResources], (all) =>
  all.filter((resource) => isAlertResource(resource.resource)).map(toAlertEpisode),
);

/** Firing and flapping alerts, the most recent first. */
export const selectFiringAlerts = createSelector([selectAlertEpisodes], (episodes) =>
  episodes.filter(isFiring).sort((a, b) => b.since - a.since || a.id.localeCompare(b.id)),
);

/** Resolved alerts the hub still holds, the most recently resolved first. */
export const selectResolvedAlerts = createSelector([selectAlertEpisodes], (episodes) =>
  episodes
    .filter((episode) => !isFiring(episode))
    .sort((a, b) => b.changedAt - a.changedAt || a.id.localeCompare(b.id)),
);

export const selectFiringAlertCount = (state: Parameters<typeof selectFiringAlerts>[0]) =>
  selectFiringAlerts(state).length;
