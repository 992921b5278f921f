import { QuicError } from './QuicError';

/**
 * What a connection's Observable failed with, as a {@link QuicError}: itself when it is one, else an
 * `ApplicationError` with it as the cause. Internal; for drivers' `dispose()`.
 *
 * @param error What the Observable errored with.
 */
export function asQuicError(error: unknown): QuicError {
  return error instanceof QuicError
    ? error
    : new QuicError('ApplicationError', `the connection failed: ${(error as Error)?.message ?? String(error)}`, { cause: error });
}
