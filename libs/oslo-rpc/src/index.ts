// @berth/oslo-rpc: oslo.messaging-compatible RPC over RabbitMQ.
export { getTransport, Transport, type TransportOptions } from './transport';
export { RpcServer, type RpcServerOptions, type ServerTarget } from './server';
export {
  RpcClient,
  InvalidTarget,
  RpcVersionCapError,
  type Target,
  type CallOptions,
  type PrepareOptions,
} from './client';
export type { Endpoint, RpcHandler, RequestInfo } from './dispatcher';
export {
  MessagingError,
  MessagingTimeout,
  MessageDeliveryFailure,
  ConnectionLost,
  OsloError,
  RemoteError,
  NoSuchMethod,
  UnsupportedVersion,
  GENERIC_ERROR_MODULE,
  type OsloErrorInit,
} from './errors';
export { MessageUndeliverable } from './connection';
export { silentLogger, redactContext, type Logger } from './logger';
export type { Context } from './wire';
export { parseTransportUrl, redactUrl } from './url';
