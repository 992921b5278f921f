/**
 * Headless Chromium as an HTTP/3 client (PEERS.md A.4): the command line that forces QUIC for one
 * origin and pins the server's public key, shared by the interop harness and the browser spec.
 */
import { createHash, createPublicKey } from 'node:crypto';

/** Debian's Chromium (`apt-get install chromium`). */
export const CHROMIUM = '/usr/bin/chromium';

/** The base64 SHA-256 of a certificate's public key: Chromium's `--ignore-certificate-errors-spki-list` pin. */
export function spkiPin(certPem: string): string {
  const der = createPublicKey(certPem).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64');
}

/** What {@link chromiumArgs} needs. */
export interface ChromiumRun {
  /** A fresh profile directory (the SPKI pin wants one). */
  profile: string;
  /** `host:port` to force onto QUIC (`localhost:port` for ::1: Chromium does not force an IPv6 literal). */
  origin: string;
  /** The server leaf's {@link spkiPin}. */
  pin: string;
  /** The page to load and dump. */
  url: string;
  /** Virtual milliseconds to wait once the page is idle (virtual time stands still while fetches are pending). */
  virtualTimeBudgetMs: number;
  /** More switches (e.g. `--log-net-log=…`). */
  extra?: string[];
}

/** The arguments of a headless Chromium that loads `url` over HTTP/3 and prints its DOM. */
export function chromiumArgs(run: ChromiumRun): string[] {
  return [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    `--user-data-dir=${run.profile}`,
    `--origin-to-force-quic-on=${run.origin}`,
    `--ignore-certificate-errors-spki-list=${run.pin}`,
    `--virtual-time-budget=${run.virtualTimeBudgetMs}`,
    ...(run.extra ?? []),
    '--dump-dom',
    run.url,
  ];
}
