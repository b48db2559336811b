import { Decoder, Encoder } from '@msgpack/msgpack';

// The floor and grpc-js stacks encode with stock @msgpack/msgpack, one
// encoder and one decoder reused for every message (the cheapest way to
// use it), so the comparison measures transports, not codec set-up.
const encoder = new Encoder();
const decoder = new Decoder();

export const pack = (value: unknown): Uint8Array => encoder.encode(value);
export const unpack = (bytes: Uint8Array): unknown => decoder.decode(bytes);
