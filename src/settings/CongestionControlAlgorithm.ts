/**
 * The congestion control algorithms quiche implements, by the names `QuicSettings.ccAlgorithm` takes.
 *
 * - `reno`: NewReno, as in RFC 9002 §7 (<https://www.rfc-editor.org/rfc/rfc9002.html#section-7>).
 * - `cubic`: CUBIC, RFC 9438 (<https://www.rfc-editor.org/rfc/rfc9438.html>).
 * - `bbr2`, `bbr2_gcongestion`: BBRv2 as ported from Google's gcongestion; quiche treats both names
 *   as the same algorithm, which also switches quiche to its gcongestion pacing path.
 */
export type CongestionControlAlgorithm = 'reno' | 'cubic' | 'bbr2' | 'bbr2_gcongestion';

/** Every {@link CongestionControlAlgorithm}, in the order above. */
export const CONGESTION_CONTROL_ALGORITHMS: readonly CongestionControlAlgorithm[] = Object.freeze([
  'reno',
  'cubic',
  'bbr2',
  'bbr2_gcongestion',
] as const);
