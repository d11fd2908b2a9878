import { EXIT } from './exit-codes.js';
import { processIo, run } from './run.js';

/**
 * The process entry (bin/composer-prefetch.js imports it after its Node version gate). `run`
 * settles on every path; should a bug leave it pending with nothing left to run, Node would exit
 * 13 without a word, and a throw would end in a bare stack: both say what happened and exit 1.
 */
let settled = false;
process.once('beforeExit', () => {
  if (settled) return;
  process.stderr.write('composer-prefetch: internal error: the run stopped before it finished (please report this)\n');
  process.exitCode = EXIT.someFailed;
});
try {
  process.exitCode = await run(process.argv.slice(2), processIo());
} catch (error) {
  process.stderr.write(`composer-prefetch: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = EXIT.someFailed;
} finally {
  settled = true;
}
