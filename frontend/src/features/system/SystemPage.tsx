import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
import Paper from "@mui/material/Paper";
import Typography from "@mui/material/Typography";
import type { ReactNode } from "react";
import { useAppSelector } from "../../app/hooks";
import { monospace } from "../../app/theme";
import { routeHref } from "../../common/hashRoute";
import { describeRestError } from "../../common/rest";
import { formatAge, formatDuration } from "../../common/time";
import { useNow } from "../../common/useNow";
import {
  selectClockOffsetMs,
  selectLink,
  selectSession,
  selectSubscriptions,
} from "../../hub/hubSlice";
import { selectResourcesMatching } from "../resources/resourcesSlice";
import { StatusChip } from "../resources/StatusChip";
import { useGetHubStatusQuery } from "./systemApi";

/** The hub reports on itself as resources under this pattern. */
export const HUB_PATTERN = "hub/**";

function Facts({ rows }: { rows: [string, ReactNode][] }) {
  return (
    <Box
      component="dl"
      sx={{
        display: "grid",
        gridTemplateColumns: "160px 1fr",
        rowGap: 0.5,
        m: 0,
        fontSize: "0.85rem",
      }}
    >
      {rows.map(([label, value]) => (
        <Box key={label} sx={{ display: "contents" }}>
          <Box component="dt" sx={{ color: "text.secondary" }}>
            {label}
          </Box>
          <Box component="dd" sx={{ m: 0, fontFamily: monospace, overflowWrap: "anywhere" }}>
            {value}
          </Box>
        </Box>
      ))}
    </Box>
  );
}

/** The hub's own resources (`hub/**`), its `/api/v1/status` numbers and this session. */
export function SystemPage() {
  const hubResources = useAppSelector((state) => selectResourcesMatching(state, HUB_PATTERN));
  const session = useAppSelector(selectSession);
  const link = useAppSelector(selectLink);
  const subscriptions = useAppSelector(selectSubscriptions);
  const clockOffset = useAppSelector(selectClockOffsetMs);
  const status = useGetHubStatusQuery(undefined, { pollingInterval: 10_000 });
  const now = useNow() + clockOffset;

  return (
    <Box
      sx={{ p: 3, overflowY: "auto", flex: 1, display: "flex", flexDirection: "column", gap: 3 }}
    >
      <Typography variant="h1">System</Typography>

      <Box component="section" aria-labelledby="hub-resources">
        <Typography id="hub-resources" variant="h2" sx={{ mb: 1 }}>
          Hub resources{" "}
          <Typography component="span" color="text.secondary">
            ({HUB_PATTERN})
          </Typography>
        </Typography>
        {hubResources.length === 0 ? (
          <Typography color="text.secondary">
            The hub reports no resources under {HUB_PATTERN}.
          </Typography>
        ) : (
          <Box
            sx={{
              display: "grid",
              gridTemplateColumns: "repeat(auto-fill, minmax(300px, 1fr))",
              gap: 1.5,
            }}
          >
            {hubResources.map((resource) => (
              <Paper
                key={resource.resource}
                component="article"
                aria-label={resource.resource}
                sx={{ p: 1.5 }}
              >
                <Box sx={{ display: "flex", alignItems: "center", gap: 1, mb: 1 }}>
                  <StatusChip status={resource.status} />
                  <Typography
                    component="a"
                    href={routeHref({ view: "resources", resource: resource.resource })}
                    sx={{
                      fontFamily: monospace,
                      fontSize: "0.85rem",
                      color: "text.primary",
                      flex: 1,
                      overflowWrap: "anywhere",
                    }}
                  >
                    {resource.resource}
                  </Typography>
                  <Typography variant="caption" color="text.secondary">
                    {formatAge(resource.updated_at, now)}
                  </Typography>
                </Box>
                <Facts
                  rows={Object.entries(resource.fields).map(([key, value]) => [key, String(value)])}
                />
              </Paper>
            ))}
          </Box>
        )}
      </Box>

      <Box component="section" aria-labelledby="hub-status">
        <Typography id="hub-status" variant="h2" sx={{ mb: 1 }}>
          Hub status
        </Typography>
        {status.error !== undefined ? (
          <Alert severity="info" variant="outlined">
            /api/v1/status is not available: {describeRestError(status.error)}.
          </Alert>
        ) : status.data === undefined ? (
          <Typography color="text.secondary">Loading…</Typography>
        ) : (
          <Paper sx={{ p: 1.5 }}>
            <Facts
              rows={[
                ["version", status.data.version],
                ["uptime", formatDuration(status.data.uptime_s * 1000)],
                ["node", status.data.node],
                ["nodes", status.data.nodes.join(", ")],
                ["sessions", status.data.sessions],
                ["subscriptions", status.data.subscriptions],
                ["resources", status.data.resources],
              ]}
            />
          </Paper>
        )}
      </Box>

      <Box component="section" aria-labelledby="this-session">
        <Typography id="this-session" variant="h2" sx={{ mb: 1 }}>
          This session
        </Typography>
        <Paper sx={{ p: 1.5 }}>
          {session === null ? (
            <Typography color="text.secondary">Not connected.</Typography>
          ) : (
            <Facts
              rows={[
                ["link", link === "live" ? "live" : `${link} (the last session the hub granted)`],
                ["server", session.server],
                ["session", session.session],
                ["store epoch", session.epoch],
                ["roles", session.roles.join(", ") || "none"],
                ["heartbeat", formatDuration(session.heartbeatMs)],
                ["max frame", `${session.maxFrameBytes.toLocaleString()} bytes`],
                ["clock offset", `${String(Math.round(clockOffset))} ms (hub − browser)`],
                [
                  "subscriptions",
                  Object.values(subscriptions)
                    .map((sub) =>
                      sub.refusal === null
                        ? `${sub.pattern} (${sub.state}${sub.count === null ? "" : `, ${String(sub.count)} matched`})`
                        : `${sub.pattern} (refused, ${sub.refusal.code}: ${sub.refusal.message})`,
                    )
                    .join("; ") || "none",
                ],
              ]}
            />
          )}
        </Paper>
      </Box>
    </Box>
  );
}
