import Alert from "@mui/material/Alert";
import AlertTitle from "@mui/material/AlertTitle";
import Box from "@mui/material/Box";
import Snackbar from "@mui/material/Snackbar";
import type { Subscription } from "../../hub/hubSlice";

/**
 * The notice `RefusedSubscriptions` shows: its own chunk, since most sessions never see it
 * (Snackbar, Alert and their transitions stay off the first page).
 */
export function RefusedNotice({
  shown,
  onDismiss,
}: {
  shown: readonly Subscription[];
  onDismiss: () => void;
}) {
  return (
    <Snackbar
      open={shown.length > 0}
      anchorOrigin={{ vertical: "bottom", horizontal: "left" }}
      onClose={(_event, reason) => {
        // A click elsewhere is no answer to the notice: only the close button or Escape is.
        if (reason === "escapeKeyDown") onDismiss();
      }}
    >
      <Alert
        severity="warning"
        variant="filled"
        onClose={onDismiss}
        data-testid="refused-subscriptions"
        sx={{ maxWidth: 640 }}
      >
        <AlertTitle>
          {shown.length === 1
            ? "The hub refused a subscription"
            : `The hub refused ${String(shown.length)} subscriptions`}
        </AlertTitle>
        {shown.map(({ pattern, refusal }) => {
          const code = refusal?.code ?? "error";
          const why = (refusal?.message ?? "no reason given").replace(/\.$/, "");
          const hint =
            code === "forbidden"
              ? " Sign in with a token whose res covers this pattern to see them."
              : "";
          return (
            <Box key={pattern} component="p" sx={{ m: 0, overflowWrap: "anywhere" }}>
              Resources matching <code>{pattern}</code> are not shown{` (${code}): ${why}.${hint}`}
            </Box>
          );
        })}
      </Alert>
    </Snackbar>
  );
}
