/**
 * A real browser as the HTTP/3 client: Debian's Chromium, headless, forced onto QUIC for our
 * origin and pinned to our leaf's public key (PEERS.md A.4). The page reports the protocol the
 * navigation used from inside the browser, so `h3` in the dumped DOM proves the page came over
 * HTTP/3 from `serveHttp3`.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { CHROMIUM, chromiumArgs, spkiPin } from '../../interop/chromium';
import type { H3Request } from '../../src/http3/H3Request';
import { h3Certificates, startH3Server } from '../helpers/h3Loopback';

const PAGE = `<!doctype html>
<html><head><title>rxjs-quiche</title></head>
<body><p id="content">served by rxjs-quiche</p><p id="protocol">pending</p>
<script>
document.getElementById('protocol').textContent =
  'protocol=' + performance.getEntriesByType('navigation')[0].nextHopProtocol;
</script></body></html>`;

/** Runs Chromium with `--dump-dom` (asynchronously: the server runs in this process). */
function dumpDom(port: number, pin: string, userDataDir: string): Promise<string> {
  const args = chromiumArgs({
    profile: userDataDir,
    origin: `127.0.0.1:${port}`,
    pin,
    url: `https://127.0.0.1:${port}/`,
    virtualTimeBudgetMs: 5000,
  });
  return new Promise((resolve, reject) => {
    execFile(CHROMIUM, args, { timeout: 12_000, maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`chromium failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

describe('HTTP/3 with a real browser (headless Chromium)', () => {
  it('should serve a page that Chromium loads over h3', async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: .ci/run installs it (apt-get install -y chromium); install it to run this spec`);
    }
    const requests: Array<{ method: string; path: string; ua: string | undefined }> = [];
    const server = await startH3Server((req: H3Request) => {
      requests.push({ method: req.method, path: req.path, ua: req.header('user-agent') });
      if (req.path !== '/') return { status: 404, body: 'not found' };
      return { status: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: PAGE };
    });
    const userDataDir = mkdtempSync(join(tmpdir(), 'rxjs-quiche-chromium-'));
    try {
      const dom = await dumpDom(server.port, spkiPin(h3Certificates().cert), userDataDir);
      expect(dom).toContain('served by rxjs-quiche');
      expect(dom).toContain('protocol=h3');
      expect(requests).toContainEqual(expect.objectContaining({ method: 'GET', path: '/' }));
      expect(requests.find((r) => r.path === '/')?.ua).toMatch(/HeadlessChrome/);
    } finally {
      server.close();
      rmSync(userDataDir, { recursive: true, force: true });
    }
  }, 20_000);
});
