import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { parse } from 'yaml';

export interface ActionStep {
  readonly name?: string;
  readonly id?: string;
  readonly shell?: string;
  readonly run?: string;
  readonly uses?: string;
  readonly if?: string;
  readonly 'working-directory'?: string;
  readonly env?: Readonly<Record<string, string>>;
}

export interface ActionDefinition {
  readonly name: string;
  readonly inputs: Readonly<Record<string, { readonly description?: string; readonly required?: boolean; readonly default?: string }>>;
  readonly outputs: Readonly<Record<string, { readonly description?: string; readonly value: string }>>;
  readonly runs: { readonly using: string; readonly steps: readonly ActionStep[] };
}

export interface StepRun {
  readonly name: string | undefined;
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ActionRun {
  readonly steps: readonly StepRun[];
  /** The action's outputs, resolved from the steps' GITHUB_OUTPUT files as GitHub does. */
  readonly outputs: Readonly<Record<string, string>>;
  /** True when every step that ran exited 0 (what fails the workflow step). */
  readonly ok: boolean;
}

export async function readAction(file: string): Promise<ActionDefinition> {
  return parse(await readFile(file, 'utf8')) as ActionDefinition;
}

/**
 * Runs a composite action's `run:` steps the way the GitHub runner does: `${{ … }}` expressions
 * substituted (github.action_path, inputs.* with their defaults, steps.<id>.outputs.*), each step a
 * `bash --noprofile --norc -eo pipefail` script with the runner's variables (GITHUB_ACTION_PATH,
 * GITHUB_OUTPUT per step, GITHUB_STEP_SUMMARY, GITHUB_WORKSPACE, RUNNER_TEMP), stopping at the
 * first failing step. An expression it does not know is an error, so the test notices new ones.
 */
export async function runCompositeAction(options: {
  readonly action: ActionDefinition;
  readonly actionPath: string;
  readonly workspace: string;
  readonly runnerTemp: string;
  readonly stepSummary: string;
  readonly inputs: Readonly<Record<string, string>>;
  readonly env: Readonly<Record<string, string>>;
}): Promise<ActionRun> {
  const { action } = options;
  if (action.runs.using !== 'composite') throw new Error(`not a composite action: ${action.runs.using}`);
  for (const name of Object.keys(options.inputs)) {
    if (!(name in action.inputs)) throw new Error(`action.yml declares no input ${name}`);
  }
  const inputs: Record<string, string> = {};
  for (const [name, spec] of Object.entries(action.inputs)) inputs[name] = options.inputs[name] ?? spec.default ?? '';
  const stepOutputs = new Map<string, Record<string, string>>();
  const evaluate = (text: string): string =>
    text.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_, expression: string) => {
      if (expression === 'github.action_path') return options.actionPath;
      let match = /^inputs\.([\w-]+)$/.exec(expression);
      if (match) {
        if (!(match[1]! in inputs)) throw new Error(`undeclared input in expression: ${expression}`);
        return inputs[match[1]!]!;
      }
      match = /^steps\.([\w-]+)\.outputs\.([\w-]+)$/.exec(expression);
      if (match) return stepOutputs.get(match[1]!)?.[match[2]!] ?? '';
      throw new Error(`expression the test runner does not know: ${expression}`);
    });

  await mkdir(options.runnerTemp, { recursive: true });
  const steps: StepRun[] = [];
  for (const [index, step] of action.runs.steps.entries()) {
    if (step.run === undefined) throw new Error(`step ${step.name ?? index}: only run steps are supported`);
    if (step.shell !== 'bash') throw new Error(`step ${step.name ?? index}: shell must be bash, is ${step.shell}`);
    const script = path.join(options.runnerTemp, `step-${index}.sh`);
    await writeFile(script, evaluate(step.run));
    const outputFile = path.join(options.runnerTemp, `output-${index}`);
    await writeFile(outputFile, '');
    const stepEnv: Record<string, string> = {};
    for (const [key, value] of Object.entries(step.env ?? {})) stepEnv[key] = evaluate(String(value));
    const cwd = path.resolve(options.workspace, evaluate(step['working-directory'] ?? '.'));
    const r = await execa('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], {
      cwd,
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
      timeout: 120_000,
      env: {
        ...options.env,
        GITHUB_ACTIONS: 'true',
        CI: 'true',
        GITHUB_ACTION_PATH: options.actionPath,
        GITHUB_WORKSPACE: options.workspace,
        GITHUB_OUTPUT: outputFile,
        GITHUB_STEP_SUMMARY: options.stepSummary,
        RUNNER_TEMP: options.runnerTemp,
        ...stepEnv,
      },
    });
    steps.push({ name: step.name, exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) });
    if (step.id !== undefined) stepOutputs.set(step.id, parseOutputFile(await readFile(outputFile, 'utf8')));
    if (r.exitCode !== 0) break;
  }
  const outputs: Record<string, string> = {};
  for (const [name, spec] of Object.entries(action.outputs)) outputs[name] = evaluate(spec.value);
  return { steps, outputs, ok: steps.every((s) => s.exitCode === 0) };
}

/** `key=value` lines (GitHub's multi-line `key<<EOF` form is not used by this project). */
function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) outputs[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return outputs;
}
