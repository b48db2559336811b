/**
 * Prisma's errors under the names a Python caller knows from Django
 * (`django.db.utils` and `Model.DoesNotExist`), so that an ERR reply reads
 * the same whichever side of the port served it.
 */

/** A database error as the caller sees it: `name` is what the ERR reply carries. */
export class DatabaseError extends Error {
  /** Prisma's error code (`P2025`...), when the error came from Prisma. */
  readonly code: string | undefined;

  constructor(name: string, message: string, options: { cause?: unknown; code?: string } = {}) {
    super(message, { cause: options.cause });
    this.name = name;
    this.code = options.code;
  }
}

/** Prisma error code to the name the caller sees. */
export type ErrorNames = Readonly<Record<string, string>>;

/**
 * The default names, by Prisma error code
 * (https://www.prisma.io/docs/orm/reference/error-reference). Codes not
 * listed keep Prisma's own error.
 */
export const DEFAULT_ERROR_NAMES: ErrorNames = {
  // A record that was required is not there (`findUniqueOrThrow`, `update`, `delete`...).
  P2001: 'DoesNotExist',
  P2015: 'DoesNotExist',
  P2018: 'DoesNotExist',
  P2025: 'DoesNotExist',
  // Constraints: unique, foreign key, check, not null, required relation.
  P2002: 'IntegrityError',
  P2003: 'IntegrityError',
  P2004: 'IntegrityError',
  P2011: 'IntegrityError',
  P2014: 'IntegrityError',
  P2017: 'IntegrityError',
  // Values the column cannot hold.
  P2000: 'DataError',
  P2005: 'DataError',
  P2006: 'DataError',
  P2007: 'DataError',
  P2019: 'DataError',
  P2020: 'DataError',
  P2023: 'DataError',
  // The query does not fit the database (a missing table or column, bad raw SQL).
  P2010: 'ProgrammingError',
  P2021: 'ProgrammingError',
  P2022: 'ProgrammingError',
  // The database, the connection or the transaction failed, not the query.
  P1000: 'OperationalError',
  P1001: 'OperationalError',
  P1002: 'OperationalError',
  P1003: 'OperationalError',
  P1008: 'OperationalError',
  P1010: 'OperationalError',
  P1011: 'OperationalError',
  P1017: 'OperationalError',
  P2024: 'OperationalError',
  P2028: 'OperationalError',
  P2034: 'OperationalError',
  P2037: 'OperationalError',
};

/** The name connection failures get when Prisma gives them no code (a bare driver error). */
export const CONNECTION_ERROR_NAME = 'OperationalError';

/** Prisma's code of an error, if it is one of Prisma's known request errors. */
export function prismaCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^P\d{4}$/.test(code) ? code : undefined;
}

/**
 * The error to report for `error`: a `DatabaseError` named from `names`
 * (the original kept as `cause`), or `error` itself when it is not mapped.
 * A broken connection is an `OperationalError` whatever Prisma's code (a
 * raw query on an unreachable server is P2010, "raw query failed").
 */
export function mapDatabaseError(
  error: unknown,
  names: ErrorNames,
  connectionLost: boolean,
): unknown {
  if (error instanceof DatabaseError) return error;
  const code = prismaCode(error);
  const name = connectionLost
    ? CONNECTION_ERROR_NAME
    : code === undefined
      ? undefined
      : names[code];
  if (name === undefined) return error;
  return new DatabaseError(name, describe(error, name), { cause: error, code });
}

/**
 * A message for the caller: Django's for a missing record of a known model
 * (`Ticket matching query does not exist.`), otherwise Prisma's own
 * explanation without the source excerpt it prepends (file paths and code
 * of the server, which are no business of the caller's).
 */
function describe(error: unknown, name: string): string {
  const model = (error as { meta?: { modelName?: unknown } }).meta?.modelName;
  if (name === 'DoesNotExist' && typeof model === 'string') {
    return `${model} matching query does not exist.`;
  }
  return explanation(error);
}

/** Prisma's message after its "Invalid `prisma.x()` invocation" header and source excerpt. */
export function explanation(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const lines = message.trim().split('\n');
  const excerptEnd = lines.findLastIndex((line) => /^\s*→\s*\d+/.test(line));
  const invocation = lines.findLastIndex((line) => /^Invalid `.*` invocation/.test(line));
  const start = Math.max(excerptEnd, invocation) + 1;
  const rest = lines.slice(start).join('\n').trim();
  return rest === '' ? message.trim() : rest;
}
