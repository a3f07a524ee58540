import BuildIcon from "@mui/icons-material/Build";
import CheckCircleIcon from "@mui/icons-material/CheckCircle";
import ErrorIcon from "@mui/icons-material/Error";
import HelpOutlineIcon from "@mui/icons-material/HelpOutlineOutlined";
import HourglassBottomIcon from "@mui/icons-material/HourglassBottom";
import WarningAmberIcon from "@mui/icons-material/WarningAmber";
import type { SvgIconComponent } from "@mui/icons-material";
import Box from "@mui/material/Box";
import { useTheme } from "@mui/material/styles";
import type { Status } from "@protocol/frames";
import { statusColor } from "../../app/theme";

/** One icon per status, so that status is never told by colour alone. */
export const statusIcons: Record<Status, SvgIconComponent> = {
  up: CheckCircleIcon,
  degraded: WarningAmberIcon,
  down: ErrorIcon,
  unknown: HelpOutlineIcon,
  stale: HourglassBottomIcon,
  maintenance: BuildIcon,
};

/** A resource's status: icon, word and colour together. */
export function StatusChip({
  status,
  size = "small",
}: {
  status: Status;
  size?: "small" | "large";
}) {
  const theme = useTheme();
  const Icon = statusIcons[status];
  const color = statusColor(theme, status);
  return (
    <Box
      component="span"
      data-status={status}
      sx={{
        display: "inline-flex",
        width: "fit-content",
        alignItems: "center",
        gap: 0.5,
        px: size === "large" ? 1.25 : 0.75,
        py: size === "large" ? 0.5 : 0.125,
        borderRadius: 10,
        border: 1,
        borderColor: color,
        color,
        fontWeight: 600,
        fontSize: size === "large" ? "0.95rem" : "0.75rem",
        lineHeight: 1.5,
        whiteSpace: "nowrap",
      }}
    >
      <Icon sx={{ fontSize: size === "large" ? 18 : 14 }} aria-hidden />
      {status}
    </Box>
  );
}
