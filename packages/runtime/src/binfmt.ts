/**
 * Any architecture, many processes: the platform's qemu-user binary registered in a binfmt_misc instance of the
 * container's own (Linux ≥ 6.7 mounts one per user namespace; a child namespace sees its nearest ancestor's), with
 * the `F` flag so the kernel opens the interpreter at registration, from the host. Every exec of a foreign ELF in
 * the container then runs under qemu — shells, pipelines, package managers — with no host binfmt configuration.
 * The registration rule (magic and mask) is Debian qemu-user-static's `/usr/lib/binfmt.d/<qemu>.conf`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';

/** Whether this kernel (`uname -r`) mounts binfmt_misc per user namespace: Linux 6.7 and later. */
export function sandboxedBinfmtSupported(kernel: string = release()): boolean {
  const m = /^(\d+)\.(\d+)/.exec(kernel);
  if (!m) return false;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > 6 || (major === 6 && minor >= 7);
}

/**
 * The binfmt_misc rule for `qemu` (e.g. `qemu-aarch64`) from `dir`, its flags made `F` (fix the interpreter at
 * registration) plus the file's own `P`/`O`; where its interpreter is missing, `binary` (the qemu-user found on
 * PATH) with `F` alone (its argv[0] is then the program's path). Undefined when there is no such file or it is
 * not a magic rule.
 */
export function binfmtRule(qemu: string, binary?: string, dir = '/usr/lib/binfmt.d'): string | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, `${qemu.replace(/-static$/, '')}.conf`), 'utf8');
  } catch {
    return undefined;
  }
  const line = text.split('\n').find((l) => l.startsWith(':'));
  // :name:type:offset:magic:mask:interpreter:flags
  const f = line?.split(':');
  if (f?.length !== 8 || f[2] !== 'M' || !f[6]?.startsWith('/')) return undefined;
  if (!existsSync(f[6]!)) {
    if (!binary) return undefined;
    return [...f.slice(0, 6), binary, 'F'].join(':');
  }
  const flags = new Set<string>([...(f[7] ?? '').trim()].filter((c) => c === 'P' || c === 'O'));
  flags.add('F');
  return [...f.slice(0, 7), [...flags].sort().join('')].join(':');
}
