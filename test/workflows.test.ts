/**
 * Structural checks of .github/workflows/{ci,release}.yml and the composite actions they use: every command
 * they run exists, the release's job graph and permissions are as documented, triggers, concurrency, and every
 * third-party action pinned.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const read = (p: string) => readFileSync(join(root, p), 'utf8');

interface Step {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  name?: string;
  needs?: string | string[];
  if?: string;
  permissions?: Record<string, string> | string;
  outputs?: Record<string, string>;
  strategy?: { matrix?: Record<string, unknown>; 'fail-fast'?: boolean };
  steps?: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string> | string;
  concurrency?: { group: string; 'cancel-in-progress'?: boolean };
  jobs: Record<string, Job>;
}

const WORKFLOWS = ['ci.yml', 'release.yml'] as const;
const workflowText = Object.fromEntries(WORKFLOWS.map((f) => [f, read(`.github/workflows/${f}`)])) as Record<
  (typeof WORKFLOWS)[number],
  string
>;
const ci = parse(workflowText['ci.yml']) as Workflow;
const release = parse(workflowText['release.yml']) as Workflow;
const actionFiles = existsSync(join(root, '.github/actions'))
  ? readdirSync(join(root, '.github/actions')).map((d) => `.github/actions/${d}/action.yml`)
  : [];
const actions = actionFiles.map((f) => ({
  file: f,
  text: read(f),
  yaml: parse(read(f)) as { runs: { steps: Step[] } },
}));

const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string>; packageManager: string };

/** Every step, labelled with where it is. */
function allSteps(): { where: string; step: Step }[] {
  const out: { where: string; step: Step }[] = [];
  for (const [file, wf] of [
    ['ci.yml', ci],
    ['release.yml', release],
  ] as const) {
    for (const [id, job] of Object.entries(wf.jobs)) {
      for (const step of job.steps ?? []) out.push({ where: `${file} ${id}`, step });
    }
  }
  for (const a of actions) for (const step of a.yaml.runs.steps) out.push({ where: a.file, step });
  return out;
}

const runs = () =>
  allSteps().filter((s) => s.step.run !== undefined) as { where: string; step: Step & { run: string } }[];

/** Split a `run:` script into simple commands (on newlines, &&, ||, ;, |), each as words. */
function commands(script: string): string[][] {
  return script
    .replace(/\\\n/g, ' ')
    .split(/\n|&&|\|\||;|\|/)
    .map((c) => c.replace(/>>?\s*\S+/g, '').trim())
    .filter(Boolean)
    .map((c) => (c.match(/"[^"]*"|'[^']*'|\S+/g) ?? []).map((w) => w.replace(/^["']|["']$/g, '')))
    .map((words) => {
      let i = 0;
      while (i < words.length && (/^[A-Z_][A-Z0-9_]*=/.test(words[i]!) || words[i] === 'sudo')) i++;
      return words.slice(i);
    })
    .filter((w) => w.length > 0);
}

const PNPM_BUILTINS = new Set(['install', 'i', 'exec', 'store']);

/** The pnpm script a `pnpm …` command runs (after global flags), or undefined for pnpm's own commands. */
function pnpmScript(words: string[]): string | undefined {
  const rest = words.slice(1).filter((w) => !w.startsWith('-'));
  const name = rest[0] === 'run' ? rest[1] : rest[0];
  return name && !PNPM_BUILTINS.has(name) ? name : undefined;
}

/** Files a package.json script runs (`tsx f`, `node f`, `bash f`). */
function scriptFiles(command: string): string[] {
  return [...command.matchAll(/\b(?:tsx|node|bash)\s+([\w./-]+\.(?:ts|js|sh))/g)].map((m) => m[1]!);
}

/** The README's Quick start code block, line by line. */
function quickStart(): string[] {
  const readme = read('README.md');
  const section = readme.split(/^## /m).find((s) => s.startsWith('Quick start'));
  const block = section?.match(/```sh\n([\s\S]*?)```/)?.[1];
  if (!block) throw new Error('README.md has no ```sh block under "## Quick start"');
  return block.split('\n').filter((l) => l.trim());
}

/** A GitHub Actions expression, `${{ … }}`, as it appears in a workflow. */
const expr = (inner: string) => '$' + `{{ ${inner} }}`;

/** The step that lifts Ubuntu 24.04's AppArmor restriction on unprivileged user namespaces. */
const USERNS = 'sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0';

const needsOf = (job: Job) => (typeof job.needs === 'string' ? [job.needs] : (job.needs ?? []));

describe('workflows: commands', () => {
  it('parse, with jobs and steps', () => {
    expect(Object.keys(ci.jobs).length).toBeGreaterThan(0);
    expect(Object.keys(release.jobs)).toEqual(
      expect.arrayContaining(['build', 'test', 'publish', 'release']),
    );
    expect(runs().length).toBeGreaterThan(5);
  });

  it('every `pnpm <script>` they call is a root package.json script, and its files exist', () => {
    const seen = new Set<string>();
    for (const { where, step } of runs()) {
      for (const words of commands(step.run)) {
        if (words[0] !== 'pnpm') continue;
        const name = pnpmScript(words);
        if (!name) continue;
        seen.add(name);
        expect(
          pkg.scripts[name],
          `${where}: \`${words.join(' ')}\` — no "${name}" in package.json scripts`,
        ).toBeDefined();
        for (const f of scriptFiles(pkg.scripts[name]!)) {
          expect(existsSync(join(root, f)), `${where}: script ${name} runs ${f}, which does not exist`).toBe(
            true,
          );
        }
      }
    }
    expect([...seen]).toEqual(
      expect.arrayContaining(['build:images', 'test:setup', 'test', 'lint', 'typecheck', 'publish:images']),
    );
  });

  it('every node/tsx/bash file they run exists', () => {
    for (const { where, step } of runs()) {
      for (const words of commands(step.run)) {
        if (!['node', 'tsx', 'bash'].includes(words[0]!)) continue;
        const file = words.slice(1).find((w) => !w.startsWith('-'));
        expect(file && existsSync(join(root, file)), `${where}: ${words.join(' ')}`).toBe(true);
      }
    }
  });

  it('every package script a workflow relies on has its file on disk', () => {
    for (const [name, command] of Object.entries(pkg.scripts)) {
      for (const f of scriptFiles(command)) expect(existsSync(join(root, f)), `${name}: ${f}`).toBe(true);
    }
  });

  it('local actions exist', () => {
    for (const { where, step } of allSteps()) {
      if (!step.uses?.startsWith('./')) continue;
      expect(existsSync(join(root, step.uses, 'action.yml')), `${where}: ${step.uses}`).toBe(true);
    }
  });

  it('install pnpm at the version package.json pins', () => {
    const pinned = pkg.packageManager.replace(/^pnpm@/, '');
    const texts = [...Object.values(workflowText), ...actions.map((a) => a.text)].join('\n');
    const versions = [...texts.matchAll(/pnpm@([\w.-]+)/g)].map((m) => m[1]);
    expect(versions.length).toBeGreaterThan(0);
    expect(new Set(versions)).toEqual(new Set([pinned]));
  });

  it("CI runs the README's two Quick start commands verbatim", () => {
    const [line1, line2] = quickStart();
    const ciRuns = Object.values(ci.jobs).flatMap((j) =>
      (j.steps ?? []).flatMap((s) => (s.run ?? '').split('\n')),
    );
    expect(ciRuns.map((l) => l.trim())).toContain(line1!.trim());
    expect(ciRuns.map((l) => l.trim())).toContain(line2!.trim());
    // In order, in one job.
    const job = Object.values(ci.jobs).find((j) =>
      (j.steps ?? []).some((s) => s.run?.trim() === line1!.trim()),
    )!;
    const order = (job.steps ?? []).map((s) => s.run?.trim());
    expect(order.indexOf(line1!.trim())).toBeLessThan(order.indexOf(line2!.trim()));
  });

  it('CI lints and typechecks in a job of its own', () => {
    const job = Object.values(ci.jobs).find((j) => (j.steps ?? []).some((s) => s.run === 'pnpm lint'));
    expect(job).toBeDefined();
    expect(job!.steps!.map((s) => s.run)).toContain('pnpm typecheck');
    expect(job!.steps!.some((s) => s.run?.includes('pnpm test'))).toBe(false);
  });

  it('workflow expressions never go straight into a shell (they pass through env)', () => {
    for (const { where, step } of runs()) {
      expect(step.run, `${where}: ${step.run}`).not.toMatch(/\$\{\{/);
    }
  });
});

describe('workflows: triggers and concurrency', () => {
  it('CI runs on push and pull_request, one run per ref, cancelling older ones', () => {
    expect(Object.keys(ci.on)).toEqual(expect.arrayContaining(['push', 'pull_request']));
    expect(ci.concurrency?.group).toMatch(/github\.ref/);
    expect(ci.concurrency?.['cancel-in-progress']).toBe(true);
  });

  it('the release runs on v* tags and by hand, one at a time per ref, never cancelled', () => {
    const push = release.on.push as { tags?: string[]; branches?: string[] };
    expect(push.tags).toEqual(['v*']);
    expect(push.branches).toBeUndefined();
    expect('workflow_dispatch' in release.on).toBe(true);
    expect(release.concurrency?.group).toMatch(/github\.ref/);
    expect(release.concurrency?.['cancel-in-progress']).toBe(false);
  });
});

describe('release: job graph', () => {
  const { build, test, publish, release: gh } = release.jobs as Record<string, Job>;

  it('builds once, uploads dist/oci and the archive, and outputs the platform matrix from release:platforms', () => {
    const runs = build!.steps!.map((s) => s.run).filter(Boolean);
    expect(runs.filter((r) => r === 'pnpm build:images')).toHaveLength(1);
    const out = build!.outputs?.platforms;
    const stepId = out?.match(/^\$\{\{\s*steps\.([\w-]+)\.outputs\.platforms\s*\}\}$/)?.[1];
    expect(stepId, `build.outputs.platforms = ${out}`).toBeDefined();
    const step = build!.steps!.find((s) => s.id === stepId);
    expect(step?.run).toMatch(/^pnpm --silent release:platforms\b/);
    const upload = build!.steps!.find((s) => s.uses?.startsWith('actions/upload-artifact@'));
    expect(String(upload?.with?.path)).toMatch(/dist\/oci\b/);
    expect(String(upload?.with?.path)).toMatch(/dist\/hello\.oci\.tar/);
  });

  it('tests each platform in a matrix that comes from the build job output', () => {
    expect(needsOf(test!)).toContain('build');
    expect(test!.strategy?.matrix?.platform).toBe(expr('fromJSON(needs.build.outputs.platforms)'));
    expect(Object.keys(test!.strategy?.matrix ?? {})).toEqual(['platform']);
    expect(test!.strategy?.['fail-fast']).toBe(false);
    const name = build!.steps!.find((s) => s.uses?.startsWith('actions/upload-artifact@'))?.with?.name;
    const download = test!.steps!.find((s) => s.uses?.startsWith('actions/download-artifact@'));
    expect(download?.with?.name).toBe(name);
    expect(download?.with?.path).toBe('dist');
    const check = test!.steps!.find((s) => s.run?.includes('release:check-platform'));
    expect(check?.run).toBe('pnpm release:check-platform "$PLATFORM"');
    expect(check?.env?.PLATFORM).toBe(expr('matrix.platform'));
    expect(test!.steps!.some((s) => s.run?.includes('qemu-user-static'))).toBe(true);
  });

  it('platform tests install bubblewrap and allow user namespaces before running the image', () => {
    const steps = test!.steps!.map((s) => s.run ?? '');
    const install = steps.findIndex((r) => /apt-get install .*\bbubblewrap\b/.test(r));
    const userns = steps.indexOf(USERNS);
    const check = steps.findIndex((r) => r.includes('release:check-platform'));
    expect(install).toBeGreaterThanOrEqual(0);
    expect(userns).toBeGreaterThanOrEqual(0);
    expect(userns).toBeLessThan(check);
  });

  it('publishes only after the build and every platform test, with the tags from release:tags', () => {
    expect(needsOf(publish!)).toEqual(expect.arrayContaining(['build', 'test']));
    expect(publish!.if).toMatch(/github\.ref_type == 'tag'/);
    const runs = publish!.steps!.map((s) => s.run ?? '');
    const tags = runs.findIndex((r) =>
      /^pnpm --silent release:tags "\$REF_NAME" --repository "ghcr\.io\/\$REPOSITORY" >> "\$GITHUB_ENV"$/.test(
        r,
      ),
    );
    const push = runs.findIndex((r) => r.startsWith('pnpm publish:images'));
    expect(tags).toBeGreaterThanOrEqual(0);
    expect(push).toBeGreaterThan(tags);
    expect(publish!.steps![push]!.env?.GITHUB_TOKEN).toBe(expr('secrets.GITHUB_TOKEN'));
  });

  it('signs with the key from a repository secret (through env) before pushing, so tags move last', () => {
    const runs = publish!.steps!.map((s) => s.run ?? '');
    const sign = runs.indexOf('pnpm release:sign');
    expect(sign).toBeGreaterThanOrEqual(0);
    expect(sign).toBeLessThan(runs.findIndex((r) => r.startsWith('pnpm publish:images')));
    expect(publish!.steps![sign]!.env?.SIGNING_KEY).toBe(expr('secrets.SCRATCHPACK_SIGNING_KEY'));
  });

  it('attaches the archive and SHA256SUMS to the GitHub release after publishing', () => {
    expect(needsOf(gh!)).toEqual(expect.arrayContaining(['build', 'test', 'publish']));
    expect(gh!.if).toMatch(/github\.ref_type == 'tag'/);
    const runs = gh!.steps!.map((s) => s.run ?? '');
    expect(runs.findIndex((r) => r.startsWith('pnpm release:assets'))).toBeLessThan(
      runs.findIndex((r) => r.startsWith('pnpm release:github')),
    );
    expect(runs.findIndex((r) => r.startsWith('pnpm release:assets'))).toBeGreaterThanOrEqual(0);
  });
});

describe('workflows: permissions', () => {
  const jobsOf = (wf: Workflow) => Object.entries(wf.jobs);
  const writes = (wf: Workflow, scope: string) =>
    jobsOf(wf)
      .filter(([, j]) => typeof j.permissions === 'object' && j.permissions[scope] === 'write')
      .map(([id]) => id);

  it('are read-only at the top level of both workflows', () => {
    expect(ci.permissions).toEqual({ contents: 'read' });
    expect(release.permissions).toEqual({ contents: 'read' });
  });

  it('never use write-all / read-all shorthands', () => {
    for (const wf of [ci, release]) {
      for (const [id, j] of jobsOf(wf)) expect(typeof (j.permissions ?? {}), id).toBe('object');
    }
  });

  it('CI jobs never raise them', () => {
    for (const [id, j] of jobsOf(ci)) expect(j.permissions, id).toBeUndefined();
  });

  it('packages: write only in publish', () => {
    expect(writes(release, 'packages')).toEqual(['publish']);
    expect(release.jobs.publish!.permissions).toEqual({ contents: 'read', packages: 'write' });
  });

  it('contents: write only in the job that makes the GitHub release', () => {
    expect(writes(release, 'contents')).toEqual(['release']);
    expect(release.jobs.release!.permissions).toEqual({ contents: 'write' });
    const makesRelease = jobsOf(release)
      .filter(([, j]) => (j.steps ?? []).some((s) => /release:github|gh release/.test(s.run ?? '')))
      .map(([id]) => id);
    expect(makesRelease).toEqual(['release']);
  });

  it('no other scope is ever granted', () => {
    for (const wf of [ci, release]) {
      for (const [id, j] of jobsOf(wf)) {
        for (const scope of Object.keys((j.permissions as Record<string, string>) ?? {})) {
          expect(['contents', 'packages'], `${id}: ${scope}`).toContain(scope);
        }
      }
    }
  });
});

describe('workflows: pinned actions', () => {
  const usesLines = [
    ...Object.entries(workflowText),
    ...actions.map((a) => [a.file, a.text] as const),
  ].flatMap(([file, text]) =>
    text
      .split('\n')
      .map((line, i) => ({ file, line: i + 1, text: line }))
      .filter((l) => /^\s*(-\s+)?uses:/.test(l.text)),
  );

  it('every step that uses an action appears on a `uses:` line', () => {
    expect(usesLines.length).toBe(allSteps().filter((s) => s.step.uses).length);
  });

  it('every third-party action is pinned to a commit SHA (with its version in a comment) or a version tag', () => {
    for (const l of usesLines) {
      const m = l.text.match(/uses:\s*([^\s#]+)\s*(#\s*(\S+))?/);
      const ref = m?.[1] ?? '';
      if (ref.startsWith('./')) continue;
      const at = ref.match(/^[\w.-]+\/[\w./-]+@(.+)$/)?.[1];
      const where = `${l.file}:${l.line}: ${l.text.trim()}`;
      expect(at, where).toBeDefined();
      expect(at, where).not.toMatch(/^(main|master|HEAD|latest|dev|develop)$/);
      if (/^[0-9a-f]{40}$/.test(at!))
        expect(m?.[3], `${where} — say which version the SHA is`).toMatch(/^v\d+(\.\d+){0,2}$/);
      else expect(at, where).toMatch(/^v\d+(\.\d+){0,2}$/);
    }
  });

  it('the same action is pinned to the same commit everywhere', () => {
    const pins = new Map<string, Set<string>>();
    for (const l of usesLines) {
      const ref = l.text.match(/uses:\s*([^\s#]+)/)?.[1] ?? '';
      if (ref.startsWith('./')) continue;
      const [name, at] = ref.split('@') as [string, string];
      pins.set(name, (pins.get(name) ?? new Set()).add(at));
    }
    for (const [name, ats] of pins) expect(ats.size, name).toBe(1);
  });
});

describe('user namespaces for the sandbox (Ubuntu 24.04 restricts them through AppArmor)', () => {
  it('CI allows them before the tests run', () => {
    const job = Object.values(ci.jobs).find((j) =>
      (j.steps ?? []).some((s) => s.run?.includes('pnpm test')),
    )!;
    const steps = (job.steps ?? []).map((s) => s.run ?? '');
    const userns = steps.indexOf(USERNS);
    expect(userns).toBeGreaterThanOrEqual(0);
    expect(userns).toBeLessThan(steps.findIndex((r) => r.includes('pnpm test')));
  });

  it('test:setup installs bubblewrap and the Debian bootstrap tools', () => {
    const setup = read('scripts/test-setup.sh');
    for (const p of ['bubblewrap', 'mmdebstrap', 'debootstrap'])
      expect(setup).toMatch(new RegExp(`\\b${p}\\b`));
  });
});

describe('README', () => {
  it('documents releasing: the tag to push, the dry run, the published tags and GHCR permissions', () => {
    const readme = read('README.md');
    const section = readme.split(/^## /m).find((s) => s.startsWith('Releasing'));
    expect(section).toBeDefined();
    expect(section).toContain('git tag v1.2.3 && git push origin v1.2.3');
    expect(section).toContain('pnpm release:dry-run');
    expect(section).toContain('packages: write');
    expect(section).toMatch(/`latest`/);
  });
});
