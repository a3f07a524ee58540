import { lazy, Suspense, useState } from "react";
import { useAppSelector } from "../../app/hooks";
import { selectRefusedSubscriptions, type Subscription } from "../../hub/hubSlice";

const RefusedNotice = lazy(() =>
  import("./RefusedNotice").then((module) => ({ default: module.RefusedNotice })),
);

/** One refusal's identity: the same answer for the same pattern is shown once. */
const refusalKey = ({ pattern, refusal }: Subscription) =>
  `${pattern}\n${refusal?.code ?? ""}\n${refusal?.message ?? ""}`;

/**
 * A non-blocking notice for each pattern the hub would not let this session watch (most often
 * `forbidden`: wider than the token's `res`), so that missing resources are explained rather
 * than silently absent. It stays until dismissed; the rest of the dashboard keeps working.
 * The notice's chunk loads at the first refusal.
 */
export function RefusedSubscriptions() {
  const refused = useAppSelector(selectRefusedSubscriptions);
  const [dismissed, setDismissed] = useState<ReadonlySet<string>>(new Set());
  // Mounted from the first refusal on, so that dismissing plays the notice's exit transition.
  const [wasShown, setWasShown] = useState(false);
  const shown = refused.filter((subscription) => !dismissed.has(refusalKey(subscription)));
  if (shown.length > 0 && !wasShown) setWasShown(true);

  const dismiss = () => {
    setDismissed(new Set([...dismissed, ...shown.map(refusalKey)]));
  };

  return wasShown ? (
    <Suspense fallback={null}>
      <RefusedNotice shown={shown} onDismiss={dismiss} />
    </Suspense>
  ) : null;
}
