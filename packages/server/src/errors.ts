import { LostRemoteError, ZrpcError } from '@zrpc/core';

/** Every slot is taken: `concurrency` calls run and `queueLimit` wait. */
export class ServerBusyError extends ZrpcError {
  override name = 'ServerBusyError';
}

/** One peer already holds `maxChannelsPerPeer` open channels (flood guard). */
export class TooManyChannelsError extends ZrpcError {
  override name = 'TooManyChannelsError';
}

/** The server is shutting down: it takes no new calls and cancels those outliving the grace period. */
export class ServerClosingError extends ZrpcError {
  override name = 'ServerClosingError';
}

/**
 * The server is shutting down and refused the call before running any of
 * it: a client may send it to another server, idempotent or not.
 */
export class ServerDrainingError extends ServerClosingError {
  override name = 'ServerDrainingError';
}

/**
 * A reply or stream item was refused because the bytes waiting to be sent
 * to its peer (or to all peers) would exceed the server's `sendBudget`:
 * the peer is not reading what it asked for. The call ends with it.
 */
export class SendBudgetError extends ZrpcError {
  override name = 'SendBudgetError';
}

/**
 * ZeroMQ said the caller's connection is gone (a send found no route to
 * it): its calls are lost at once, without waiting for heartbeats to lapse.
 */
export class PeerGoneError extends LostRemoteError {
  override name = 'PeerGoneError';
  constructor(peer: string, heartbeatMs: number) {
    super(heartbeatMs, `the connection of client ${peer} is gone`);
  }
}

/** A zrpc client cancelled the call (`_zpc_cancel`): what its signal fires with. */
export class CancelledByClientError extends ZrpcError {
  override name = 'CancelledByClientError';
}

/**
 * An unknown method. The name is Python's because reference clients (and
 * people used to them) recognise `NameError: <method>`.
 */
export class NameError extends Error {
  override name = 'NameError';
}
