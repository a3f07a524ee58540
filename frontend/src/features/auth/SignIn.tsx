import LoginIcon from "@mui/icons-material/Login";
import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Paper from "@mui/material/Paper";
import TextField from "@mui/material/TextField";
import Typography from "@mui/material/Typography";
import { useState, type SyntheticEvent } from "react";
import { useAppDispatch, useAppSelector } from "../../app/hooks";
import { monospace } from "../../app/theme";
import { selectAuthMessage, selectSignInReason, signInSkipped, tokenSubmitted } from "./authSlice";
import { ClaimsPreview } from "./ClaimsPreview";
import { readTokenClaims } from "./tokenClaims";

const REASONS = {
  unauthorized: "The hub needs a valid token.",
  expired: "Your token expired.",
  signedOut: "You signed out.",
} as const;

/** Paste a JWT; it is kept in this tab's sessionStorage and sent to the hub in `hello` only. */
export function SignIn() {
  const dispatch = useAppDispatch();
  const reason = useAppSelector(selectSignInReason);
  const message = useAppSelector(selectAuthMessage);
  const [token, setToken] = useState("");
  const claims = token.trim() === "" ? null : readTokenClaims(token);

  const submit = (event: SyntheticEvent) => {
    event.preventDefault();
    if (claims !== null) dispatch(tokenSubmitted({ token }));
  };

  return (
    <Box
      sx={{
        flex: 1,
        display: "flex",
        justifyContent: "center",
        alignItems: "flex-start",
        p: 4,
        overflowY: "auto",
      }}
    >
      <Paper
        component="form"
        aria-label="Sign in"
        onSubmit={submit}
        sx={{
          p: 3,
          width: "100%",
          maxWidth: 560,
          display: "flex",
          flexDirection: "column",
          gap: 2,
        }}
      >
        <Typography variant="h1">Sign in to the hub</Typography>
        {reason !== null && (
          <Alert severity={reason === "signedOut" ? "info" : "warning"}>
            {REASONS[reason]}
            {message !== null && ` The hub said: ${message}`}
          </Alert>
        )}
        <TextField
          label="Token (JWT)"
          multiline
          minRows={4}
          value={token}
          onChange={(event) => {
            setToken(event.target.value);
          }}
          error={token.trim() !== "" && claims === null}
          helperText={
            token.trim() !== "" && claims === null
              ? "This is not a JWT (three base64url parts, a JSON payload)."
              : "Ask your hub's admin, or run: fillstack token --sub NAME --roles viewer"
          }
          slotProps={{
            htmlInput: {
              spellCheck: false,
              autoComplete: "off",
              style: { fontFamily: monospace, fontSize: "0.8rem", wordBreak: "break-all" },
            },
          }}
          autoFocus
        />
        {claims !== null && <ClaimsPreview claims={claims} />}
        <Typography variant="caption" color="text.secondary">
          Kept in this tab only (sessionStorage), never in a cookie. The claims above are read here
          for display; the hub checks the signature.
        </Typography>
        <Box sx={{ display: "flex", gap: 1 }}>
          <Button
            type="submit"
            variant="contained"
            startIcon={<LoginIcon />}
            disabled={claims === null}
          >
            Sign in
          </Button>
          <Button onClick={() => dispatch(signInSkipped())}>Try without a token</Button>
        </Box>
      </Paper>
    </Box>
  );
}
