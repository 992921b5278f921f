import type { H3Header } from './H3Headers';

const REQUEST_PSEUDO = new Set([':method', ':scheme', ':authority', ':path', ':protocol']);
// RFC 9114 §4.2: connection-specific fields are malformed in HTTP/3.
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

/**
 * Checks a request's header section against RFC 9114 §4.1.2, §4.2 and §4.3.1 (and RFC 9220 for
 * extended CONNECT), which quiche leaves to the application.
 *
 * @param headers The request's first header section.
 * @returns Why the request is malformed, or `null` when it is well formed.
 */
export function validateRequestHeaders(headers: readonly H3Header[]): string | null {
  const seen = new Map<string, string>();
  let regular = false;
  for (const { name, value } of headers) {
    if (name.length === 0) return 'an empty field name';
    if (name !== name.toLowerCase()) return `the field name ${JSON.stringify(name)} has uppercase letters`;
    if (name.startsWith(':')) {
      if (!REQUEST_PSEUDO.has(name)) return `the pseudo-header ${name} is not a request pseudo-header`;
      if (regular) return `the pseudo-header ${name} follows a regular field`;
      if (seen.has(name)) return `the pseudo-header ${name} appears twice`;
      seen.set(name, value);
      continue;
    }
    regular = true;
    if (CONNECTION_SPECIFIC.has(name)) return `the connection-specific field ${name} is not allowed in HTTP/3`;
    if (name === 'te' && value.toLowerCase() !== 'trailers') return 'te must be "trailers" in HTTP/3';
  }
  const method = seen.get(':method');
  if (method === undefined || method === '') return 'the request has no :method';
  const protocol = seen.get(':protocol');
  if (method === 'CONNECT' && protocol === undefined) {
    // A classic CONNECT names only its target (RFC 9114 §4.4).
    if (!seen.get(':authority')) return 'a CONNECT request has no :authority';
    if (seen.has(':scheme') || seen.has(':path')) return 'a CONNECT request carries :scheme or :path';
    return null;
  }
  if (protocol !== undefined && method !== 'CONNECT') return ':protocol is only for CONNECT (RFC 9220)';
  if (!seen.get(':scheme')) return 'the request has no :scheme';
  const path = seen.get(':path');
  if (path === undefined || path === '') return 'the request has no :path';
  const scheme = seen.get(':scheme')!;
  if ((scheme === 'https' || scheme === 'http') && !seen.get(':authority') && !headers.some((h) => h.name === 'host')) {
    return 'an http(s) request has neither :authority nor host';
  }
  return null;
}
