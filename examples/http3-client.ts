/**
 * A tiny curl over HTTP/3: fetches one URL and prints the status and headers (to stderr) and the
 * body (to stdout).
 *
 * Run:
 *   npx ts-node --transpile-only examples/http3-client.ts https://localhost:4433/stream-bytes/10 --ca /tmp/rxjs-quiche-http3-server.pem
 *   npx ts-node --transpile-only examples/http3-client.ts https://localhost:4433/ --insecure
 *   npx ts-node --transpile-only examples/http3-client.ts https://localhost:4433/echo -X POST -d 'hello'
 *
 * The server's certificate is verified against Node's root certificates, or against `--ca`;
 * `--insecure` skips verification (tests only).
 */
import { createSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { concatMap, lastValueFrom, switchMap, take } from 'rxjs';

import { connect$ } from '../src';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    ca: { type: 'string' },
    insecure: { type: 'boolean', short: 'k', default: false },
    request: { type: 'string', short: 'X' },
    data: { type: 'string', short: 'd' },
    header: { type: 'string', short: 'H', multiple: true },
  },
});

async function main(): Promise<void> {
  const target = positionals[0];
  if (target === undefined) {
    console.error('usage: http3-client.ts <https-url> [--ca file | --insecure] [-X method] [-d body] [-H "name: value"]');
    process.exit(2);
  }
  const url = new URL(target);
  const port = url.port === '' ? 443 : Number(url.port);
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  const { address, family } = await lookup(hostname);
  const socket = createSocket(family === 6 ? 'udp6' : 'udp4');
  await new Promise<void>((resolve) => socket.bind(0, resolve));

  const headers: Record<string, string> = {
    ':method': args.request ?? (args.data !== undefined ? 'POST' : 'GET'),
    ':path': `${url.pathname}${url.search}`,
    ':authority': url.port === '' ? hostname : `${hostname}:${port}`,
    'user-agent': 'rxjs-quiche-example',
  };
  for (const h of args.header ?? []) {
    const i = h.indexOf(':');
    if (i > 0) headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
  }

  try {
    // Connect, send the request, print the response; take(1) then unsubscribes, which closes the
    // connection with H3_NO_ERROR.
    await lastValueFrom(
      connect$(socket, hostname, {
        peer: { address, port },
        ...(args.insecure ? { insecureSkipVerify: true } : {}),
        ...(args.ca !== undefined ? { trust: { ca: readFileSync(args.ca, 'utf8') } } : {}),
      }).pipe(
        switchMap(({ controller }) => controller.request(headers, args.data)),
        concatMap(async (response) => {
          for (const info of response.informational) console.error(`< ${info.map((h) => `${h.name}: ${h.value}`).join(', ')}`);
          for (const h of response.headers) console.error(`< ${h.name}: ${h.value}`);
          const trailers = lastValueFrom(response.trailers$, { defaultValue: [] });
          for await (const chunk of response.body) process.stdout.write(chunk);
          for (const h of await trailers) console.error(`< (trailer) ${h.name}: ${h.value}`);
        }),
        take(1),
      ),
    );
  } finally {
    // Give the CONNECTION_CLOSE a moment to leave before the socket goes.
    setTimeout(() => socket.close(), 50);
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? `${e.name}: ${e.message}` : e);
  process.exitCode = 1;
});
