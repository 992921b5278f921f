/* Errors */
export { QuicError, isQuicError, type QuicErrorOptions } from './errors/QuicError';
export { QuicTransportError, isQuicTransportError, type QuicTransportErrorInit } from './errors/QuicTransportError';
export { QuicStreamError, isQuicStreamError, type QuicStreamErrorCode, type QuicStreamErrorInit } from './errors/QuicStreamError';
export { HandshakeError, isHandshakeError, type HandshakeErrorCode, type HandshakeErrorOptions } from './errors/HandshakeError';
export { QuicSettingsError, isQuicSettingsError } from './errors/QuicSettingsError';
export { Http3Error, isHttp3Error, type Http3ErrorOptions } from './errors/Http3Error';
export {
  QUIC_ERROR_CODES,
  QUICHE_ERROR_NAMES,
  H3_ERROR_NAMES,
  OWN_ERROR_CODES,
  isQuicErrorCode,
  type QuicErrorCode,
  type QuicheErrorName,
  type H3ErrorName,
  type OwnErrorCode,
} from './errors/codes';
export { transportErrorName, h3ErrorName } from './errors/wireCodes';

/* Settings */
export { DEFAULT_QUIC_SETTINGS, resolveQuicSettings, resolveKeylogFile, type QuicSettings } from './settings/QuicSettings';
export { DEFAULT_HTTP3_SETTINGS, resolveHttp3Settings, toH3ConfigOptions, type Http3Settings } from './settings/Http3Settings';
export { ConnectionParams } from './settings/ConnectionParams';
export type { TlsCertificatePaths } from './settings/TlsCertificatePaths';
export type { TlsCredentials } from './settings/TlsCredentials';
export type { TrustSettings } from './settings/TrustSettings';
export type { Hooks } from './settings/Hooks';
export type { ConnectionHook, ConnectionHookContext } from './settings/ConnectionHook';
export { CONGESTION_CONTROL_ALGORITHMS, type CongestionControlAlgorithm } from './settings/CongestionControlAlgorithm';
export { QLOG_COMPRESSIONS, type QlogCompression } from './settings/QlogCompression';

/* Native */
export { napi, type QuicheConnection } from './native/binding';

/* Sockets */
export type { Incoming, SocketAddress } from './socket/Incoming';
export type { DatagramSender } from './socket/DatagramSender';
export type { QuicSocket } from './socket/QuicSocket';
export { NO_CAPABILITIES, type SocketCapabilities } from './socket/SocketCapabilities';
export { fromUdpSocket } from './socket/fromUdpSocket';
export { fromDgramSocket } from './socket/fromDgramSocket';
export { DgramSender } from './socket/DgramSender';
export { detectSocketCapabilities } from './socket/detectSocketCapabilities';
export {
  bindNativeUdpSocket,
  type ClosableQuicSocket,
  type NativeQuicSocket,
  type NativeUdpSocketOptions,
  type NativeUdpSocketStats,
} from './socket/NativeUdpSocket';
export { bindQuicSocket, type BindQuicSocketOptions } from './socket/bindQuicSocket';

/* Router */
export { listen$, listenWithCapabilities$, type ListenOptions } from './router/listen';
export { connectWithConfig$, type ConnectOptions } from './router/connectWithConfig';
export { routeByConnectionId } from './router/routeByConnectionId';
export { ConnectionMap, type ConnectionRoute } from './router/ConnectionMap';
export { ConnectionInbox } from './router/ConnectionInbox';
export { ConnectionAcceptor, type ConnectionAcceptorParams } from './router/ConnectionAcceptor';
export { AddressValidationTokens } from './router/AddressValidationTokens';
export { SimpleConnectionIdGenerator, type ConnectionIdGenerator } from './router/ConnectionIdGenerator';

/* Connection */
export { InitialQuicConnection, type PausedConnection } from './connection/InitialQuicConnection';
export type { QuicConnection } from './connection/QuicConnection';
export { IoWorker, type IoWorkerParams, type WorkerEvent, type ConnectionIdRegistry } from './connection/IoWorker';
export type { ConnectionStage } from './connection/ConnectionStage';
export type { WorkerConnection } from './connection/WorkerConnection';
export { HandshakeInfo } from './connection/HandshakeInfo';
export { executeQuicCommand, type QuicCommand } from './connection/QuicCommand';
export { GRACEFUL_SHUTDOWN, type ConnectionShutdownBehaviour } from './connection/ConnectionShutdownBehaviour';
export { readConnectionStats, type QuicConnectionStats } from './connection/QuicConnectionStats';
export { toSocketStats, type SocketStats } from './connection/SocketStats';

/* Application */
export type { ApplicationOverQuic, ConnectionResult } from './application/ApplicationOverQuic';
export { applicationOverQuic } from './application/operators/applicationOverQuic';
export { wrapQuicheConnection, type WrappedQuicheConnection } from './application/wrapQuicheConnection';

/* Metrics */
export type { Metrics, RejectedPacketReason, HandshakeFailureReason } from './metrics/Metrics';
export { DefaultMetrics } from './metrics/DefaultMetrics';
export { DIAGNOSTICS_CHANNELS } from './metrics/diagnostics';

/* HTTP/3 */
export { H3Driver, H3_GRACEFUL_SHUTDOWN, MAX_AUTONOMOUS_FLOWS, type H3DriverOptions } from './http3/H3Driver';
export { MAX_QUEUED_DATAGRAMS, type H3DatagramFlow } from './http3/H3DatagramFlow';
export { formatPriority, type H3Priority } from './http3/H3Priority';
export { ServerH3Driver } from './http3/ServerH3Driver';
export { ClientH3Driver, type ClientH3DriverOptions, type H3RequestOptions } from './http3/ClientH3Driver';
export { H3Controller } from './http3/H3Controller';
export { ServerH3Controller } from './http3/ServerH3Controller';
export { ClientH3Controller } from './http3/ClientH3Controller';
export type { H3Event, H3ShutdownReason } from './http3/H3Event';
export type { H3Command, StreamShutdown } from './http3/H3Command';
export type { H3Request } from './http3/H3Request';
export { H3StreamStats } from './http3/H3StreamStats';
export type { H3Response } from './http3/H3Response';
export type { H3ResponseInit, H3InformationalResponse } from './http3/H3ResponseInit';
export { MAX_OBSERVABLE_BODY_BACKLOG, type H3BodyInit } from './http3/OutboundBody';
export { toH3Headers, headerValue, statusHeaders, type H3Header, type H3HeadersInit } from './http3/H3Headers';
export { H3_NO_ERROR, H3_INTERNAL_ERROR, H3_REQUEST_REJECTED, H3_REQUEST_CANCELLED, H3_MESSAGE_ERROR } from './http3/h3WireCodes';
export { serveHttp3, type H3Handler, type ServeHttp3Options } from './http3/serveHttp3';
export { connect$, type ConnectHttp3Options } from './http3/connect';
export type { ClientH3Connection } from './http3/ClientH3Connection';
export type { ServerH3Connection } from './http3/ServerH3Connection';
export type { H3ConnectionLike, H3QuicheConnection, H3ConnectionFactory } from './http3/H3ConnectionLike';

/* hq-interop (HTTP/0.9 over QUIC) */
export { HqDriver } from './hq/HqDriver';
export { ServerHqDriver } from './hq/ServerHqDriver';
export { ClientHqDriver } from './hq/ClientHqDriver';
export type { HqEvent } from './hq/HqEvent';
export type { HqRequest, HqHandler, HqBodyInit, HqResponseInit } from './hq/HqRequest';
export { formatHqRequest, parseHqRequest, MAX_HQ_REQUEST_LINE } from './hq/hqRequestLine';
export { HQ_NO_ERROR, HQ_INTERNAL_ERROR, HQ_BAD_REQUEST, HQ_NOT_FOUND, HQ_REQUEST_CANCELLED } from './hq/hqWireCodes';
export { serveHq, HQ_INTEROP_ALPN } from './hq/serveHq';
export { connectHq$, type ConnectHqOptions } from './hq/connectHq';
export { directoryHandler } from './hq/directoryHandler';
export type { ClientHqConnection } from './hq/ClientHqConnection';
export type { ServerHqConnection } from './hq/ServerHqConnection';
