/**
 * Why the runner stopped before serving. `exitCode` is what the command
 * exits with: 2 for a bad command line (like argparse), 1 for everything
 * that fails while starting (like Django's CommandError).
 */
export class RunnerError extends Error {
  override name = 'RunnerError';
  readonly exitCode: number;

  constructor(message: string, options: { cause?: unknown; exitCode?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.exitCode = options.exitCode ?? 1;
  }
}

/** The command line cannot be understood: the runner exits with code 2. */
export class UsageError extends RunnerError {
  override name = 'UsageError';
  constructor(message: string) {
    super(message, { exitCode: 2 });
  }
}

/** An app's `rpcs` module threw while being imported; `cause` is what it threw. */
export class AppImportError extends RunnerError {
  override name = 'AppImportError';
  constructor(
    readonly app: string,
    readonly file: string,
    cause: unknown,
  ) {
    super(`app "${app}": importing ${file} failed`, { cause });
  }
}

/** Two apps (or one app twice) registered the same method name. */
export class MethodConflictError extends RunnerError {
  override name = 'MethodConflictError';
  constructor(
    readonly method: string,
    readonly apps: readonly [string, string],
  ) {
    super(
      apps[0] === apps[1]
        ? `method "${method}" is registered twice by app "${apps[0]}"`
        : `method "${method}" is registered by two apps: "${apps[0]}" and "${apps[1]}"`,
    );
  }
}

/**
 * A TypeScript module (an app's `rpcs.ts`, `zrpc.config.ts`) while tsx, the
 * runner's TypeScript loader, is not installed: it is an optional peer
 * dependency, so that a compiled deployment does not carry it.
 */
export class TypeScriptUnavailableError extends RunnerError {
  override name = 'TypeScriptUnavailableError';
  constructor(readonly file: string) {
    super(
      `${file} is TypeScript, which zrpc-server runs through tsx, and tsx is not installed: ` +
        'install it (npm install --save-dev tsx), or compile to JavaScript and serve that',
    );
  }
}
