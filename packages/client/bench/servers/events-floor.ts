import { Pull } from 'zeromq';
import { decodeFloorEvent } from '../floor-wire.js';
import { countEvents } from './events-count.js';
import { announce } from './ready.js';

// The floor of a puller: a bare PULL socket, stock msgpack, the handler
// found by name and called; nothing else (no checks, no context, no bounds).
const ran = countEvents();
const handlers: Record<string, (...args: unknown[]) => void> = { tick: () => ran() };
const socket = new Pull();
await socket.bind('tcp://127.0.0.1:*');
announce(socket.lastEndpoint!, () => socket.close());
for await (const frames of socket) {
  const [, name, args] = decodeFloorEvent(frames);
  handlers[name]!(...(args as unknown[]));
}
