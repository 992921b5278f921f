/**
 * How qlog files written to `QuicSettings.qlogDir` are compressed, after tokio-quiche's
 * `QlogCompression` (re-exported there from the qlog crate).
 *
 * - `none`: plain JSON-SEQ (`.sqlog`).
 * - `gzip`: gzip, with `node:zlib`.
 * - `zstd`: Zstandard, with `node:zlib`; needs a Node.js whose `zlib` has Zstandard
 *   (22.15 or later), and is refused as a setting otherwise.
 */
export type QlogCompression = 'none' | 'gzip' | 'zstd';

/** Every {@link QlogCompression}. */
export const QLOG_COMPRESSIONS: readonly QlogCompression[] = Object.freeze(['none', 'gzip', 'zstd'] as const);
