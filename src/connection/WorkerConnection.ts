import type { napi } from '../native/binding';

/**
 * The methods of a native connection the worker calls: a fake with these can stand in for quiche
 * in marble specs (see `rxjs-quiche/testing`).
 */
export type WorkerConnection = Pick<
  napi.Connection,
  | 'recv'
  | 'send'
  | 'timeout'
  | 'onTimeout'
  | 'isEstablished'
  | 'isInEarlyData'
  | 'isClosed'
  | 'isTimedOut'
  | 'isServer'
  | 'close'
  | 'peerError'
  | 'localError'
  | 'stats'
  | 'pathStats'
  | 'sourceId'
  | 'sourceIds'
  | 'scidsLeft'
  | 'newScid'
  | 'retiredScidNext'
  | 'retiredScids'
>;
