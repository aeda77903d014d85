/**
 * `pnpm release:dry-run` end to end, as a user runs it: build every platform, run each image under qemu-user,
 * publish a prerelease and a release to a loopback docker-registry, verify with skopeo, write SHA256SUMS and
 * the summary. Takes a few minutes on two cores when nothing is cached.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeWithTools, tempDir } from '@scratchpack/test-utils';
import { SUPPORTED_PLATFORMS } from '@scratchpack/toolchain';
import { afterAll, beforeAll, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const qemus = [...new Set(SUPPORTED_PLATFORMS.map((p) => p.qemu))];

function run(
  command: string,
  args: string[],
  timeoutMs: number,
): Promise<{ status: number | null; output: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: root,
      env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, output, ms: Date.now() - started });
    });
  });
}

describeWithTools(
  ['docker-registry', 'skopeo', ...qemus],
  'pnpm release:dry-run (real registry, qemu-user, skopeo)',
  () => {
    let out: Awaited<ReturnType<typeof tempDir>>;
    let result: Awaited<ReturnType<typeof run>>;

    beforeAll(async () => {
      out = await tempDir('release-dry-run-');
      result = await run('pnpm', ['release:dry-run', '--out', out.path], 1_500_000);
      console.log(`release dry run: exit ${result.status} after ${(result.ms / 1000).toFixed(1)} s`);
    }, 1_600_000);

    afterAll(async () => {
      await out?.cleanup();
    });

    it('exits 0', () => {
      expect(result.status, result.output.slice(-4000)).toBe(0);
      expect(result.output).toMatch(/release dry run passed in [\d.]+ s/);
    });

    it('tested every platform of the matrix under qemu-user', () => {
      for (const p of SUPPORTED_PLATFORMS) expect(result.output).toContain(`ok ${p.name} (`);
    });

    it("the registry served dist/oci's index under every derived tag, and was stopped", async () => {
      const m = result.output.match(
        /registry (127\.0\.0\.1:\d+) served index (sha256:[0-9a-f]{64}) for tags: (.+)/,
      );
      expect(m, result.output.slice(-2000)).not.toBeNull();
      const index = JSON.parse(await readFile(join(root, 'dist', 'oci', 'index.json'), 'utf8')) as {
        manifests: { digest: string; annotations?: Record<string, string> }[];
      };
      const latest = index.manifests.find(
        (d) => d.annotations?.['org.opencontainers.image.ref.name'] === 'latest',
      );
      expect(m![2]).toBe(latest?.digest);
      expect(m![3]!.split(', ')).toEqual(['v0.0.0-dryrun', 'v0.0.0', '0.0', 'latest']);
      expect(result.output).toContain('tags listed: v0.0.0-dryrun\n');
      expect(result.output).toContain(`registry on ${m![1]} stopped`);
      await expect(fetch(`http://${m![1]}/v2/`)).rejects.toThrow();
    });

    it('SHA256SUMS lists the archive with its sha256, and the summary names the index digest', async () => {
      const sums = await readFile(join(out.path, 'SHA256SUMS'), 'utf8');
      const archive = await readFile(join(root, 'dist', 'hello.oci.tar'));
      const hex = createHash('sha256').update(archive).digest('hex');
      expect(sums).toBe(`${hex}  hello.oci.tar\n`);
      const summary = await readFile(join(out.path, 'summary.md'), 'utf8');
      const digest = result.output.match(/served index (sha256:[0-9a-f]{64})/)?.[1];
      expect(summary).toContain(`Index digest: \`${digest}\``);
      for (const p of SUPPORTED_PLATFORMS) expect(summary).toContain(`| \`${p.name}\` |`);
      expect(summary).toMatch(/127\.0\.0\.1:\d+\/scratchpack\/hello:latest/);
    });
  },
);
