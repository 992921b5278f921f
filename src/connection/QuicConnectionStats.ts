import type { napi } from '../native/binding';

/**
 * A snapshot of a connection's statistics: tokio-quiche's `QuicConnectionStats`.
 *
 * `pathStats` is the first (active) path's, as in tokio-quiche.
 */
export interface QuicConnectionStats {
  /** Connection-wide counters. */
  readonly stats: napi.ConnectionStats;
  /** The first path's statistics, when the connection has a path. */
  readonly pathStats?: napi.PathStats;
}

/** Reads a live {@link QuicConnectionStats} snapshot from a connection. */
export function readConnectionStats(conn: Pick<napi.Connection, 'stats' | 'pathStats'>): QuicConnectionStats {
  const [first] = conn.pathStats();
  return first ? { stats: conn.stats(), pathStats: first } : { stats: conn.stats() };
}
