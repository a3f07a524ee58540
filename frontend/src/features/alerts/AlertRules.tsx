import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
import Paper from "@mui/material/Paper";
import Typography from "@mui/material/Typography";
import { monospace } from "../../app/theme";
import { describeRestError } from "../../common/rest";
import { formatDuration } from "../../common/time";
import { isMissingRoute, useMonitoring, type AlertRule } from "../monitoring/monitoringApi";

/** "fires on down, stale after 30 s; flapping past 5 in 10 min; json webhook". */
export function describeRule(rule: AlertRule): string {
  const after = rule.after_ms === 0 ? "at once" : `after ${formatDuration(rule.after_ms)}`;
  return [
    `fires on ${rule.on.join(", ")} ${after}`,
    `flapping past ${String(rule.flap_max)} in ${formatDuration(rule.flap_window_ms)}`,
    `${rule.format} webhook`,
  ].join("; ");
}

/** The alert rules of the hub's configuration: what can fire, even while nothing does. */
export function AlertRules() {
  const { data, error } = useMonitoring();
  if (error !== undefined) {
    return isMissingRoute(error) ? null : (
      <Alert severity="info" variant="outlined" sx={{ mt: 3 }}>
        Alert rules are not available: {describeRestError(error)}.
      </Alert>
    );
  }
  if (data === undefined) return null;
  return (
    <Box component="section" aria-label="Alert rules" sx={{ mt: 4 }}>
      <Typography variant="h2" sx={{ mb: 1 }}>
        Rules
      </Typography>
      {data === null ? (
        <Typography color="text.secondary">
          The hub answered with something that is not a monitoring configuration.
        </Typography>
      ) : data.alerts.length === 0 ? (
        <Typography color="text.secondary">The hub&apos;s configuration has no alerts.</Typography>
      ) : (
        <Paper component="ul" sx={{ listStyle: "none", p: 0, m: 0 }}>
          {data.alerts.map((rule) => (
            <Box
              component="li"
              key={rule.name}
              sx={{
                display: "grid",
                gridTemplateColumns: "minmax(120px, max-content) minmax(120px, max-content) 1fr",
                gap: 2,
                px: 2,
                py: 0.75,
                borderBottom: 1,
                borderColor: "divider",
                "&:last-child": { borderBottom: 0 },
              }}
            >
              <Typography sx={{ fontWeight: 600 }}>{rule.name}</Typography>
              <Typography sx={{ fontFamily: monospace, fontSize: "0.85rem" }}>
                {rule.pattern}
              </Typography>
              <Typography variant="body2" color="text.secondary">
                {describeRule(rule)}
              </Typography>
            </Box>
          ))}
        </Paper>
      )}
    </Box>
  );
}
