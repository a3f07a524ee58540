/**
 * Resource ids and subscription patterns, checked the way the hub checks them (PROTOCOL-v1:
 * 1 to 128 bytes, 1 to 8 segments of `[A-Za-z0-9][A-Za-z0-9_.:-]*`; a pattern is an id,
 * `p/*`, `p/**` or `**`). The SPA uses these to filter and to explain a bad form value before
 * the hub would refuse it; the hub stays the authority.
 */

const MAX_ID_BYTES = 128;
const MAX_SEGMENTS = 8;
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;

/** Why `id` is not a resource id, or null when it is one. */
export function checkResourceId(id: string): string | null {
  if (id.length === 0) return "a resource id cannot be empty";
  const bytes = new TextEncoder().encode(id).length;
  if (bytes > MAX_ID_BYTES) return `resource id is ${String(bytes)} bytes; the limit is 128`;
  const segments = id.split("/");
  if (segments.length > MAX_SEGMENTS) {
    return `resource id has ${String(segments.length)} segments; the limit is 8`;
  }
  const bad = segments.find((segment) => !SEGMENT.test(segment));
  if (bad === undefined) return null;
  return bad === ""
    ? `resource id \`${id}\` has an empty segment`
    : `segment \`${bad}\` must start with a letter or digit and hold only letters, digits and _ . : -`;
}

/** Why `pattern` is not a pattern, or null when it is one. */
export function checkPattern(pattern: string): string | null {
  if (pattern === "**") return null;
  const prefix = pattern.endsWith("/**")
    ? pattern.slice(0, -3)
    : pattern.endsWith("/*")
      ? pattern.slice(0, -2)
      : pattern;
  const reason = checkResourceId(prefix);
  return reason === null ? null : `pattern \`${pattern}\` is not an id, p/*, p/** or **: ${reason}`;
}

/** Whether the resource `id` is watched by `pattern` (same rules as the hub's `Pattern::matches`). */
export function matchesPattern(pattern: string, id: string): boolean {
  if (pattern === "**") return true;
  if (pattern.endsWith("/**")) return id.startsWith(pattern.slice(0, -2));
  if (pattern.endsWith("/*")) {
    const prefix = pattern.slice(0, -1);
    return id.startsWith(prefix) && id.length > prefix.length && !id.includes("/", prefix.length);
  }
  return pattern === id;
}

/**
 * Whether every id `inner` matches is also matched by `outer` (the hub's test for "a `sub`
 * within the token's scope"). Two patterns of the contract either nest or match no id in
 * common, so this is enough to intersect them.
 */
export function isWithin(inner: string, outer: string): boolean {
  if (outer === "**") return true;
  if (inner === "**") return false;
  const innerPrefix = inner.endsWith("/**")
    ? inner.slice(0, -3)
    : inner.endsWith("/*")
      ? inner.slice(0, -2)
      : null;
  if (innerPrefix === null) return matchesPattern(outer, inner); // an exact id
  if (outer.endsWith("/**")) {
    // `p/**` and `p/*` lie within `q/**` when p is q or one of its descendants.
    return innerPrefix === outer.slice(0, -3) || matchesPattern(outer, innerPrefix);
  }
  // Within `q/*` only `q/*` itself; within an exact id no pattern of several ids.
  return inner.endsWith("/*") && !inner.endsWith("/**") && inner === outer;
}

/**
 * The patterns to subscribe so as to watch `wanted` within `scope` (a token's `res`; null when
 * the session may see everything): each wanted pattern intersected with each scope pattern,
 * without repeats and without a pattern that another one already covers, so that no resource
 * arrives twice. In the order of `wanted`, then of `scope`.
 */
export function narrowToScope(
  wanted: readonly string[],
  scope: readonly string[] | null,
): string[] {
  const narrowed: string[] = [];
  for (const pattern of wanted) {
    for (const allowed of scope ?? ["**"]) {
      if (isWithin(pattern, allowed)) narrowed.push(pattern);
      else if (isWithin(allowed, pattern)) narrowed.push(allowed);
    }
  }
  return narrowed.filter(
    (pattern, index) =>
      !narrowed.some(
        (other, otherIndex) =>
          otherIndex !== index &&
          isWithin(pattern, other) &&
          (other !== pattern || otherIndex < index),
      ),
  );
}
