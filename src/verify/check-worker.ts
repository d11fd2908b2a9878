import { parentPort } from 'node:worker_threads';
import { ArchiveValidationError, validateArchive } from './archive.js';
import type { CheckReply, CheckRequest } from './check-pool.js';

/**
 * The thread side of `createCheckPool`: runs `validateArchive` for one request at a time and
 * answers with plain data (class instances do not survive `postMessage`).
 */
const port = parentPort;
if (port === null) throw new Error('check-worker.js must run as a worker thread');

port.on('message', (request: CheckRequest) => {
  validateArchive(request.path, request.distType, request.level, request.maxUnpackedBytes).then(
    (info) => port.postMessage({ id: request.id, kind: 'ok', info } satisfies CheckReply),
    (error: unknown) => {
      const reply: CheckReply =
        error instanceof ArchiveValidationError
          ? { id: request.id, kind: 'invalid', reason: error.reason, deterministic: error.deterministic }
          : { id: request.id, kind: 'error', message: error instanceof Error ? error.message : String(error), code: errorCode(error) };
      port.postMessage(reply);
    },
  );
});

function errorCode(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}
