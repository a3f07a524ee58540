import AccountCircleIcon from "@mui/icons-material/AccountCircle";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import { lazy, Suspense, useState } from "react";
import { useAppSelector } from "../../app/hooks";
import { selectRoles } from "../../hub/hubSlice";
import { selectToken } from "./authSlice";
import { readTokenClaims } from "./tokenClaims";

const AccountMenuList = lazy(() =>
  import("./AccountMenuList").then((module) => ({ default: module.AccountMenuList })),
);

/** Who the dashboard is signed in as, and sign-out; with auth off, just the session's roles. */
export function AccountMenu() {
  const token = useAppSelector(selectToken);
  const roles = useAppSelector(selectRoles);
  const [anchor, setAnchor] = useState<HTMLElement | null>(null);
  // Mounted from the first click on, so that closing plays the menu's exit transition.
  const [wasOpened, setWasOpened] = useState(false);
  const claims = token === null ? null : readTokenClaims(token);

  if (claims === null) {
    return roles.length === 0 ? null : (
      <Box
        component="span"
        sx={{ fontSize: "0.8rem", color: "text.secondary", whiteSpace: "nowrap" }}
        title="No token: the hub has auth off"
      >
        {roles.join(", ")}
      </Box>
    );
  }
  return (
    <>
      <Button
        color="inherit"
        startIcon={<AccountCircleIcon />}
        onClick={(event) => {
          setAnchor(event.currentTarget);
          setWasOpened(true);
        }}
        aria-haspopup="menu"
      >
        {claims.sub ?? "signed in"}
      </Button>
      {wasOpened && (
        <Suspense fallback={null}>
          <AccountMenuList
            anchor={anchor}
            claims={claims}
            onClose={() => {
              setAnchor(null);
            }}
          />
        </Suspense>
      )}
    </>
  );
}
