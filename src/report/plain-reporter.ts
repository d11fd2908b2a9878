import { formatBytes } from './format.js';
import type { PrefetchEvent, Reporter } from './types.js';

export interface PlainReporterOptions {
  readonly write: (line: string) => void;
  /** Print only warnings and failures (the summary is printed by the CLI). */
  readonly quiet: boolean;
}

/** Line-based output for CI logs and pipes: no control characters, one line per fact. */
export function createPlainReporter(options: PlainReporterOptions): Reporter {
  let total = 0;
  let finished = 0;
  return {
    handle(event: PrefetchEvent) {
      switch (event.type) {
        case 'planned':
          total = event.plan.tasks.length;
          if (!options.quiet) options.write(`Prefetching ${total} archives into ${event.plan.cacheFilesDir}`);
          for (const bad of event.plan.invalid) options.write(`warning: skipping ${bad.packageName ?? 'an entry'} in ${bad.origin}: ${bad.message}`);
          break;
        case 'done':
          finished++;
          if (!options.quiet && event.result === 'downloaded') {
            options.write(`[${finished}/${total}] ${event.task.packageName} ${event.task.version} (${formatBytes(event.bytes)})`);
          }
          break;
        case 'retried':
          if (!options.quiet) options.write(`retry: ${event.task.packageName} in ${event.delayMs} ms: ${event.error.message}`);
          break;
        case 'failed':
          finished++;
          options.write(`[${finished}/${total}] failed: ${event.task.packageName} ${event.task.version}: ${event.error.message}`);
          break;
        case 'warning':
          options.write(`warning: ${event.message}`);
          break;
        default:
          break;
      }
    },
    close() {},
  };
}
