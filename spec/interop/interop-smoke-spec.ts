/**
 * Interop smoke test: ngtcp2's `gtlsclient` against our HTTP/3 server and our client against
 * ngtcp2's `gtlsserver`, cases `handshake` and `transfer` (2 + 3 + 5 MB, SHA-256 compared), on
 * loopback; then two cases through the impairing relay (interop/relay.ts). The full matrix
 * (aioquic too, every case) is `npm run interop`.
 *
 * The peers are real programs from Debian bookworm-backports. When they are missing this spec
 * FAILS (it does not skip): install them with `sudo interop/install.sh ngtcp2`, which `.ci/run`
 * runs before the tests.
 */
import { type CaseResult, formatMatrix, missingPeers, runInterop } from '../../interop/run';

/** '' when every result passed, else the whole matrix with the reasons (for the failure message). */
function verdict(results: CaseResult[]): string {
  return results.every((r) => r.status === 'passed') ? 'all passed' : formatMatrix(results);
}

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
    // The whole matrix in the failure message, reasons included.
    expect(verdict(results)).toBe('all passed');
    expect(results).toHaveLength(4);
  }, 30_000);

  // Through the relay: 2% bursty loss on a 10 Mbit/s, 15 ms link (2 MB), and a 750 ms one-way
  // delay that makes the client retransmit its ClientHello (checked from the relay's counters).
  it('passes transferloss and longrtt through the relay, ngtcp2 client → our server', async () => {
    expect(missingPeers(['ngtcp2'])).toEqual([]);
    const results = await runInterop({ peers: ['ngtcp2'], roles: ['server'], cases: ['transferloss', 'longrtt'], quick: true });
    expect(verdict(results)).toBe('all passed');
    expect(results.map((r) => r.testCase)).toEqual(['transferloss', 'longrtt']);
    // The relay really impaired the path: the reasons carry its counts.
    expect(results[0]!.reason).toMatch(/[1-9]\d* datagrams dropped/);
    expect(results[1]!.reason).toMatch(/[2-9] client Initials before the first server answer/);
  }, 30_000);
});
