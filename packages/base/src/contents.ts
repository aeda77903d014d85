/**
 * The files of the static base: what the Debian packages put where a static program looks (CA bundle,
 * zoneinfo, netbase's /etc files, mime.types, copyright files, dpkg status records), and the few files no
 * package provides in a distroless image (passwd, group, nsswitch.conf, os-release, /home/nonroot, /tmp).
 * Architecture independent: the same entries for every platform.
 */
import type { LayerEntry } from '@scratchpack/oci';
import type { DebContents } from './deb.ts';
import type { Lock, LockedPackage } from './lock.ts';

export const NONROOT_UID = 65532;
export const CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

export interface UnpackedPackage {
  pkg: LockedPackage;
  deb: DebContents;
}

const MOZILLA = 'usr/share/ca-certificates/mozilla/';

/** What is kept of a package's files (the rest — scripts, changelogs, man pages — is left out). */
function kept(path: string): boolean {
  if (path.startsWith('usr/share/zoneinfo/')) return true;
  if (/^usr\/share\/doc\/[^/]+\/copyright$/.test(path)) return true;
  return /^etc\/[^/]+$/.test(path);
}

/**
 * `/etc/ssl/certs/ca-certificates.crt` as `update-ca-certificates` makes it: every
 * `/usr/share/ca-certificates/mozilla/*.crt` in byte order (the order the package's postinst writes
 * `/etc/ca-certificates.conf`), each followed by a newline when it lacks one.
 */
export function caBundle(deb: DebContents): Buffer {
  const certs = deb.data
    .filter((e) => e.type === 'file' && e.path.startsWith(MOZILLA) && e.path.endsWith('.crt'))
    .sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
  return Buffer.concat(
    certs.flatMap((c) => {
      const body = c.content!;
      return body.length && body[body.length - 1] !== 0x0a ? [body, Buffer.from('\n')] : [body];
    }),
  );
}

const PASSWD = `root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:${NONROOT_UID}:${NONROOT_UID}:nonroot:/home/nonroot:/sbin/nologin
`;
const GROUP = `root:x:0:
tty:x:5:
staff:x:50:
nogroup:x:65534:
nonroot:x:${NONROOT_UID}:
`;
const NSSWITCH = `# Static programs (musl, Go's netgo) read /etc/hosts first, then DNS.
passwd: files
group: files
shadow: files
hosts: files dns
networks: files
protocols: files
services: files
ethers: files
rpc: files
`;

function osRelease(lock: Lock): string {
  const d = lock.distribution;
  return [
    'PRETTY_NAME="scratchpack static"',
    'NAME="scratchpack static"',
    `ID=${d.id}`,
    `VERSION_ID="${d.versionId}"`,
    `VERSION="${d.versionId} (${d.codename})"`,
    `VERSION_CODENAME=${d.codename}`,
    '',
  ].join('\n');
}

/** Every entry of the base layer (normalised and sorted later by `layerFromEntries`). */
export function baseEntries(lock: Lock, unpacked: UnpackedPackage[]): LayerEntry[] {
  const out: LayerEntry[] = [];
  for (const { pkg, deb } of unpacked) {
    for (const e of deb.data) {
      if (!kept(e.path)) continue;
      if (e.type === 'file') out.push({ type: 'file', path: e.path, mode: e.mode, content: e.content! });
      else if (e.type === 'symlink') out.push({ type: 'symlink', path: e.path, target: e.target! });
      else if (e.type === 'hardlink') out.push({ type: 'hardlink', path: e.path, target: e.target! });
      // Directories come from the files in them (0755); an empty one (etc/ca-certificates) is left out.
    }
    if (pkg.name === 'ca-certificates') out.push({ type: 'file', path: CA_BUNDLE, content: caBundle(deb) });
    // distroless's status.d records: scanners (trivy, grype, syft) find the packages by these.
    out.push({ type: 'file', path: `var/lib/dpkg/status.d/${pkg.name}`, content: deb.control });
  }
  out.push(
    { type: 'file', path: 'etc/passwd', content: PASSWD },
    { type: 'file', path: 'etc/group', content: GROUP },
    { type: 'file', path: 'etc/nsswitch.conf', content: NSSWITCH },
    { type: 'file', path: 'etc/os-release', content: osRelease(lock) },
    { type: 'dir', path: 'root', mode: 0o700 },
    { type: 'dir', path: 'home', mode: 0o755 },
    { type: 'dir', path: 'home/nonroot', mode: 0o700, uid: NONROOT_UID, gid: NONROOT_UID },
    { type: 'dir', path: 'tmp', mode: 0o1777 },
  );
  return out;
}

/** Licences named in a Debian copyright file (DEP-5 `License:` fields), in first-seen order. */
export function copyrightLicenses(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/^License:[ \t]*(\S[^\n]*)$/gm)) {
    const v = m[1]!.trim();
    if (!out.includes(v)) out.push(v);
  }
  return out;
}
