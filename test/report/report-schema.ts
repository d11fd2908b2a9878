/**
 * A small structural schema for the `--json` report and the ndjson events (README, "JSON
 * output"). Extra keys are allowed (adding a field keeps the schema version); missing keys
 * and wrong types are not.
 */
export type Shape = string | readonly [Shape] | { readonly [key: string]: Shape } | ((value: unknown) => boolean);

export function check(value: unknown, shape: Shape, at = '$'): string[] {
  if (typeof shape === 'function') return shape(value) ? [] : [`${at}: rejected by predicate (${JSON.stringify(value)})`];
  if (typeof shape === 'string') {
    const ok = shape
      .split('|')
      .some((t) =>
        t === 'null'
          ? value === null
          : t === 'array'
            ? Array.isArray(value)
            : t === 'object'
              ? typeof value === 'object' && value !== null && !Array.isArray(value)
              : typeof value === t,
      );
    return ok ? [] : [`${at}: expected ${shape}, got ${JSON.stringify(value)}`];
  }
  if (Array.isArray(shape)) {
    if (!Array.isArray(value)) return [`${at}: expected an array`];
    return value.flatMap((item, i) => check(item, shape[0], `${at}[${i}]`));
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${at}: expected an object`];
  const record = value as Record<string, unknown>;
  return Object.entries(shape as Record<string, Shape>).flatMap(([key, sub]) =>
    key in record ? check(record[key], sub, `${at}.${key}`) : [`${at}.${key}: missing`],
  );
}

const oneOf =
  (...values: unknown[]) =>
  (v: unknown) =>
    values.includes(v);
const causes = {
  timeout: 'number',
  reset: 'number',
  connect: 'number',
  http4xx: 'number',
  http5xx: 'number',
  checksum: 'number',
  corrupt: 'number',
  limit: 'number',
  other: 'number',
} as const;
const error = { code: 'string', message: 'string', hint: 'string|null' } as const;

export const originShape: Shape = {
  origin: 'string',
  requests: 'number',
  downloaded: 'number',
  bytes: 'number',
  activeMs: 'number',
  bytesPerSecond: 'number',
  retries: 'number',
  failures: 'number',
  failuresByCause: causes,
};

export const summaryShape: Shape = {
  backend: 'string',
  cacheFilesDir: 'string',
  planned: 'number',
  downloaded: 'number',
  cached: 'number',
  skipped: 'number',
  invalid: 'number',
  failed: 'number',
  bytes: 'number',
  durationMs: 'number',
  interrupted: 'boolean',
  unfinished: 'number',
  failures: [{ packageName: 'string', version: 'string', url: 'string|null', ...error }],
};

export const reportShape: Shape = {
  schemaVersion: oneOf(1),
  tool: { name: oneOf('composer-prefetch'), version: 'string' },
  command: oneOf('prefetch', 'verify', 'dry-run'),
  ok: 'boolean',
  cacheFilesDir: 'string',
  packages: [
    {
      kind: oneOf('dist', 'git'),
      name: 'string',
      version: 'string',
      dev: 'boolean',
      url: 'string',
      mirrors: ['string'],
      cacheKey: 'string',
      cachePath: 'string',
      shasum: 'string|null',
      status: oneOf('planned', 'downloaded', 'cached', 'failed', 'missing', 'invalid', 'unreadable'),
      bytes: 'number',
      source: 'string|null',
      error: (v: unknown) => v === null || check(v, error).length === 0,
    },
  ],
  skipped: [{ name: 'string', version: 'string', reason: 'string', origin: 'string' }],
  invalid: [{ name: 'string|null', origin: 'string', message: 'string' }],
  warnings: ['string'],
  summary: (v: unknown) => v === null || check(v, summaryShape).length === 0,
  origins: [originShape],
  // A suggested cache-files-maxsize only when the cache is over the limit.
  cacheSize: (v: unknown) =>
    v === null ||
    (check(v, { maxsize: 'number', planBytes: 'number', cacheBytes: 'number', overLimit: 'boolean', suggestedMaxsize: 'string|null' }).length === 0 &&
      (v as { overLimit: boolean; suggestedMaxsize: string | null }).overLimit === ((v as { suggestedMaxsize: string | null }).suggestedMaxsize !== null)),
};

const pkg = { name: 'string', version: 'string', cacheKey: 'string' } as const;
const base = { schemaVersion: oneOf(1), time: (v: unknown) => typeof v === 'string' && !Number.isNaN(Date.parse(v)) } as const;

/** ndjson: one shape per event type. */
export const eventShapes: Readonly<Record<string, Shape>> = {
  planned: {
    ...base,
    cacheFilesDir: 'string',
    archives: 'number',
    skipped: 'number',
    invalid: 'number',
    packages: [{ ...pkg, dev: 'boolean', url: 'string', cachePath: 'string' }],
  },
  started: { ...base, ...pkg, url: 'string', origin: 'string', attempt: 'number' },
  progress: { ...base, ...pkg, bytes: 'number', total: 'number|null' },
  retried: { ...base, ...pkg, url: 'string', origin: 'string', attempt: 'number', delayMs: 'number', cause: 'string', error },
  done: { ...base, ...pkg, result: oneOf('downloaded', 'cached'), bytes: 'number', url: 'string|null', cachePath: 'string' },
  failed: { ...base, ...pkg, cause: 'string', error },
  warning: { ...base, message: 'string' },
  mirrors: { ...base, packages: [{ ...pkg, kind: oneOf('git'), dev: 'boolean', url: 'string', cachePath: 'string' }] },
  summary: { ...base, command: 'string', ok: 'boolean', summary: summaryShape, origins: [originShape], cacheSize: 'object|null' },
  error: { ...base, command: 'string', ok: oneOf(false), error },
};

export function checkEvent(event: unknown): string[] {
  const type = (event as { type?: unknown } | null)?.type;
  const shape = typeof type === 'string' ? eventShapes[type] : undefined;
  return shape === undefined ? [`unknown event type ${JSON.stringify(type)}`] : check(event, shape);
}

/** The fields a `kind: "git"` package entry adds (a package's bare mirror in cache-vcs-dir). */
export const gitEntryShape: Shape = {
  kind: oneOf('git'),
  reference: 'string',
  result: oneOf('cloned', 'updated', 'cached', 'failed', null),
  bytesKnown: 'boolean',
};
