/**
 * A scratch directory with a self-signed P-256 certificate for localhost / 127.0.0.1 (openssl, so
 * that ngtcp2's GnuTLS programs and our server read the same files) and an htdocs folder.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface Fixture {
  dir: string;
  www: string;
  cert: string;
  key: string;
  /** Removes the directory. */
  cleanup(): void;
}

export function makeFixture(prefix: string): Fixture {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `rxjs-quiche-${prefix}-`));
  const www = path.join(dir, 'www');
  fs.mkdirSync(www);
  execFileSync(
    'openssl',
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '30', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { cwd: dir, stdio: 'ignore' },
  );
  return {
    dir,
    www,
    cert: path.join(dir, 'cert.pem'),
    key: path.join(dir, 'key.pem'),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
