import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { brotliDecompress, gunzip, inflate } from 'node:zlib';

/** One item of an envelope: its header and its payload (JSON when it parses). */
export interface EnvelopeItem {
  header: { type: string; length?: number; [key: string]: unknown };
  payload: any;
}

export interface Envelope {
  header: Record<string, any>;
  items: EnvelopeItem[];
}

/** A span as @sentry/node 11 streams it (`span` items, v2 container). */
export interface SpanV2 {
  name: string;
  span_id: string;
  trace_id: string;
  parent_span_id?: string;
  start_timestamp: number;
  end_timestamp: number;
  is_segment: boolean;
  status: 'ok' | 'error';
  attributes: Record<string, { value: unknown; type: string }>;
}

const decoders: Record<string, (data: Buffer) => Promise<Buffer>> = {
  gzip: promisify(gunzip),
  deflate: promisify(inflate),
  br: promisify(brotliDecompress),
};

/**
 * A local HTTP endpoint standing in for Sentry's ingest: the DSN
 * `http://key@127.0.0.1:<port>/1` sends every envelope here. It answers
 * each request once it has read and decoded the body, so after
 * `Sentry.flush()` every envelope sent is in `envelopes`.
 */
export class SentryEndpoint {
  readonly envelopes: Envelope[] = [];
  /** Requests whose body could not be read as an envelope. */
  readonly errors: string[] = [];
  private constructor(private readonly http: Server) {}

  static async start(): Promise<SentryEndpoint> {
    const http = createServer();
    const endpoint = new SentryEndpoint(http);
    http.on('request', (request, response) => {
      endpoint.receive(request).then(
        () => response.writeHead(200, { 'content-type': 'application/json' }).end('{}'),
        (error: Error) => {
          endpoint.errors.push(error.message);
          response.writeHead(400).end();
        },
      );
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    return endpoint;
  }

  get dsn(): string {
    return `http://key@127.0.0.1:${(this.http.address() as AddressInfo).port}/1`;
  }

  /** Forget what was received so far. */
  clear(): void {
    this.envelopes.length = 0;
  }

  /** Every item of a type, across envelopes. */
  items(type: string): EnvelopeItem[] {
    return this.envelopes.flatMap((envelope) =>
      envelope.items.filter((i) => i.header.type === type),
    );
  }

  /** The error events received. */
  events(): any[] {
    return this.items('event').map((item) => item.payload);
  }

  /** Every span received (`span` items carry a container of spans). */
  spans(): SpanV2[] {
    return this.items('span').flatMap((item) => item.payload.items as SpanV2[]);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.http.close(() => resolve()));
  }

  private async receive(request: IncomingMessage): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    let body: Buffer = Buffer.concat(chunks);
    const encoding = request.headers['content-encoding'];
    if (encoding !== undefined && encoding !== 'identity') {
      const decode = decoders[encoding];
      if (decode === undefined) throw new Error(`unknown content-encoding ${encoding}`);
      body = await decode(body);
    }
    this.envelopes.push(parseEnvelope(body));
  }
}

/**
 * Sentry's envelope format: a JSON header line, then items, each a JSON
 * header line and a payload of `length` bytes when the header says so, or
 * up to the next newline.
 */
export function parseEnvelope(body: Buffer): Envelope {
  let at = 0;
  const line = (): Buffer => {
    const end = body.indexOf(0x0a, at);
    const slice = body.subarray(at, end === -1 ? body.length : end);
    at = end === -1 ? body.length : end + 1;
    return slice;
  };
  const header = JSON.parse(line().toString('utf8'));
  const items: EnvelopeItem[] = [];
  while (at < body.length) {
    const headerLine = line();
    if (headerLine.length === 0) continue;
    const itemHeader = JSON.parse(headerLine.toString('utf8'));
    let payload: Buffer;
    if (typeof itemHeader.length === 'number') {
      payload = body.subarray(at, at + itemHeader.length);
      at += itemHeader.length;
      if (body[at] === 0x0a) at++;
    } else payload = line();
    const text = payload.toString('utf8');
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // attachments and the like stay text
    }
    items.push({ header: itemHeader, payload: parsed });
  }
  return { header, items };
}

/** A span's attribute value. */
export function attr(span: SpanV2, key: string): unknown {
  return span.attributes[key]?.value;
}
