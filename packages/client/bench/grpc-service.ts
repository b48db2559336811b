import type { ServiceDefinition } from '@grpc/grpc-js';
import { pack, unpack } from './msgpack.js';

// Messages are msgpack, like the other stacks' payloads: a generic service
// with custom (de)serializers, no .proto and no code generation.
const serialize = (value: unknown): Buffer => {
  const bytes = pack(value);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
};
const codec = {
  requestSerialize: serialize,
  requestDeserialize: unpack,
  responseSerialize: serialize,
  responseDeserialize: unpack,
};

export const benchService = {
  echo: { path: '/zrpc.bench.Bench/Echo', requestStream: false, responseStream: false, ...codec },
  count: { path: '/zrpc.bench.Bench/Count', requestStream: false, responseStream: true, ...codec },
} satisfies ServiceDefinition;
