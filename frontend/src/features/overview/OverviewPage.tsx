import Box from "@mui/material/Box";
import ButtonBase from "@mui/material/ButtonBase";
import Link from "@mui/material/Link";
import Paper from "@mui/material/Paper";
import Typography from "@mui/material/Typography";
import { useTheme } from "@mui/material/styles";
import { useMemo } from "react";
import { useAppDispatch, useAppSelector } from "../../app/hooks";
import { monospace, statusColor } from "../../app/theme";
import { routeHref, useRoute } from "../../common/hashRoute";
import { formatAge } from "../../common/time";
import { useNow } from "../../common/useNow";
import { selectClockOffsetMs } from "../../hub/hubSlice";
import { selectFiringAlertCount } from "../alerts/alertEpisodes";
import { useMonitoring } from "../monitoring/monitoringApi";
import { filterChanged, STATUS_ORDER } from "../resources/resourcesSlice";
import { StatusChip, statusIcons } from "../resources/StatusChip";
import { RollupCards } from "../rollups/RollupCards";
import {
  ATTENTION_STATUSES,
  selectMonitoredResources,
  selectMonitoredStatusCounts,
  selectResourcesNeedingAttention,
} from "./monitoredResources";

const ATTENTION_SHOWN = 15;

/**
 * Counts per status (down and stale first), the hub's rollups, and the resources that need a
 * look now: down, stale or degraded. The hub's alert resources are counted on the Alerts page
 * instead (see `monitoredResources.ts`).
 */
export function OverviewPage() {
  const dispatch = useAppDispatch();
  const [, navigate] = useRoute();
  const counts = useAppSelector(selectMonitoredStatusCounts);
  const total = useAppSelector(selectMonitoredResources).length;
  const needingAttention = useAppSelector(selectResourcesNeedingAttention);
  const { data: monitoring } = useMonitoring();
  // A rollup restates its members too, and has its card above.
  const attention = useMemo(() => {
    const rollups = new Set(monitoring?.rollups.map((rollup) => rollup.resource));
    return rollups.size === 0
      ? needingAttention
      : needingAttention.filter((resource) => !rollups.has(resource.resource));
  }, [needingAttention, monitoring]);
  const firingAlerts = useAppSelector(selectFiringAlertCount);
  const clockOffset = useAppSelector(selectClockOffsetMs);
  const now = useNow() + clockOffset;
  const theme = useTheme();

  return (
    <Box sx={{ p: 3, overflowY: "auto", flex: 1 }}>
      <Box sx={{ display: "flex", alignItems: "baseline", gap: 2, mb: 2 }}>
        <Typography variant="h1">Overview</Typography>
        <Typography color="text.secondary" data-testid="resource-total">
          {total.toLocaleString()} resources
        </Typography>
      </Box>
      <Box
        component="ul"
        aria-label="Resources per status"
        sx={{
          display: "grid",
          gridTemplateColumns: "repeat(auto-fill, minmax(150px, 1fr))",
          gap: 1.5,
          listStyle: "none",
          p: 0,
          m: 0,
        }}
      >
        {STATUS_ORDER.map((status) => {
          const Icon = statusIcons[status];
          const color = statusColor(theme, status);
          const count = counts[status];
          return (
            <Paper
              component="li"
              key={status}
              sx={{ borderLeft: 4, borderLeftColor: count > 0 ? color : "divider" }}
            >
              <ButtonBase
                data-testid={`status-count-${status}`}
                aria-label={`${String(count)} ${status}: show them`}
                onClick={() => {
                  dispatch(filterChanged({ statuses: [status], pattern: "", search: "" }));
                  navigate({ view: "resources", resource: null });
                }}
                sx={{
                  width: "100%",
                  display: "flex",
                  flexDirection: "column",
                  alignItems: "flex-start",
                  p: 1.5,
                  textAlign: "left",
                  "&:focus-visible": { outline: `2px solid ${theme.palette.primary.main}` },
                }}
              >
                <Box sx={{ display: "flex", alignItems: "center", gap: 0.75, color }}>
                  <Icon fontSize="small" aria-hidden />
                  <Typography sx={{ fontWeight: 600 }}>{status}</Typography>
                </Box>
                <Typography
                  sx={{
                    fontSize: "1.8rem",
                    fontWeight: 600,
                    lineHeight: 1.2,
                    color: count > 0 ? "text.primary" : "text.disabled",
                  }}
                >
                  {count.toLocaleString()}
                </Typography>
              </ButtonBase>
            </Paper>
          );
        })}
      </Box>

      <RollupCards />

      <Box sx={{ display: "flex", alignItems: "baseline", gap: 2, mt: 4, mb: 1 }}>
        <Typography variant="h2">Needs attention</Typography>
        {firingAlerts > 0 && (
          <Link href={routeHref({ view: "alerts" })} data-testid="firing-alerts-link">
            {firingAlerts === 1
              ? "1 alert firing"
              : `${firingAlerts.toLocaleString()} alerts firing`}
          </Link>
        )}
      </Box>
      {attention.length === 0 ? (
        <Typography color="text.secondary">Nothing is down, stale or degraded.</Typography>
      ) : (
        <Paper
          component="ul"
          aria-label="Resources needing attention"
          sx={{ listStyle: "none", p: 0, m: 0 }}
        >
          {attention.slice(0, ATTENTION_SHOWN).map((resource) => (
            <Box
              component="li"
              key={resource.resource}
              sx={{
                display: "grid",
                gridTemplateColumns: "120px 1fr 120px",
                alignItems: "center",
                gap: 2,
                px: 2,
                py: 0.75,
                borderBottom: 1,
                borderColor: "divider",
                "&:last-child": { borderBottom: 0 },
              }}
            >
              <StatusChip status={resource.status} />
              <Link
                href={routeHref({ view: "resources", resource: resource.resource })}
                sx={{ fontFamily: monospace, fontSize: "0.85rem", overflowWrap: "anywhere" }}
              >
                {resource.resource}
              </Link>
              <Typography variant="body2" color="text.secondary" sx={{ textAlign: "right" }}>
                {formatAge(resource.updated_at, now)}
              </Typography>
            </Box>
          ))}
          {attention.length > ATTENTION_SHOWN && (
            <Box component="li" sx={{ px: 2, py: 1 }}>
              <Link
                component="button"
                onClick={() => {
                  dispatch(
                    filterChanged({ statuses: [...ATTENTION_STATUSES], pattern: "", search: "" }),
                  );
                  navigate({ view: "resources", resource: null });
                }}
              >
                All {attention.length.toLocaleString()} down, stale or degraded resources
              </Link>
            </Box>
          )}
        </Paper>
      )}
    </Box>
  );
}
