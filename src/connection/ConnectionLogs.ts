import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import * as zlib from 'node:zlib';

import type { QuicheConnection } from '../native/binding';
import type { QlogCompression } from '../settings/QlogCompression';

/** How often a compressed qlog is drained from quiche into its file, in ms. */
const QLOG_DRAIN_INTERVAL = 250;

/**
 * Where a connection's qlog and TLS key log go.
 */
export interface ConnectionLogOptions {
  /** Writes `<dir>/<scid hex>.sqlog` (plus `.gz` / `.zst` when compressed), if set. */
  readonly qlogDir?: string;
  /** Defaults to `'none'`. */
  readonly qlogCompression?: QlogCompression;
  /** Appends TLS secrets here (NSS key log format), if set; the config must log keys. */
  readonly keylogFile?: string;
  /** The connection's first source ID, in hex: the qlog file's name and id. */
  readonly scidHex: string;
}

/**
 * Logs of one connection, closed when the connection ends.
 */
export interface ConnectionLogs {
  /** Writes what is left and closes the files. Idempotent. */
  close(): void;
}

/**
 * Points a connection's qlog and key log at their files: tokio-quiche's per-connection qlog
 * (`<qlog_dir>/<scid>.sqlog[.gz|.zst]`, title "rxjs-quiche qlog") and keylog.
 *
 * Uncompressed qlog is written by quiche itself, a record at a time. Compressed qlog is collected
 * in memory by quiche and drained through `node:zlib` into the file every 250 ms and at close, so
 * a connection's qlog is complete once {@link ConnectionLogs.close} has run.
 *
 * @param conn The connection, before its first packet.
 * @param options Where the logs go.
 * @returns A handle to close them when the connection ends.
 */
export function openConnectionLogs(conn: QuicheConnection, options: ConnectionLogOptions): ConnectionLogs {
  if (options.keylogFile !== undefined) conn.setKeylogFile(options.keylogFile);
  const { qlogDir, scidHex } = options;
  const compression = options.qlogCompression ?? 'none';
  if (qlogDir === undefined) return { close: () => undefined };
  const title = 'rxjs-quiche qlog';
  const description = `rxjs-quiche qlog id=${scidHex}`;
  const base = join(qlogDir, `${scidHex}.sqlog`);
  if (compression === 'none') {
    conn.setQlogFile(base, title, description);
    return { close: () => undefined };
  }

  conn.enableQlogStream(title, description);
  const compressor =
    compression === 'gzip'
      ? zlib.createGzip()
      : (zlib as unknown as { createZstdCompress(): zlib.Gzip }).createZstdCompress();
  compressor.pipe(createWriteStream(compression === 'gzip' ? `${base}.gz` : `${base}.zst`));
  const drain = (): void => {
    const chunk = conn.takeQlog();
    if (chunk) compressor.write(chunk);
  };
  const timer = setInterval(drain, QLOG_DRAIN_INTERVAL);
  timer.unref();
  let closed = false;
  return {
    close(): void {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      drain();
      compressor.end();
    },
  };
}
