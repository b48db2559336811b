/**
 * Whether an error means the database connection broke (the server
 * restarted, the backend was terminated, the network dropped it) rather than
 * the query failing. Such a client is replaced; the query itself may be fine.
 */

/** Prisma codes of connection failures: unreachable, timed out, closed by the server. */
const PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017']);

/** Driver adapter error kinds (`meta.driverAdapterError.cause.kind`) that mean the same. */
const ADAPTER_KINDS = new Set(['ConnectionClosed', 'SocketTimeout', 'DatabaseNotReachable']);

/**
 * PostgreSQL SQLSTATEs: class 08 (connection exception), 57P01-57P03
 * (terminated by an administrator, crash, server starting or stopping).
 */
const SQLSTATE = /^(08...|57P0[1-3])$/;

/** Socket errors of Node.js. */
const SOCKET_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTCONN',
]);

/** node-postgres's messages for a connection that ended under a query. */
const DRIVER_MESSAGES = [
  'Connection terminated',
  'Client has encountered a connection error',
  'Client was closed and is not queryable',
];

/** Does `error` (or an error in its cause chain) say the connection broke? */
export function isConnectionError(error: unknown): boolean {
  for (let depth = 0; depth < 5 && error !== null && typeof error === 'object'; depth++) {
    if (error instanceof ConnectionCheckError) return true;
    const { code, meta, message } = error as {
      code?: unknown;
      meta?: {
        driverAdapterError?: { cause?: { kind?: unknown; originalCode?: unknown; code?: unknown } };
      };
      message?: unknown;
    };
    if (
      typeof code === 'string' &&
      (PRISMA_CODES.has(code) || SOCKET_CODES.has(code) || SQLSTATE.test(code))
    ) {
      return true;
    }
    const cause = meta?.driverAdapterError?.cause;
    if (cause !== undefined) {
      if (typeof cause.kind === 'string' && ADAPTER_KINDS.has(cause.kind)) return true;
      for (const sqlstate of [cause.originalCode, cause.code]) {
        if (typeof sqlstate === 'string' && SQLSTATE.test(sqlstate)) return true;
      }
    }
    if (typeof message === 'string' && DRIVER_MESSAGES.some((text) => message.startsWith(text))) {
      return true;
    }
    error = (error as { cause?: unknown }).cause;
  }
  return false;
}

/** The health check found the connection dead (or it did not answer in time). */
export class ConnectionCheckError extends Error {
  override name = 'OperationalError';
}
