import type { StagedFile } from '../types.js';
import { ChecksumMismatchError, CorruptArchiveError, toPrefetchError } from '../errors.js';
import type { DownloadTask } from '../types.js';
import { ArchiveValidationError, DAMAGED_BYTES, DEFAULT_VERIFY_LEVEL, type ArchiveInfo, type VerifyLevel } from './archive.js';
import { checkInProcess, type CheckArchive } from './check-pool.js';
import { sha1File } from './sha1.js';

/** A staged file that passed every check and may be committed to the cache. */
export interface VerifiedDownload {
  /** Lowercase hex sha1 of the staged bytes; undefined when the lock has no shasum to compare with. */
  readonly sha1: string | undefined;
  readonly archive: ArchiveInfo;
}

/** How archives are checked: the level (default `deep`) and where the work runs (default in-process). */
export interface VerifyOptions {
  readonly level?: VerifyLevel;
  readonly check?: CheckArchive;
}

/**
 * Checks a staged download before it may appear at a path Composer reads: sha1 against
 * `dist.shasum` when the lock has one, then the archive always (Composer trusts any file at the
 * key when the shasum is empty, `FileDownloader::download`). With a matching sha1 the bytes are the
 * ones the lock names, so the archive check stays at `structure` (no inflation); without one it
 * runs at `options.level`, `deep` by default: a same-length body with damaged bytes passes every
 * structure check and only inflating the entries finds it. Does not remove the staged file; the
 * caller does, whatever the outcome.
 *
 * @throws ChecksumMismatchError (E_CHECKSUM, retryable) when the sha1 differs.
 * @throws CorruptArchiveError (E_CORRUPT, retryable unless the same bytes always fail) when the bytes are not a usable archive.
 * @throws PrefetchError E_CACHE when the staged file cannot be read.
 */
export async function verifyDownload(task: DownloadTask, staged: StagedFile, options: VerifyOptions = {}): Promise<VerifiedDownload> {
  // Without a shasum there is nothing to compare a sha1 with (Composer does not hash then either):
  // hashing every byte would only cost CPU (~10 % of a loopback run, bench/RESULTS.md).
  let sha1: string | undefined;
  if (task.expectedSha1 !== undefined) {
    try {
      sha1 = (staged.sha1 ?? (await sha1File(staged.path))).toLowerCase();
    } catch (error) {
      throw readError(error, task, staged);
    }
    // Exact comparison: Composer compares case-sensitively, so an uppercase shasum fails there too.
    if (sha1 !== task.expectedSha1) {
      throw new ChecksumMismatchError({ packageName: task.packageName, url: staged.url, expected: task.expectedSha1, actual: sha1 });
    }
  }
  let archive: ArchiveInfo;
  try {
    const level = task.expectedSha1 === undefined ? (options.level ?? DEFAULT_VERIFY_LEVEL) : 'structure';
    archive = await (options.check ?? checkInProcess)(staged.path, task.distType, level);
  } catch (error) {
    if (error instanceof ArchiveValidationError) {
      // Fresh from the network: here the damage is the server's (or the path's) to answer for.
      const reason = error.reason.endsWith(DAMAGED_BYTES) ? `${error.reason.slice(0, -DAMAGED_BYTES.length)}the server sent damaged bytes` : error.reason;
      throw new CorruptArchiveError({
        packageName: task.packageName,
        url: staged.url,
        archiveType: task.distType,
        reason,
        cause: error,
        retryable: !error.deterministic,
      });
    }
    throw readError(error, task, staged);
  }
  return { sha1, archive };
}

function readError(error: unknown, task: DownloadTask, staged: StagedFile) {
  return toPrefetchError(error, 'E_CACHE', { packageName: task.packageName, url: staged.url, hint: `Could not read the staged download ${staged.path}.` });
}
