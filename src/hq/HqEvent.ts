import type { QuicError } from '../errors/QuicError';
import type { HqRequest } from './HqRequest';

/**
 * What an hq-interop server reports about its streams, on `ServerHqDriver.event$`.
 *
 * - `request`: a well-formed request, about to reach the handler.
 * - `badRequest`: a malformed request line (`error.code` is `MessageError`); the stream was reset
 *   both ways with HQ_BAD_REQUEST and no handler ran.
 * - `notFound`: the handler returned `null` / `undefined`; the stream was reset with HQ_NOT_FOUND.
 * - `responseError`: the handler threw or rejected, or the body failed; the stream was reset with
 *   HQ_INTERNAL_ERROR.
 * - `responseSent`: the whole body and the FIN were handed to quiche.
 * - `reset`: the client reset its side of the stream (RESET_STREAM) before the request was read;
 *   the response, if any, is abandoned.
 * - `stopped`: the client asked the server to stop sending (STOP_SENDING); the response is abandoned.
 */
export type HqEvent =
  | { readonly type: 'request'; readonly request: HqRequest }
  | { readonly type: 'badRequest'; readonly streamId: number; readonly error: QuicError }
  | { readonly type: 'notFound'; readonly streamId: number; readonly path: string }
  | { readonly type: 'responseError'; readonly streamId: number; readonly path: string; readonly error: unknown }
  | { readonly type: 'responseSent'; readonly streamId: number; readonly path: string; readonly bytes: number }
  | { readonly type: 'reset'; readonly streamId: number; readonly errorCode: number }
  | { readonly type: 'stopped'; readonly streamId: number; readonly errorCode: number };
