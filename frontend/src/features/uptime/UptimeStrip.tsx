import Box from "@mui/material/Box";
import { useTheme } from "@mui/material/styles";
import { BarChart } from "@mui/x-charts/BarChart";
import { statusColor } from "../../app/theme";
import { formatUtcDay } from "../../common/time";
import { visuallyHidden } from "../../common/visuallyHidden";
import {
  availabilityGrade,
  describeDay,
  FAIR_FROM,
  formatPercent,
  gradeStatus,
  type AvailabilityGrade,
} from "./availability";
import type { UptimeDay } from "./uptimeApi";

const STRIP_HEIGHT = 44;

const gradeWords: Record<AvailabilityGrade, string> = {
  good: `at least ${formatPercent(0.999)}`,
  fair: `at least ${formatPercent(FAIR_FROM)}`,
  poor: `below ${formatPercent(FAIR_FROM)}`,
  none: "no data",
};

/** The day with the lowest availability, for the strip's one-line summary. */
function worstDay(days: readonly UptimeDay[]): UptimeDay | null {
  let worst: UptimeDay | null = null;
  for (const day of days) {
    if (day.availability === null) continue;
    if (worst === null || day.availability < (worst.availability ?? 1)) worst = day;
  }
  return worst;
}

/**
 * One bar per UTC day, oldest on the left, coloured by its availability (the tooltip gives
 * the date and the share of each status). Every bar has the same height: the colour and the
 * words tell the day, and a short outage must not vanish into a 99 % tall bar. The same
 * words are listed for screen readers.
 */
export function UptimeStrip({ days }: { days: readonly UptimeDay[] }) {
  const theme = useTheme();
  const colors = days.map((day) =>
    statusColor(theme, gradeStatus[availabilityGrade(day.availability)]),
  );
  const worst = worstDay(days);
  const first = days[0]?.date ?? "";
  const last = days.at(-1)?.date ?? "";
  const summary =
    worst === null
      ? `Availability per day from ${first} to ${last}: no data`
      : `Availability per day from ${first} to ${last}; lowest ${formatPercent(worst.availability ?? 0)} on ${worst.date}`;

  return (
    <Box>
      <Box role="img" aria-label={summary} data-testid="uptime-strip">
        <BarChart
          height={STRIP_HEIGHT}
          margin={{ top: 2, bottom: 2, left: 0, right: 0 }}
          hideLegend
          skipAnimation
          axisHighlight={{ x: "band" }}
          xAxis={[
            {
              scaleType: "band",
              data: days.map((day) => day.date),
              position: "none",
              categoryGapRatio: 0.25,
              valueFormatter: (date: string) => `${formatUtcDay(date)} (UTC)`,
            },
          ]}
          yAxis={[{ position: "none", min: 0, max: 1 }]}
          series={[
            {
              label: "Availability",
              data: days.map(() => 1),
              colorGetter: ({ dataIndex }) => colors[dataIndex] ?? theme.palette.divider,
              valueFormatter: (_value, { dataIndex }) => {
                const day = days[dataIndex];
                return day === undefined ? null : describeDay(day);
              },
            },
          ]}
        />
      </Box>
      <Box
        sx={{
          display: "flex",
          justifyContent: "space-between",
          color: "text.secondary",
          fontSize: "0.72rem",
        }}
      >
        <span>{first === "" ? "" : formatUtcDay(first)}</span>
        <span>{last === "" ? "" : formatUtcDay(last)}</span>
      </Box>
      <Box
        aria-hidden
        sx={{
          display: "flex",
          flexWrap: "wrap",
          columnGap: 1.5,
          mt: 0.5,
          color: "text.secondary",
          fontSize: "0.72rem",
        }}
      >
        {(Object.keys(gradeWords) as AvailabilityGrade[]).map((grade) => (
          <Box key={grade} component="span" sx={{ display: "inline-flex", gap: 0.5 }}>
            <Box
              component="span"
              sx={{
                width: 8,
                height: 8,
                alignSelf: "center",
                borderRadius: 0.5,
                bgcolor: statusColor(theme, gradeStatus[grade]),
              }}
            />
            {gradeWords[grade]}
          </Box>
        ))}
      </Box>
      <Box component="ol" aria-label="Availability per day" sx={visuallyHidden}>
        {days.map((day) => (
          <li key={day.date}>{`${day.date}: ${describeDay(day)}`}</li>
        ))}
      </Box>
    </Box>
  );
}
