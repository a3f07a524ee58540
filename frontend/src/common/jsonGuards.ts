/**
 * Checks for REST bodies read as unknown JSON: a body that does not have the contract's shape
 * is shown as "not readable" instead of breaking a view. Frame guards live in
 * `@protocol/frames`; these cover the bodies it does not describe (yet).
 */

export const isMap = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

export const isText = (value: unknown): value is string => typeof value === "string";

/** A finite number (a float field, a fraction). */
export const isNumber = (value: unknown): value is number =>
  typeof value === "number" && Number.isFinite(value);

/** An unsigned integer (milliseconds, seconds, counts). */
export const isCount = (value: unknown): value is number =>
  typeof value === "number" && Number.isInteger(value) && value >= 0;

/** `check` for a key that may be absent. */
export const isAbsentOr =
  <T>(check: (value: unknown) => value is T) =>
  (value: unknown): value is T | undefined =>
    value === undefined || check(value);

export const isListOf =
  <T>(check: (value: unknown) => value is T) =>
  (value: unknown): value is T[] =>
    Array.isArray(value) && value.every(check);
