import Alert from "@mui/material/Alert";
import AlertTitle from "@mui/material/AlertTitle";
import Box from "@mui/material/Box";
import Snackbar from "@mui/material/Snackbar";
import { useState } from "react";
import { useAppSelector } from "../../app/hooks";
import { selectRefusedSubscriptions, type Subscription } from "../../hub/hubSlice";

/** One refusal's identity: the same answer for the same pattern is shown once. */
const refusalKey = ({ pattern, refusal }: Subscription) =>
  `${pattern}\n${refusal?.code ?? ""}\n${refusal?.message ?? ""}`;

/**
 * A non-blocking notice for each pattern the hub would not let this session watch (most often
 * `forbidden`: wider than the token's `res`), so that missing resources are explained rather
 * than silently absent. It stays until dismissed; the rest of the dashboard keeps working.
 */
export function RefusedSubscriptions() {
  const refused = useAppSelector(selectRefusedSubscriptions);
  const [dismissed, setDismissed] = useState<ReadonlySet<string>>(new Set());
  const shown = refused.filter((subscription) => !dismissed.has(refusalKey(subscription)));

  const dismiss = () => {
    setDismissed(new Set([...dismissed, ...shown.map(refusalKey)]));
  };

  return (
    <Snackbar
      open={shown.length > 0}
      anchorOrigin={{ vertical: "bottom", horizontal: "left" }}
      onClose={(_event, reason) => {
        // A click elsewhere is no answer to the notice: only the close button or Escape is.
        if (reason === "escapeKeyDown") dismiss();
      }}
    >
      <Alert
        severity="warning"
        variant="filled"
        onClose={dismiss}
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
