import { loadVectors, type RecordedEvent, type Scenario, type VectorFileName } from '@zrpc/testkit';

export const VECTOR_FILES: readonly VectorFileName[] = [
  'zerorpc-python-server.json',
  'zerorpc-node-server.json',
];

const loaded = new Map(VECTOR_FILES.map((file) => [file, loadVectors(file)]));

/** Every scenario of one vector file. */
export function scenariosOf(file: VectorFileName): Scenario[] {
  return loaded.get(file)!.scenarios;
}

/** One named scenario of one vector file. */
export function scenario(file: VectorFileName, name: string): Scenario {
  const found = scenariosOf(file).find((s) => s.name === name);
  if (!found) throw new Error(`no scenario ${name} in ${file}`);
  return found;
}

/** The payload of a recorded message: its last frame. */
export function payloadOf(event: RecordedEvent): Buffer {
  return event.frames[event.frames.length - 1]!;
}

export interface RecordedFrame {
  file: VectorFileName;
  scenario: string;
  index: number;
  event: RecordedEvent;
}

/** Every recorded message of both files, labelled. */
export function allRecorded(): RecordedFrame[] {
  return VECTOR_FILES.flatMap((file) =>
    scenariosOf(file).flatMap((s) =>
      s.events.map((event, index) => ({ file, scenario: s.name, index, event })),
    ),
  );
}

/** `hex` as bytes. */
export const bytes = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, 'hex'));

/** `bytes` as hex. */
export const hex = (value: Uint8Array): string => Buffer.from(value).toString('hex');
