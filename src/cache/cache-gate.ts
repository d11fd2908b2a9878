import { redactUrl } from '../net/redact-url.js';
import type { FetchContext } from '../types.js';
import { verifyPackageIdentity } from '../verify/package-identity.js';
import type { VerifyOptions } from '../verify/verify-download.js';
import { acceptIntoCache } from './commit.js';
import { removeQuietly } from './temp-files.js';

/**
 * The one gate into Composer's cache, shared by every backend (`FetchContext.accept`): bytes from
 * a `--mirror` URL must name the package when the lock has no sha1, then every file is verified
 * and committed by `acceptIntoCache`. The staged file is gone afterwards, accepted or not.
 */
export function createCacheGate(options: VerifyOptions): FetchContext['accept'] {
  return async (task, staged, from) => {
    if (task.expectedSha1 === undefined && task.mirrorUrls?.includes(from)) {
      try {
        await verifyPackageIdentity(staged.path, task.packageName, redactUrl(from));
      } catch (error) {
        await removeQuietly(staged.path);
        throw error;
      }
    }
    await acceptIntoCache(task, staged, options);
  };
}
