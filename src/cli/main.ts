import { EXIT } from './exit-codes.js';
import { versionLine } from './version.js';

/**
 * The process entry (bin/composer-prefetch.js imports it after its Node version gate). `run`
 * settles on every path; should a bug leave it pending with nothing left to run, Node would exit
 * 13 without a word, and a throw would end in a bare stack: both say what happened and exit 1.
 */
let settled = false;
process.once('beforeExit', () => {
  if (settled) return;
  process.stderr.write('composer-prefetch: internal error: the run stopped before it finished (please report this)\n');
  process.exitCode = EXIT.internal;
});
try {
  const argv = process.argv.slice(2);
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    // Answered before the CLI (commander, undici, the reporters: ~70 modules) is loaded; the same
    // line commander prints for it.
    process.stdout.on('error', () => {}); // a reader gone (EPIPE) ends the output, as in run()
    process.stdout.write(`${versionLine()}\n`);
    process.exitCode = EXIT.ok;
  } else {
    const { runProcess } = await import('./run.js');
    process.exitCode = await runProcess(argv);
  }
} catch (error) {
  process.stderr.write(`composer-prefetch: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = EXIT.internal;
} finally {
  settled = true;
}
