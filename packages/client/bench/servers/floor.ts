import { Router } from 'zeromq';
import {
  decodeFloorEvent,
  EMPTY_FRAME,
  encodeFloorEvent,
  type FloorHeader,
} from '../floor-wire.js';
import { announce } from './ready.js';

// mandatory: a peer over its high-water mark makes send() wait instead of
// dropping the message, so the stream (sent without credit) loses nothing.
const socket = new Router({ mandatory: true });
await socket.bind('tcp://127.0.0.1:*');
announce(socket.lastEndpoint!, () => socket.close());

let nextId = 0;
const replyHeader = (request: FloorHeader): FloorHeader => ({
  message_id: `${nextId++}`,
  v: 3,
  response_to: request.message_id,
});

// One message at a time, each reply sent before the next receive: the
// simplest loop there is, and one pending send at a time by construction.
for await (const frames of socket) {
  const identity = frames[0]!;
  const [header, name, args] = decodeFloorEvent(frames);
  const reply = (replyName: string, replyArgs: unknown) =>
    socket.send([
      identity,
      EMPTY_FRAME,
      encodeFloorEvent([replyHeader(header), replyName, replyArgs]),
    ]);
  const first = (args as unknown[])[0];
  if (name === 'count') {
    for (let i = 0; i < (first as number); i++) await reply('STREAM', i);
    await reply('STREAM_DONE', null);
  } else {
    await reply('OK', [first]);
  }
}
