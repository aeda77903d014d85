/**
 * `scratchpack login HOST -u NAME --password-stdin` / `scratchpack logout HOST`: credentials in Docker's
 * config.json (`$DOCKER_CONFIG`), which docker, podman, skopeo and crane read too. Login checks them against
 * the registry first; nothing is saved when the registry refuses them.
 */
import { parseReference } from '@scratchpack/registry';
import { login, logout } from '@scratchpack/transport';
import type { Command } from 'commander';
import { UsageError } from '../errors.ts';
import { addRegistryFlags, clientOptions, type RegistryFlags } from '../registry-options.ts';
import { say } from '../safe-text.ts';

/** `HOST[:PORT]`, also accepted as a reference or URL (`https://ghcr.io`, `ghcr.io/me/app`). */
function registryHost(input: string): string {
  const bare = input.replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '');
  if (!bare)
    throw new UsageError('name the registry', 'e.g. scratchpack login ghcr.io -u NAME --password-stdin');
  return parseReference(bare.includes('/') ? bare : `${bare}/x`).registry;
}

export function loginCommand(program: Command): void {
  const cmd = program
    .command('login')
    .description(
      "check credentials against a registry and save them in Docker's config.json ($DOCKER_CONFIG)",
    )
    .argument('<registry>', 'host[:port], e.g. ghcr.io or 127.0.0.1:5000');
  addRegistryFlags(cmd).action(async (host: string, opts: RegistryFlags) => {
    if (!opts.username)
      throw new UsageError(
        'login needs --username',
        `e.g. echo "$TOKEN" | scratchpack login ${host} -u NAME --password-stdin`,
      );
    if (!opts.passwordStdin)
      throw new UsageError(
        'login reads the password from standard input only',
        `e.g. echo "$TOKEN" | scratchpack login ${host} -u ${opts.username} --password-stdin`,
      );
    const client = await clientOptions(opts);
    const registry = registryHost(host);
    const { configPath } = await login(registry, client.username!, client.password!, {
      ...client,
      credential: null,
    });
    say(`login succeeded: credentials for ${registry} saved in ${configPath}`);
  });
  program
    .command('logout')
    .description("remove a registry's credentials from Docker's config.json")
    .argument('<registry>', 'host[:port]')
    .action(async (host: string) => {
      const registry = registryHost(host);
      if (await logout(registry)) say(`removed the credentials for ${registry}`);
      else say(`no credentials for ${registry} were saved`);
    });
}
