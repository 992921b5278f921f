/**
 * Interop smoke test: ngtcp2's `gtlsclient` against our HTTP/3 server and our client against
 * ngtcp2's `gtlsserver`, cases `handshake` and `transfer` (2 + 3 + 5 MB, SHA-256 compared), on
 * loopback. The full matrix (aioquic too, more cases) is `npx ts-node --transpile-only interop/run.ts`.
 *
 * The peers are real programs from Debian bookworm-backports. When they are missing this spec
 * FAILS (it does not skip): install them with `sudo interop/install.sh ngtcp2`, which `.ci/run`
 * runs before the tests.
 */
import { type CaseResult, formatMatrix, missingPeers, runInterop } from '../../interop/run';

describe('interop smoke (ngtcp2 1.11, both roles)', () => {
  it('finds the ngtcp2 peer programs', () => {
    const missing = missingPeers(['ngtcp2']);
    if (missing.length > 0) {
      throw new Error(
        `interop peers missing: ${missing.join(', ')}. ` +
          'Install them with `sudo interop/install.sh ngtcp2` (what .ci/run does: adds bookworm-backports, ' +
          'then `apt-get install -y -t bookworm-backports ngtcp2-client ngtcp2-server`).',
      );
    }
  });

  it('passes handshake and transfer against ngtcp2 as client and as server', async () => {
    expect(missingPeers(['ngtcp2'])).toEqual([]);
    const results: CaseResult[] = await runInterop({ peers: ['ngtcp2'], cases: ['handshake', 'transfer'] });
    const failed = results.filter((r) => !r.ok);
    // The whole matrix in the failure message, reasons included.
    expect(failed.length === 0 ? 'all passed' : formatMatrix(results)).toBe('all passed');
    expect(results).toHaveLength(4);
  }, 30_000);
});
