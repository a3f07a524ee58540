/**
 * Maps keyed by names that come from outside (field and label names, resource ids, patterns)
 * as objects without a prototype. On a plain object `map["__proto__"] = v` replaces its
 * prototype instead of adding an entry (and inside an Immer draft it throws), `"toString" in
 * map` is true for an empty map and `map.constructor` is a function; on a prototype-free
 * object every name is an entry like any other. They stay plain data for Redux (Redux
 * Toolkit and Immer treat a null prototype as a plain object) and read like any record.
 */

/** An empty map from names to `V`, with no prototype. */
export function emptyRecord<V>(): Record<string, V> {
  return Object.create(null) as Record<string, V>;
}

/** A prototype-free copy of `source`'s own entries (`__proto__` included, as an entry). */
export function recordOf<V>(source: Readonly<Record<string, V>>): Record<string, V> {
  const record = emptyRecord<V>();
  for (const [key, value] of Object.entries(source)) record[key] = value;
  return record;
}

/** Whether `record` holds `key` itself, never through a prototype. */
export const hasEntry = (record: object, key: string): boolean => Object.hasOwn(record, key);
