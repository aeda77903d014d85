/**
 * Pack hello's per-platform binaries (dist/<label>/hello, from the compile task) into one multi-arch image
 * with the scratchpack CLI: the OCI layout dist/oci (tags `latest` and the package version) and the OCI
 * archive dist/hello.oci.tar at the repository root.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveZig } from '@scratchpack/toolchain';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const repo = join(root, '..', '..');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
const env = process.env;

const annotations: Record<string, string> = {
  'org.opencontainers.image.title': 'hello',
  'org.opencontainers.image.description':
    'A static hello program in a FROM-scratch image, built by scratchpack',
  'org.opencontainers.image.version': version,
  'dev.scratchpack.toolchain': `zig ${resolveZig().version}`,
};
if (env.GITHUB_REPOSITORY) {
  annotations['org.opencontainers.image.source'] =
    `${env.GITHUB_SERVER_URL ?? 'https://github.com'}/${env.GITHUB_REPOSITORY}`;
}
const revision = env.SCRATCHPACK_REVISION ?? env.GITHUB_SHA;
if (revision) annotations['org.opencontainers.image.revision'] = revision;

const args = [
  join(repo, 'apps', 'cli', 'bin', 'scratchpack.js'),
  'build',
  'dist/{label}',
  '--file',
  'Dockerfile',
  '--platform',
  env.PLATFORMS || 'all',
  '--tag',
  'latest',
  '--tag',
  version,
  '--output',
  join(repo, 'dist', 'oci'),
  '--output',
  `type=oci,dest=${join(repo, 'dist', 'hello.oci.tar')}`,
  '--image-name',
  env.IMAGE_NAME || 'scratchpack/hello',
  ...Object.entries(annotations).flatMap(([k, v]) => ['--annotation', `${k}=${v}`]),
];
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
process.exitCode = r.status ?? 1;
