import type { H3Header } from './H3Headers';

// Names are matched with `switch` rather than Sets: a Set lookup hashes every freshly decoded name.
// What `name !== name.toLowerCase()` finds, without making a string: toLowerCase changes only
// these in a Latin-1 string (plus µ and ÿ, whose lowercase forms are themselves).
const HAS_UPPERCASE = /[A-Z\u00c0-\u00d6\u00d8-\u00de]/;

/**
 * Checks a request's header section against RFC 9114 §4.1.2, §4.2 and §4.3.1 (and RFC 9220 for
 * extended CONNECT), which quiche leaves to the application.
 *
 * @param headers The request's first header section.
 * @returns Why the request is malformed, or `null` when it is well formed.
 */
export function validateRequestHeaders(headers: readonly H3Header[]): string | null {
  // The request pseudo-headers seen (locals rather than a Map: this runs for every request).
  let method: string | undefined;
  let scheme: string | undefined;
  let authority: string | undefined;
  let path: string | undefined;
  let protocol: string | undefined;
  let regular = false;
  let host = false;
  for (const { name, value } of headers) {
    if (name.length === 0) return 'an empty field name';
    if (HAS_UPPERCASE.test(name)) return `the field name ${JSON.stringify(name)} has uppercase letters`;
    if (name.charCodeAt(0) === 0x3a /* : */) {
      if (regular) {
        return isRequestPseudo(name) ? `the pseudo-header ${name} follows a regular field` : `the pseudo-header ${name} is not a request pseudo-header`;
      }
      switch (name) {
        case ':method':
          if (method !== undefined) return twice(name);
          method = value;
          break;
        case ':scheme':
          if (scheme !== undefined) return twice(name);
          scheme = value;
          break;
        case ':authority':
          if (authority !== undefined) return twice(name);
          authority = value;
          break;
        case ':path':
          if (path !== undefined) return twice(name);
          path = value;
          break;
        case ':protocol':
          if (protocol !== undefined) return twice(name);
          protocol = value;
          break;
        default:
          return `the pseudo-header ${name} is not a request pseudo-header`;
      }
      continue;
    }
    regular = true;
    switch (name) {
      case 'host':
        host = true;
        break;
      // RFC 9114 §4.2: connection-specific fields are malformed in HTTP/3.
      case 'connection':
      case 'keep-alive':
      case 'proxy-connection':
      case 'transfer-encoding':
      case 'upgrade':
        return `the connection-specific field ${name} is not allowed in HTTP/3`;
      case 'te':
        if (value.toLowerCase() !== 'trailers') return 'te must be "trailers" in HTTP/3';
    }
  }
  if (method === undefined || method === '') return 'the request has no :method';
  if (method === 'CONNECT' && protocol === undefined) {
    // A classic CONNECT names only its target (RFC 9114 §4.4).
    if (!authority) return 'a CONNECT request has no :authority';
    if (scheme !== undefined || path !== undefined) return 'a CONNECT request carries :scheme or :path';
    return null;
  }
  if (protocol !== undefined && method !== 'CONNECT') return ':protocol is only for CONNECT (RFC 9220)';
  if (!scheme) return 'the request has no :scheme';
  if (path === undefined || path === '') return 'the request has no :path';
  if ((scheme === 'https' || scheme === 'http') && !authority && !host) {
    return 'an http(s) request has neither :authority nor host';
  }
  return null;
}

function isRequestPseudo(name: string): boolean {
  return name === ':method' || name === ':scheme' || name === ':authority' || name === ':path' || name === ':protocol';
}

function twice(name: string): string {
  return `the pseudo-header ${name} appears twice`;
}
