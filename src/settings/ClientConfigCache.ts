import { statSync } from 'node:fs';

import type { napi } from '../native/binding';
import type { ConnectionParams } from './ConnectionParams';
import { buildNativeConfig, NODE_ROOTS, toNativeConfigOptions } from './toNativeConfig';

/** How many client configurations the shared cache keeps. */
const DEFAULT_CAPACITY = 32;

/**
 * The native configurations of client connections, kept by what they contain, so connections with
 * the same settings share one.
 *
 * <span class="informal">Building a configuration makes a TLS context and parses every trusted
 * CA: with Node's ~140 root certificates that is ~10 ms of CPU, which every `connect$` paid
 * before. A quiche configuration serves any number of connections.</span>
 *
 * The key is the native options after the connection hook ran (so a hook that answers differently
 * gets a different configuration), with Node's roots by identity, and, for each certificate, key
 * or CA file, its size and modification time: a rotated file is read again. The least recently
 * used configuration goes first when the cache is full. Failures are not cached: the same
 * parameters fail again at the next call, with the same typed error.
 */
export class ClientConfigCache {
  private readonly entries = new Map<string, napi.Config>();

  /** @param capacity How many configurations to keep. Defaults to 32. */
  constructor(private readonly capacity = DEFAULT_CAPACITY) {}

  /**
   * The native client configuration for `params`, built on a miss.
   *
   * @throws What `createNativeConfig` throws.
   */
  get(params: ConnectionParams): napi.Config {
    const options = toNativeConfigOptions(params, 'client');
    const key = cacheKey(options);
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      // Map keeps insertion order: re-inserting makes this the most recently used.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const config = buildNativeConfig(options);
    this.entries.set(key, config);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
    return config;
  }

  /** How many configurations are kept. */
  get size(): number {
    return this.entries.size;
  }
}

function cacheKey(options: napi.ConfigOptions): string {
  const files = [options.certChainFile, options.privateKeyFile, options.caFile].map(fileStamp);
  return JSON.stringify([files, options], (k, v: unknown) => (k === 'ca' && v === NODE_ROOTS ? '<node roots>' : v));
}

/** A file's identity for the key: its path, size and modification time (or that it is missing). */
function fileStamp(path: string | undefined): string | null {
  if (path === undefined) return null;
  try {
    const st = statSync(path);
    return `${path}:${st.size}:${st.mtimeMs}`;
  } catch {
    // Building will fail with CertificateFile; a missing file is never cached.
    return `${path}:missing`;
  }
}

/** The cache every client connection uses. */
export const clientConfigs = new ClientConfigCache();
