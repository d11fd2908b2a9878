import type { Dispatcher } from 'undici';
import type { ProxySettings } from '../net/dispatcher.js';
import type { Backend, BackendName, FetchContext, SettledTask, TaskResult } from '../types.js';
import { urlsToTry } from './fetch-loop.js';
import { createNativeBackend } from './native.js';
import { TransferBudget } from './transfer-budget.js';

/** What a backend is built from: the run's choice and its network, never a project's settings (those travel on each task). */
export interface BackendSetup {
  readonly backend: BackendName;
  /** `--aria2c`: the binary to run (default `aria2c` on PATH). */
  readonly aria2c: string | undefined;
  readonly dispatcher: Dispatcher;
  /** A new dispatcher with the same proxy/TLS/timeouts (for a retry on a fresh connection). */
  readonly freshDispatcher?: () => Dispatcher;
  /** The proxies and CA certificates behind `dispatcher`, for a backend that is not undici (aria2). */
  readonly network?: { readonly proxies: ProxySettings; readonly ca: readonly string[] | undefined };
}

/**
 * The single place that turns `--backend` into a Backend, and the single place that decides
 * which transport carries each task. There is exactly one native backend per run, built here
 * with the run's network (dispatcher and fresh-dispatcher factory, so every attempt, retries
 * included, keeps the proxy and CA settings); no backend builds another. aria2 is probed here,
 * so a missing binary stops the run (exit 2) before any download.
 */
export async function pickBackend(setup: BackendSetup): Promise<Backend> {
  // `--concurrency` and `--per-origin` are one budget for the run, whichever transport carries a task (sized per fetchAll).
  const budget = new TransferBudget();
  const native = createNativeBackend({
    dispatcher: setup.dispatcher,
    budget,
    ...(setup.freshDispatcher ? { freshDispatcher: () => setup.freshDispatcher!() } : {}),
  });
  switch (setup.backend) {
    case 'native':
      return sized(native, budget);
    case 'aria2': {
      // Loaded on demand: aria2.js pulls in execa (~80 ms and ~10 MB of startup for every native run).
      const { createAria2Backend } = await import('./aria2.js');
      const aria2 = await createAria2Backend({ aria2c: setup.aria2c, budget, ...(setup.network ? { network: setup.network } : {}) });
      return sized(
        routeTasks('aria2', [
          { backend: native, takes: needsPerRequestHeaders },
          { backend: aria2, takes: () => true },
        ]),
        budget,
      );
    }
  }
}

/** `backend` with the shared budget sized to the run's options before each fetch. */
function sized(backend: Backend, budget: TransferBudget): Backend {
  return {
    name: backend.name,
    fetchAll(tasks, ctx) {
      budget.size(ctx.options);
      return backend.fetchAll(tasks, ctx);
    },
    close: () => backend.close(),
  };
}

/**
 * True when any URL of the task would be sent with a header (credentials from auth.json, URL
 * userinfo, the lock's transport-options headers: all of them come from `task.policy`) or a TLS
 * client certificate (held by the run's dispatcher, which aria2 does not use). aria2 forwards request headers to every
 * redirect target (aria2/aria2#1176), so such tasks need a transport that decides headers again
 * at every hop, as Composer's `CurlDownloader::handleRedirect` does: the native one.
 */
export function needsPerRequestHeaders(task: SettledTask): boolean {
  return urlsToTry(task).some((raw) => {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return true; // Let the native backend report the bad URL exactly as it always does.
    }
    return (
      url.username !== '' || url.password !== '' || Object.keys(task.policy.headersFor(url)).length > 0 || task.policy.presentsClientCertificate?.(url) === true
    );
  });
}

/** One transport and the tasks it takes; the first route whose `takes` says yes gets the task. */
interface Route {
  readonly backend: Backend;
  readonly takes: (task: SettledTask) => boolean;
}

/** A backend that hands each task to the first route that takes it and gives the results back in task order. */
function routeTasks(name: BackendName, routes: readonly Route[]): Backend {
  return {
    name,
    async fetchAll(tasks: readonly SettledTask[], ctx: FetchContext): Promise<TaskResult[]> {
      const shares = routes.map(() => [] as SettledTask[]);
      for (const task of tasks) shares[routes.findIndex((r) => r.takes(task))]!.push(task);
      const results = await Promise.all(routes.map((r, i) => (shares[i]!.length > 0 ? r.backend.fetchAll(shares[i]!, ctx) : Promise.resolve([]))));
      const byTask = new Map(results.flat().map((r) => [r.task, r]));
      return tasks.map((t) => byTask.get(t)!);
    },
    async close() {
      await Promise.all(routes.map((r) => r.backend.close()));
    },
  };
}
