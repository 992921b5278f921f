import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import * as path from 'node:path';

import type { HqHandler } from './HqRequest';

/** How much of a file each chunk holds. 64 KiB. */
const CHUNK_BYTES = 64 * 1024;

/**
 * A handler that serves the files under `root`, read as the stream has room (a file is never
 * loaded whole).
 *
 * The path's query and fragment are ignored and its segments percent-decoded. It answers
 * `null` (HQ_NOT_FOUND) for anything that is not a regular file inside `root`: a missing file, a
 * directory, and any path that would leave `root`, whether by `..`, an encoded separator, or a
 * symbolic link pointing outside (the file's real path must be under `root`'s real path). The
 * server refuses dot segments before any handler runs; this check holds on its own too.
 *
 * ## Example
 * ```ts
 * listen$(socket, params).pipe(serveHq(directoryHandler('/srv/www'))).subscribe();
 * ```
 *
 * @param root The directory to serve.
 * @returns A handler for {@link serveHq} or {@link ServerHqDriver}.
 */
export function directoryHandler(root: string): HqHandler {
  let realRoot: Promise<string> | null = null;
  return async (request) => {
    realRoot ??= realpath(root);
    const base = await realRoot;
    const segments: string[] = [];
    for (const raw of request.path.split(/[?#]/, 1)[0]!.split('/')) {
      if (raw === '') continue;
      let segment: string;
      try {
        segment = decodeURIComponent(raw);
      } catch {
        return null;
      }
      if (segment === '.' || segment === '..' || /[/\\\0]/.test(segment)) return null;
      segments.push(segment);
    }
    let file: string;
    try {
      file = await realpath(path.join(base, ...segments));
      if (!file.startsWith(base + path.sep) || !(await stat(file)).isFile()) return null;
    } catch {
      return null;
    }
    return createReadStream(file, { highWaterMark: CHUNK_BYTES });
  };
}
