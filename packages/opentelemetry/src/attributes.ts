import type { Attributes } from '@opentelemetry/api';

/*
 * Names of the OpenTelemetry semantic conventions for RPC (v1.45.0, where
 * RPC became stable), and how zrpc fills them.
 */

/** `rpc.system.name`: zerorpc is not one of the well-known values, which the conventions allow. */
export const RPC_SYSTEM = 'zerorpc';

export const ATTR_RPC_SYSTEM_NAME = 'rpc.system.name';
export const ATTR_RPC_METHOD = 'rpc.method';
export const ATTR_RPC_STATUS_CODE = 'rpc.status_code';
export const ATTR_ERROR_TYPE = 'error.type';
export const ATTR_SERVER_ADDRESS = 'server.address';
export const ATTR_SERVER_PORT = 'server.port';
/** zrpc's own: the caller's ZeroMQ routing id (hex), what the server knows of its peer. */
export const ATTR_ZERORPC_PEER = 'zerorpc.peer';
/** zrpc's own: whether the method streams. */
export const ATTR_ZERORPC_STREAM = 'zerorpc.stream';

/**
 * `rpc.method`, which is also the span name: `service/method` when the
 * service is named (the conventions' fully-qualified form, as
 * `EchoService/Echo`), else the method alone.
 */
export function rpcMethod(method: string, service: string | undefined): string {
  return service === undefined ? method : `${service}/${method}`;
}

/** A server span's attributes, known when it starts (samplers read them). */
export function serverAttributes(
  method: string,
  peer: string,
  stream: boolean,
  extra: Attributes,
): Attributes {
  return {
    [ATTR_RPC_SYSTEM_NAME]: RPC_SYSTEM,
    [ATTR_RPC_METHOD]: method,
    [ATTR_ZERORPC_PEER]: peer,
    [ATTR_ZERORPC_STREAM]: stream,
    ...extra,
  };
}

/** A client span's attributes, known when it starts. */
export function clientAttributes(method: string, server: Attributes): Attributes {
  return { [ATTR_RPC_SYSTEM_NAME]: RPC_SYSTEM, [ATTR_RPC_METHOD]: method, ...server };
}

const TCP = /^tcp:\/\/(?:[^;]*;)?(?<host>\[[^\]]*\]|[^:]*):(?<port>\d+|\*)$/;

/**
 * `server.address` and `server.port` of the server group an endpoint names:
 * `tcp://billing:4242` is `billing` and 4242, `tcp://[::1]:4242` is `::1`,
 * `ipc:///run/billing.sock` is the socket's path. Nothing without an
 * endpoint: the conventions leave the attributes out when unknown.
 */
export function endpointAttributes(endpoint: string | undefined): Attributes {
  if (endpoint === undefined) return {};
  const tcp = TCP.exec(endpoint)?.groups;
  if (tcp !== undefined) {
    const host = tcp.host!.startsWith('[') ? tcp.host!.slice(1, -1) : tcp.host!;
    const port = Number(tcp.port);
    return Number.isInteger(port)
      ? { [ATTR_SERVER_ADDRESS]: host, [ATTR_SERVER_PORT]: port }
      : { [ATTR_SERVER_ADDRESS]: host };
  }
  const scheme = endpoint.indexOf('://');
  if (scheme < 1) throw new TypeError(`endpoint "${endpoint}" is not a ZeroMQ endpoint`);
  return { [ATTR_SERVER_ADDRESS]: endpoint.slice(scheme + 3) };
}
