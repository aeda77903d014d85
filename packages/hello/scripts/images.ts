/**
 * Pack hello's per-platform binaries (dist/<label>/hello, from the compile task) into one multi-arch image
 * with @scratchpack/builder: the OCI layout dist/oci (tags `latest` and the package version) and the OCI
 * archive dist/hello.oci.tar at the repository root.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageImage, summary } from '@scratchpack/builder';
import { resolveZig } from '@scratchpack/toolchain';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const repo = join(root, '..', '..');
const env = process.env;

const annotations: Record<string, string> = { 'dev.scratchpack.toolchain': `zig ${resolveZig().version}` };
if (env.GITHUB_REPOSITORY) {
  annotations['org.opencontainers.image.source'] =
    `${env.GITHUB_SERVER_URL ?? 'https://github.com'}/${env.GITHUB_REPOSITORY}`;
}
const revision = env.SCRATCHPACK_REVISION ?? env.GITHUB_SHA;
if (revision) annotations['org.opencontainers.image.revision'] = revision;

const result = await packageImage({
  dir: root,
  title: 'hello',
  description: 'A static hello program in a FROM-scratch image, built by scratchpack',
  context: 'dist/{label}',
  annotations,
  imageName: env.IMAGE_NAME || 'scratchpack/hello',
  layout: join(repo, 'dist', 'oci'),
  archive: join(repo, 'dist', 'hello.oci.tar'),
  onWarning: (m) => process.stderr.write(`warning: ${m}\n`),
});
console.log(summary(result));
