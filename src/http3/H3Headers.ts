/**
 * Header fields of HTTP/3 messages, and the forms users may write them in.
 *
 * Names and values cross the native boundary as Latin-1 strings (one character per octet), like
 * Node's `http` module, so any octet a peer sends survives the round trip.
 */

/** One header field: a lowercase name and its value, as Latin-1 strings. */
export interface H3Header {
  readonly name: string;
  readonly value: string;
}

/**
 * Headers as a user writes them: a list of fields (kept in order, duplicates allowed), or a record
 * (`{ ':status': 200, 'cache-control': 'no-store', 'set-cookie': ['a=1', 'b=2'] }`). Names are
 * lowercased, as HTTP/3 requires; numbers become decimal strings; `undefined` values are skipped.
 */
export type H3HeadersInit =
  | readonly H3Header[]
  | Readonly<Record<string, string | number | readonly (string | number)[] | undefined>>;

/**
 * Turns {@link H3HeadersInit} into a header list, with pseudo-header fields (`:method`, `:status`, …)
 * first, as RFC 9114 §4.3 requires.
 *
 * @param init The headers, or `undefined` for none.
 * @returns A new list.
 */
export function toH3Headers(init: H3HeadersInit | undefined): H3Header[] {
  const pseudo: H3Header[] = [];
  if (init === undefined) return pseudo;
  const regular: H3Header[] = [];
  collect(init, pseudo, regular, null);
  return regular.length === 0 ? pseudo : pseudo.concat(regular);
}

/**
 * Appends the fields of `init` to `pseudo` or `regular`, lowercased and as strings, skipping
 * `undefined` values and the field named `skip`. Loops rather than callbacks: every response
 * goes through here.
 */
function collect(init: H3HeadersInit, pseudo: H3Header[], regular: H3Header[], skip: string | null): void {
  if (Array.isArray(init)) {
    for (const h of init as readonly H3Header[]) add(h.name, h.value, pseudo, regular, skip);
    return;
  }
  const record = init as Readonly<Record<string, unknown>>;
  const names = Object.keys(record);
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const value = record[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) add(name, v as string | number, pseudo, regular, skip);
    else add(name, value as string | number, pseudo, regular, skip);
  }
}

function add(name: string, value: string | number, pseudo: H3Header[], regular: H3Header[], skip: string | null): void {
  const lower = name.toLowerCase();
  if (lower === skip) return;
  (lower.charCodeAt(0) === 0x3a /* : */ ? pseudo : regular).push({ name: lower, value: String(value) });
}

/**
 * The value of the first field called `name` (case-insensitive), or `undefined`.
 *
 * @param headers A header list.
 * @param name The field name.
 */
export function headerValue(headers: readonly H3Header[], name: string): string | undefined {
  return fieldValue(headers, name.toLowerCase());
}

/**
 * {@link headerValue} for a name already in lowercase, as the driver's own lookups are. Internal.
 *
 * @param headers A header list.
 * @param lowercaseName The field name, in lowercase.
 */
export function fieldValue(headers: readonly H3Header[], lowercaseName: string): string | undefined {
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i]!;
    if (h.name === lowercaseName) return h.value;
  }
  return undefined;
}

/**
 * Builds the header list of a response or informational response: `:status` first.
 *
 * @param status The status code (100–599).
 * @param headers The other fields.
 */
export function statusHeaders(status: number, headers: H3HeadersInit | undefined): H3Header[] {
  const list: H3Header[] = [{ name: ':status', value: String(status) }];
  if (headers === undefined) return list;
  const regular: H3Header[] = [];
  collect(headers, list, regular, ':status');
  for (const h of regular) list.push(h);
  return list;
}
