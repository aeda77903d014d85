/**
 * Compile httpd for every platform and pack it into one multi-arch image in one step, with
 * `scratchpack build --c-source` (the CLI compiles with zig, checks each binary is a static ELF for its
 * platform, then packs this Dockerfile): the OCI layout dist/httpd/oci (tags `latest` and the package
 * version) and the OCI archive dist/httpd/httpd.oci.tar at the repository root.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const repo = join(root, '..', '..');
const out = join(repo, 'dist', 'httpd');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
const env = process.env;

const annotations: Record<string, string> = {
  'org.opencontainers.image.title': 'httpd',
  'org.opencontainers.image.description':
    'A tiny static HTTP server (C, musl) in a FROM-scratch image, built by scratchpack',
  'org.opencontainers.image.version': version,
};

// biome-ignore format: one flag per pair reads better
const args = [
  join(repo, 'apps', 'cli', 'bin', 'scratchpack.js'), 'build',
  '--c-source', 'src/httpd.c',
  '--file', 'Dockerfile',
  '--platform', env.PLATFORMS || 'all',
  '--tag', 'latest', '--tag', version,
  '--output', join(out, 'oci'),
  '--output', `type=oci,dest=${join(out, 'httpd.oci.tar')}`,
  ...Object.entries(annotations).flatMap(([k, v]) => ['--annotation', `${k}=${v}`]),
];
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
process.exitCode = r.status ?? 1;
