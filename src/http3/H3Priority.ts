/**
 * An HTTP priority (RFC 9218): `urgency` 0 (most urgent) to 7, and whether the response may be
 * sent `incremental`ly, interleaved with others of the same urgency.
 */
export interface H3Priority {
  /** 0 (most urgent) to 7. RFC 9218's default is 3. */
  readonly urgency: number;
  /** Whether the response is useful in pieces. RFC 9218's default is `false`. */
  readonly incremental: boolean;
}

/**
 * The Priority Field Value of a priority (RFC 9218 §4): `u=5, i`, `u=0`. What the `priority`
 * request header and a PRIORITY_UPDATE frame carry.
 *
 * @param priority The priority.
 * @throws {RangeError} when the urgency is not an integer from 0 to 7.
 */
export function formatPriority(priority: H3Priority): string {
  checkPriority(priority);
  return priority.incremental ? `u=${priority.urgency}, i` : `u=${priority.urgency}`;
}

/**
 * Checks a priority's urgency.
 *
 * @throws {RangeError} when the urgency is not an integer from 0 to 7.
 */
export function checkPriority(priority: H3Priority): void {
  const u = priority?.urgency;
  if (!Number.isInteger(u) || u < 0 || u > 7) throw new RangeError(`a priority urgency must be an integer from 0 to 7, got ${String(u)}`);
}
