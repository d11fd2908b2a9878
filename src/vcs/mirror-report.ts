import path from 'node:path';
import type { GitMirrorEntry } from '../report/json-report.js';
import type { DownloadTask, FailedPackage, Plan, Summary } from '../types.js';
import type { MirrorResult } from './fetch-mirrors.js';
import { stripCredentials } from './git-url.js';
import type { MirrorPlan, MirrorRef, MirrorTask } from './plan-mirrors.js';

/**
 * The source stage's outcome as every output reports it: git mirror packages as first-class
 * entries beside the archives (summary counters, `--json` packages). Pure; loaded by the CLI
 * without the git machinery of source-stage.ts.
 */

export interface SourceOutcome {
  readonly plans: readonly MirrorPlan[];
  readonly results: readonly MirrorResult[];
  readonly gitMissing: boolean;
  /** Failed packages, shaped like the archives' failures (summary, JSON, GitHub summary). */
  readonly failures: readonly FailedPackage[];
}

/** Every planned mirror once: a folder two projects share is fetched once (as `prefetchSources` does). */
export function uniqueTasks(plans: readonly MirrorPlan[]): MirrorTask[] {
  const byDir = new Map<string, MirrorTask>();
  for (const task of plans.flatMap((p) => p.tasks)) if (!byDir.has(task.dir)) byDir.set(task.dir, task);
  return [...byDir.values()];
}

/** A mirror's package as the archives' reporters know a task. */
export function mirrorDownloadTask(task: MirrorTask, ref: MirrorRef): DownloadTask {
  return {
    packageName: ref.packageName,
    version: ref.version,
    distType: 'git',
    urls: [stripCredentials(task.url)],
    cacheKey: `vcs/${path.basename(task.dir)}`,
    cachePath: task.dir,
    expectedSha1: undefined,
    dev: ref.dev,
    origins: [ref.origin],
    vcs: 'git',
  };
}

/**
 * The run's plan and summary with the git mirrors counted in, as first-class packages: a mirror
 * cloned or updated counts as downloaded, one already complete as cached, a failed one as failed
 * (exit code 1, as for archives), an interrupted one as unfinished; the bytes received are added.
 * The packages the source stage took over leave the plan's `skipped` list (their `no-dist`).
 */
export function withSources(plan: Plan, summary: Summary, outcome: SourceOutcome | undefined): { plan: Plan; summary: Summary } {
  if (outcome === undefined) return { plan, summary };
  const tasks = uniqueTasks(outcome.plans);
  const mirrored = new Set(tasks.flatMap((t) => t.refs.map((r) => `${r.packageName}\0${r.version}`)));
  const skipped = plan.skipped.filter((s) => !mirrored.has(`${s.packageName}\0${s.version}`));
  const git = { planned: 0, downloaded: 0, cached: 0, failed: 0, bytes: 0, bytesUnknown: 0 };
  for (const r of outcome.results) {
    git.planned += r.task.refs.length;
    if (r.kind === 'cached') git.cached += r.task.refs.length;
    if (r.kind === 'cloned' || r.kind === 'updated') {
      git.downloaded += r.task.refs.length - r.missing.length;
      if (r.bytes === undefined) git.bytesUnknown++;
      else git.bytes += r.bytes;
    }
  }
  const real = outcome.failures.filter((f) => f.code !== 'E_ABORTED');
  git.failed = real.length;
  const aborted = outcome.failures.length - real.length;
  return {
    plan: skipped.length === plan.skipped.length ? plan : { ...plan, skipped },
    summary: {
      ...summary,
      planned: summary.planned + git.planned,
      downloaded: summary.downloaded + git.downloaded,
      cached: summary.cached + git.cached,
      skipped: summary.skipped - (plan.skipped.length - skipped.length),
      failed: summary.failed + real.length,
      unfinished: summary.unfinished + aborted,
      bytes: summary.bytes + git.bytes,
      failures: [...summary.failures, ...real],
      ...(outcome.results.length > 0 ? { git } : {}),
    },
  };
}

/**
 * One `--json` package entry per package of each planned mirror (`buildJsonReport`): its folder,
 * what happened to it, and its error. `check` is `verify`: a mirror that lacks a commit is `missing`.
 */
export function gitMirrorEntries(outcome: SourceOutcome | undefined, mode: 'plan' | 'check' | 'fetch'): GitMirrorEntry[] {
  if (outcome === undefined) return [];
  const results = new Map(outcome.results.map((r) => [r.task.dir, r]));
  return uniqueTasks(outcome.plans).flatMap((t) => {
    const r = results.get(t.dir);
    return t.refs.map((ref, i): GitMirrorEntry => {
      const task = mirrorDownloadTask(t, ref);
      const base = { task, reference: ref.reference };
      if (r === undefined) return { ...base, status: 'planned', result: undefined, bytes: 0, bytesKnown: true, source: undefined, error: undefined };
      if (r.kind === 'cached') return { ...base, status: 'cached', result: 'cached', bytes: 0, bytesKnown: true, source: undefined, error: undefined };
      const missing = r.kind === 'failed' ? undefined : r.missing.find((m) => m.ref === ref);
      const error = r.kind === 'failed' ? r.error : missing?.error;
      if (error !== undefined) {
        const status = mode === 'check' && error.code === 'E_CACHE' ? 'missing' : 'failed';
        return {
          ...base,
          status,
          result: 'failed',
          bytes: 0,
          bytesKnown: true,
          source: undefined,
          error: { code: error.code, message: error.message, hint: error.hint },
        };
      }
      const fetched = r as Extract<MirrorResult, { kind: 'cloned' | 'updated' }>;
      // The bytes once per repository, on its first package: a sum over the entries stays right.
      const bytes = i === 0 ? (fetched.bytes ?? 0) : 0;
      return {
        ...base,
        status: 'downloaded',
        result: fetched.kind,
        bytes,
        bytesKnown: i > 0 || fetched.bytes !== undefined,
        source: task.urls[0],
        error: undefined,
      };
    });
  });
}
