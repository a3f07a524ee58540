import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Link from "@mui/material/Link";
import Paper from "@mui/material/Paper";
import Typography from "@mui/material/Typography";
import { useTheme } from "@mui/material/styles";
import { lazy, Suspense } from "react";
import { useAppDispatch, useAppSelector } from "../../app/hooks";
import { monospace, statusColor } from "../../app/theme";
import { routeHref, useRoute } from "../../common/hashRoute";
import { describeRestError } from "../../common/rest";
import { isMissingRoute, useMonitoring, type Rollup } from "../monitoring/monitoringApi";
import { filterChanged, selectResourceById, STATUS_ORDER } from "../resources/resourcesSlice";
import { StatusChip, statusIcons } from "../resources/StatusChip";
import { readRollupCounts } from "./rollupCounts";

/** Shown only when the request fails: MUI's Alert loads then, not with the first page. */
const Alert = lazy(() => import("@mui/material/Alert"));

function RollupCard({ rollup }: { rollup: Rollup }) {
  const dispatch = useAppDispatch();
  const [, navigate] = useRoute();
  const theme = useTheme();
  const resource = useAppSelector((state) => selectResourceById(state, rollup.resource));
  const counts = resource === undefined ? null : readRollupCounts(resource);

  return (
    <Paper
      component="li"
      aria-label={`Rollup ${rollup.resource}`}
      data-testid="rollup-card"
      data-status={resource?.status}
      sx={{
        p: 1.5,
        display: "flex",
        flexDirection: "column",
        gap: 1,
        borderLeft: 4,
        borderLeftColor: resource === undefined ? "divider" : statusColor(theme, resource.status),
      }}
    >
      <Box sx={{ display: "flex", alignItems: "center", gap: 1 }}>
        <Link
          href={routeHref({ view: "resources", resource: rollup.resource })}
          sx={{ flex: 1, fontFamily: monospace, fontWeight: 600, overflowWrap: "anywhere" }}
        >
          {rollup.resource}
        </Link>
        {resource !== undefined && <StatusChip status={resource.status} />}
      </Box>
      {counts === null ? (
        <Typography variant="body2" color="text.secondary">
          The hub has not reported this rollup to this session.
        </Typography>
      ) : (
        <>
          <Box
            component="dl"
            aria-label="Members per status"
            sx={{ display: "flex", flexWrap: "wrap", columnGap: 1.5, rowGap: 0.5, m: 0 }}
          >
            {STATUS_ORDER.map((status) => {
              const Icon = statusIcons[status];
              const count = counts.perStatus[status];
              return (
                <Box
                  key={status}
                  data-testid={`rollup-count-${status}`}
                  sx={{
                    display: "flex",
                    alignItems: "center",
                    gap: 0.5,
                    color: count > 0 ? statusColor(theme, status) : "text.disabled",
                  }}
                >
                  <Icon sx={{ fontSize: 16 }} aria-hidden />
                  <Box component="dt" sx={{ fontSize: "0.8rem" }}>
                    {status}
                  </Box>
                  <Box
                    component="dd"
                    sx={{ m: 0, fontWeight: 600, color: count > 0 ? "text.primary" : "inherit" }}
                  >
                    {count.toLocaleString()}
                  </Box>
                </Box>
              );
            })}
          </Box>
          <Box sx={{ display: "flex", alignItems: "center", gap: 1 }}>
            <Typography
              variant="body2"
              color="text.secondary"
              data-testid="rollup-total"
              sx={{ flex: 1 }}
            >
              {counts.total.toLocaleString()} members of{" "}
              <Box component="span" sx={{ fontFamily: monospace }}>
                {rollup.pattern}
              </Box>
            </Typography>
            <Button
              onClick={() => {
                dispatch(filterChanged({ pattern: rollup.pattern, statuses: [], search: "" }));
                navigate({ view: "resources", resource: null });
              }}
            >
              Show members
            </Button>
          </Box>
        </>
      )}
    </Paper>
  );
}

/**
 * The rollups of the hub's configuration, one card each: the worst status of its members
 * and how many are in each status, live from the rollup resource the hub publishes.
 * Nothing shows when the hub has no rollups (or no monitoring route at all).
 */
export function RollupCards() {
  const { data, error } = useMonitoring();
  if (error !== undefined) {
    return isMissingRoute(error) ? null : (
      <Suspense fallback={null}>
        <Alert severity="info" variant="outlined" sx={{ mt: 3 }}>
          Rollups are not available: {describeRestError(error)}.
        </Alert>
      </Suspense>
    );
  }
  if (data === undefined || data === null || data.rollups.length === 0) return null;
  return (
    <Box component="section" aria-label="Rollups" sx={{ mt: 4 }}>
      <Typography variant="h2" sx={{ mb: 1 }}>
        Rollups
      </Typography>
      <Box
        component="ul"
        sx={{
          display: "grid",
          gridTemplateColumns: "repeat(auto-fill, minmax(280px, 1fr))",
          gap: 1.5,
          listStyle: "none",
          p: 0,
          m: 0,
        }}
      >
        {data.rollups.map((rollup) => (
          <RollupCard key={rollup.resource} rollup={rollup} />
        ))}
      </Box>
    </Box>
  );
}
