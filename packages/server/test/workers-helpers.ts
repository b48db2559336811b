import type { LostRemoteError } from '@zrpc/core';
import {
  Channel,
  ChannelTimers,
  messageIdKey,
  monotonicNow,
  type ZEvent,
} from '@zrpc/core/protocol';
import type { RawClient } from './helpers.js';

/**
 * Call `name` as a zerorpc client does: heartbeats every interval, and the
 * call fails with LostRemoteError when the server's stop for two. Events
 * of other calls on the same client are skipped.
 */
export async function callWithHeartbeats(
  client: RawClient,
  name: string,
  args: unknown[],
  heartbeatMs: number,
  header: Record<string, unknown> = {},
): Promise<ZEvent> {
  const seenBefore = client.received.length;
  const id = client.request(name, args, header);
  const key = messageIdKey(id);
  let lost: LostRemoteError | undefined;
  const channel = new Channel(
    id,
    {
      emit: (event, eventArgs) => {
        if (!client.socket.closed) client.onChannel(id, event, eventArgs);
      },
      deliver: () => {},
      lost: (error) => {
        lost = error;
      },
    },
    { heartbeatMs, now: monotonicNow() },
  );
  const timer = ChannelTimers.real.start(channel);
  let seen = seenBefore;
  try {
    for (;;) {
      await client.until(() => lost !== undefined || client.received.length > seen, 30_000);
      if (lost !== undefined) throw lost;
      const { event } = client.received[seen++]!;
      if (messageIdKey(event.header.response_to) !== key) continue;
      channel.receive(event, monotonicNow());
      if (event.name !== '_zpc_hb') return event;
    }
  } finally {
    timer.stop();
    channel.close();
  }
}
