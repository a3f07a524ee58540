import CloudDoneIcon from "@mui/icons-material/CloudDone";
import CloudOffIcon from "@mui/icons-material/CloudOff";
import KeyIcon from "@mui/icons-material/Key";
import SyncIcon from "@mui/icons-material/Sync";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import { useTheme } from "@mui/material/styles";
import type { ReactNode } from "react";
import { useAppDispatch, useAppSelector } from "../../app/hooks";
import { formatDuration } from "../../common/time";
import { useNow } from "../../common/useNow";
import {
  reconnectRequested,
  selectAttempt,
  selectLastClose,
  selectLastHubError,
  selectLink,
  selectRetryAt,
  selectSession,
  selectUnreadableFrames,
} from "../../hub/hubSlice";
import { selectResourceTotal } from "../resources/resourcesSlice";

/** Why the socket closed, in words, for the close codes the contract names. */
function describeClose(code: number, reason: string): string {
  const known: Record<number, string> = {
    1000: "closed",
    1001: "the hub is restarting",
    1002: "the hub saw a WebSocket protocol error",
    1003: "the hub got a frame of the wrong type",
    1006: "the connection dropped",
    1007: "the hub could not read a frame",
    1008: "the hub refused this origin",
    1009: "a frame was too large",
    4001: "unauthorized",
    4002: "the token expired",
    4008: "too many requests",
    4009: "the dashboard fell behind",
    4010: "the hub missed the dashboard's heartbeat",
  };
  const words = known[code] ?? "the connection closed";
  return reason === "" ? `${words} (${String(code)})` : `${words} (${String(code)}: ${reason})`;
}

/** Always-visible strip under the app bar: live, connecting, reconnecting in N s, signed out. */
export function ConnectionBanner() {
  const dispatch = useAppDispatch();
  const link = useAppSelector(selectLink);
  const session = useAppSelector(selectSession);
  const retryAt = useAppSelector(selectRetryAt);
  const attempt = useAppSelector(selectAttempt);
  const lastClose = useAppSelector(selectLastClose);
  const total = useAppSelector(selectResourceTotal);
  const hubError = useAppSelector(selectLastHubError);
  const unreadable = useAppSelector(selectUnreadableFrames);
  const theme = useTheme();
  const now = useNow();

  let tone: "success" | "info" | "warning" = "info";
  let icon: ReactNode = <SyncIcon fontSize="small" aria-hidden />;
  let text: string;
  let action: ReactNode = null;
  switch (link) {
    case "idle":
    case "connecting":
      text = attempt > 0 ? "Reconnecting to the hub…" : "Connecting to the hub…";
      break;
    case "live":
      tone = hubError === null ? "success" : "warning";
      icon = <CloudDoneIcon fontSize="small" aria-hidden />;
      text = `Live · ${session?.server ?? "hub"} · ${total.toLocaleString()} resources`;
      if (hubError !== null)
        text += ` · the hub refused a request (${hubError.code}): ${hubError.message}`;
      // A frame not read may hide a change: say so where the operator looks.
      if (unreadable.count > 0) {
        tone = "warning";
        text += ` · ${unreadable.count.toLocaleString()} ${unreadable.count === 1 ? "message" : "messages"} from the hub could not be read (last: ${unreadable.lastReason ?? ""})`;
      }
      break;
    case "waiting": {
      tone = "warning";
      icon = <CloudOffIcon fontSize="small" aria-hidden />;
      const wait = retryAt === null ? 0 : Math.max(0, retryAt - now);
      const why =
        lastClose === null
          ? ""
          : `Disconnected: ${describeClose(lastClose.code, lastClose.reason)}. `;
      text = `${why}Reconnecting in ${formatDuration(wait)} (attempt ${String(attempt)}); showing the last known state.`;
      action = (
        <Button color="inherit" onClick={() => dispatch(reconnectRequested())}>
          Retry now
        </Button>
      );
      break;
    }
    case "signedOut":
      icon = <KeyIcon fontSize="small" aria-hidden />;
      text = "Signed out: sign in with a token to watch the hub.";
      break;
  }

  const color = theme.palette[tone];
  return (
    <Box
      role="status"
      aria-live="polite"
      data-testid="connection-banner"
      data-link={link}
      sx={{
        display: "flex",
        alignItems: "center",
        gap: 1,
        px: 2,
        minHeight: 32,
        fontSize: "0.8rem",
        borderBottom: 1,
        borderColor: "divider",
        color: theme.palette.mode === "dark" ? color.light : color.dark,
        bgcolor: link === "live" ? "background.paper" : `${color.main}1f`,
      }}
    >
      {icon}
      <Box component="span" sx={{ flex: 1 }}>
        {text}
      </Box>
      {action}
    </Box>
  );
}
