import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
import Skeleton from "@mui/material/Skeleton";
import Typography from "@mui/material/Typography";
import { useTheme } from "@mui/material/styles";
import { statusColor } from "../../app/theme";
import { describeRestError } from "../../common/rest";
import {
  availabilityGrade,
  availabilityOf,
  formatAvailability,
  gradeStatus,
  secondsOverLast,
} from "./availability";
import { UPTIME_DAYS, useGetUptimeQuery } from "./uptimeApi";
import { UptimeStrip } from "./UptimeStrip";

/** The hub adds to today's figures as time passes: ask again this often. */
const REFRESH_MS = 60_000;
const WEEK_DAYS = 7;

function Availability({
  span,
  availability,
  testId,
}: {
  span: string;
  /** Undefined when the hub did not report this span. */
  availability: number | null | undefined;
  testId: string;
}) {
  const theme = useTheme();
  const color = statusColor(theme, gradeStatus[availabilityGrade(availability ?? null)]);
  return (
    <Box
      data-testid={testId}
      sx={{ borderLeft: 3, borderLeftColor: color, pl: 1, minWidth: 0, flex: 1 }}
    >
      <Typography component="dt" variant="caption" color="text.secondary">
        {span}
      </Typography>
      <Typography component="dd" sx={{ m: 0, fontWeight: 600, fontSize: "1.05rem" }}>
        {availability === undefined ? "not reported" : formatAvailability(availability)}
      </Typography>
    </Box>
  );
}

/**
 * Availability of one resource over the last 24 hours, 7 and 30 days, and a bar per day,
 * from `GET /api/v1/uptime/{id}?days=30`. The 7 days are summed from the 30 days' last
 * seven, so one request serves all three figures. A failed fetch (a hub without the route)
 * says so and leaves the rest of the panel alone.
 */
export function ResourceUptime({ resource }: { resource: string }) {
  const { data, error, isLoading } = useGetUptimeQuery(
    { resource, days: UPTIME_DAYS },
    { pollingInterval: REFRESH_MS },
  );

  if (isLoading) return <Skeleton variant="rounded" height={96} />;
  if (error !== undefined) {
    return (
      <Alert severity="info" variant="outlined">
        Uptime is not available: {describeRestError(error)}.
      </Alert>
    );
  }
  if (data === undefined || data === null) {
    return (
      <Alert severity="warning" variant="outlined">
        The hub answered with something that is not an uptime report.
      </Alert>
    );
  }

  return (
    <Box sx={{ display: "flex", flexDirection: "column", gap: 1.5 }}>
      <Box
        component="dl"
        aria-label="Availability"
        sx={{ display: "flex", gap: 2, m: 0, fontSize: "0.85rem" }}
      >
        <Availability
          span="24 hours"
          availability={data.last_24h?.availability}
          testId="availability-24h"
        />
        <Availability
          span="7 days"
          availability={availabilityOf(secondsOverLast(data.days, WEEK_DAYS))}
          testId="availability-7d"
        />
        <Availability
          span={`${String(data.days.length)} days`}
          availability={data.total.availability}
          testId="availability-30d"
        />
      </Box>
      <UptimeStrip days={data.days} />
      <Typography variant="caption" color="text.secondary">
        Availability is the time up over all time counted but maintenance (UTC days).
      </Typography>
    </Box>
  );
}
