import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { type SpanView, view } from './span-view.js';

/** A span as a child process writes it: what the tests compare, and its duration. */
export type FileSpan = SpanView & { durationMs: number };

/**
 * An exporter for a server run in a child process: each span as one JSON
 * line appended to `file` as it ends, for the test process to read.
 */
export class FileSpanExporter implements SpanExporter {
  constructor(private readonly file: string) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    for (const span of spans) {
      const line: FileSpan = {
        ...view(span),
        durationMs: span.duration[0] * 1000 + span.duration[1] / 1e6,
      };
      appendFileSync(this.file, `${JSON.stringify(line)}\n`);
    }
    done({ code: ExportResultCode.SUCCESS });
  }

  async shutdown(): Promise<void> {}
}

/**
 * The spans in `file` that match `where`, once there are `count` of them
 * (a child writes each as it ends). Bounded: a hang guard, not a speed bound.
 */
export async function spansInFile(
  file: string,
  where: (span: FileSpan) => boolean,
  count = 1,
): Promise<FileSpan[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    const spans = text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as FileSpan)
      .filter(where);
    if (spans.length >= count || Date.now() > deadline) return spans;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
