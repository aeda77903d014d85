/**
 * `pnpm release:sign`: sign the layout about to be published (dist/oci:latest, or $IMAGE_LAYOUT) with the
 * release key, then verify it, so `pnpm publish:images` pushes the signatures with the image (before any tag
 * moves). The key is the PEM in $SIGNING_KEY (the workflow passes the repository secret
 * SCRATCHPACK_SIGNING_KEY; an encrypted key's passphrase goes in $COSIGN_PASSWORD). Without a key it signs
 * nothing and says so (a GitHub notice in Actions), exiting 0: forks and repositories without the secret
 * still release, unsigned.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultLayoutRef, isMain, ReleaseError, runMain, scratchpack } from './release-common.ts';

export const SECRET_NAME = 'SCRATCHPACK_SIGNING_KEY';

export async function releaseSign(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const layout = env.IMAGE_LAYOUT ?? defaultLayoutRef;
  const pem = env.SIGNING_KEY?.trim();
  if (!pem) {
    const note = `no signing key: the repository secret ${SECRET_NAME} is not set, so ${layout} is published unsigned`;
    console.log(
      env.GITHUB_ACTIONS === 'true' ? `::notice title=Image not signed::${note}` : `notice: ${note}`,
    );
    return false;
  }
  const dir = await mkdtemp(join(tmpdir(), 'scratchpack-sign-'));
  try {
    const key = join(dir, 'key.pem');
    await writeFile(key, `${pem}\n`, { mode: 0o600 });
    await chmod(key, 0o600);
    for (const command of ['sign', 'verify']) {
      const r = scratchpack([command, layout, '--key', key]);
      if (r.status !== 0)
        throw new ReleaseError(`scratchpack ${command} ${layout} failed:\n${r.stderr.trim()}`);
      process.stdout.write(r.stdout);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return true;
}

if (isMain(import.meta.url)) runMain(async () => void (await releaseSign()));
