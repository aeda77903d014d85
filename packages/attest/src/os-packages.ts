/**
 * The distribution packages installed in a root filesystem, read from its package databases — dpkg
 * (`var/lib/dpkg/status`, and `var/lib/dpkg/status.d/*` as distroless images have it) and apk
 * (`lib/apk/db/installed`) — with the distro from `etc/os-release`, each with the package URL syft gives it,
 * which grype and trivy match against the distro's security tracker:
 * `pkg:deb/debian/NAME@VERSION?arch=ARCH&distro=debian-12` (an epoch as the `epoch=` qualifier, the source
 * package as `upstream=`), `pkg:apk/alpine/NAME@VERSION?arch=ARCH&distro=alpine-3.20.3`, and rpm's
 * (`var/lib/rpm/rpmdb.sqlite`, rpm-db.ts) `pkg:rpm/fedora/NAME@VERSION-RELEASE?arch=ARCH&distro=fedora-39`
 * (`epoch=`, and the source rpm as `upstream=`).
 */
import { readRpmDb } from './rpm-db.ts';

export interface OsPackage {
  type: 'deb' | 'apk' | 'rpm';
  name: string;
  version: string;
  arch: string;
  /** The licence the database records (apk's `L:`, rpm's License); dpkg records none. */
  license?: string;
  /** The source package (dpkg `Source:`, apk `o:` origin, rpm's source rpm) when it differs from the name. */
  source?: string;
  purl: string;
}

export interface Distro {
  id: string;
  versionId?: string;
  prettyName?: string;
}

export interface OsPackages {
  distro?: Distro;
  packages: OsPackage[];
}

const DPKG_STATUS = 'var/lib/dpkg/status';
const DPKG_STATUS_D = 'var/lib/dpkg/status.d/';
const APK_INSTALLED = 'lib/apk/db/installed';
const OS_RELEASE = ['etc/os-release', 'usr/lib/os-release'];
/** rpm ≥ 4.16's database; Fedora 36+ keeps it in usr/lib/sysimage (var/lib/rpm is a symlink there). */
const RPMDB = ['var/lib/rpm/rpmdb.sqlite', 'usr/lib/sysimage/rpm/rpmdb.sqlite'];

/** The rootfs paths `osPackages` reads (for oci's `readRootfsFiles`). */
export function isPackageDbPath(path: string): boolean {
  if (path === DPKG_STATUS || path === APK_INSTALLED || OS_RELEASE.includes(path) || RPMDB.includes(path))
    return true;
  return path.startsWith(DPKG_STATUS_D) && !/\.(md5sums|list|conffiles)$/.test(path);
}

/** `KEY=value` lines of os-release(5), quotes removed. */
export function parseOsRelease(text: string): Distro | undefined {
  const v: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) v[m[1]!] = m[2]!.replace(/^(["'])(.*)\1$/, '$2');
  }
  if (!v.ID) return undefined;
  const versionId = v.VERSION_ID ?? v.VERSION_CODENAME;
  return {
    id: v.ID,
    ...(versionId ? { versionId } : {}),
    ...(v.PRETTY_NAME ? { prettyName: v.PRETTY_NAME } : {}),
  };
}

/** Stanzas of a deb822 file (dpkg's status): `Field: value`, continuation lines start with a space. */
function stanzas(text: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  let cur: Record<string, string> = {};
  let last = '';
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      if (Object.keys(cur).length) out.push(cur);
      cur = {};
      continue;
    }
    if (/^[ \t]/.test(line)) {
      if (last) cur[last] += `\n${line.trim()}`;
      continue;
    }
    const i = line.indexOf(':');
    if (i < 0) continue;
    last = line.slice(0, i);
    cur[last] = line.slice(i + 1).trim();
  }
  if (Object.keys(cur).length) out.push(cur);
  return out;
}

/** purl encoding: percent-encode, keeping what packageurl-go keeps in names and versions (`+`, `~`). */
const enc = (s: string) => encodeURIComponent(s).replace(/%2B/g, '+');

function purl(
  type: string,
  ns: string | undefined,
  name: string,
  version: string,
  q: Record<string, string>,
) {
  const quals = Object.keys(q)
    .filter((k) => q[k])
    .sort()
    .map((k) => `${k}=${encodeURIComponent(q[k]!)}`)
    .join('&');
  return `pkg:${type}/${ns ? `${enc(ns)}/` : ''}${enc(name)}@${enc(version)}${quals ? `?${quals}` : ''}`;
}

const distroQualifier = (d?: Distro) => (d?.versionId ? `${d.id}-${d.versionId}` : undefined);

/** Installed packages of a dpkg status file (only `install ok installed`, or no Status as in status.d). */
export function parseDpkgStatus(text: string, distro?: Distro): OsPackage[] {
  const out: OsPackage[] = [];
  for (const s of stanzas(text)) {
    if (!s.Package || !s.Version) continue;
    if (s.Status !== undefined && !/\binstalled$/.test(s.Status)) continue;
    const arch = s.Architecture ?? '';
    const epoch = /^(\d+):(.*)$/.exec(s.Version);
    const m = s.Source ? /^(\S+)(?:\s+\((.+)\))?$/.exec(s.Source) : null;
    const source = m ? (m[2] ? `${m[1]}@${m[2]}` : m[1]!) : undefined;
    out.push({
      type: 'deb',
      name: s.Package,
      version: s.Version,
      arch,
      ...(m ? { source: m[1]! } : {}),
      purl: purl('deb', distro?.id ?? 'debian', s.Package, epoch ? epoch[2]! : s.Version, {
        arch,
        distro: distroQualifier(distro) ?? '',
        epoch: epoch ? epoch[1]! : '',
        upstream: source ?? '',
      }),
    });
  }
  return out;
}

/** Installed packages of apk's database (`P:` name, `V:` version, `A:` arch, `L:` licence, `o:` origin). */
export function parseApkInstalled(text: string, distro?: Distro): OsPackage[] {
  const out: OsPackage[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    const f: Record<string, string> = {};
    for (const line of block.split('\n')) if (line[1] === ':') f[line[0]!] ??= line.slice(2);
    if (!f.P || !f.V) continue;
    const source = f.o && f.o !== f.P ? f.o : undefined;
    out.push({
      type: 'apk',
      name: f.P,
      version: f.V,
      arch: f.A ?? '',
      ...(f.L ? { license: f.L } : {}),
      ...(source ? { source } : {}),
      purl: purl('apk', distro?.id ?? 'alpine', f.P, f.V, {
        arch: f.A ?? '',
        distro: distroQualifier(distro) ?? '',
        upstream: source ?? '',
      }),
    });
  }
  return out;
}

/** Installed packages of an rpmdb.sqlite (none when it is not one), with syft's purls. */
export async function parseRpmDb(bytes: Uint8Array, distro?: Distro): Promise<OsPackage[]> {
  return (await readRpmDb(bytes)).map((h) => {
    const version = h.release ? `${h.version}-${h.release}` : h.version;
    return {
      type: 'rpm',
      name: h.name,
      version: h.epoch !== undefined ? `${h.epoch}:${version}` : version,
      arch: h.arch ?? '',
      ...(h.license ? { license: h.license } : {}),
      ...(h.sourceRpm ? { source: h.sourceRpm } : {}),
      purl: purl('rpm', distro?.id, h.name, version, {
        arch: h.arch ?? '',
        distro: distroQualifier(distro) ?? '',
        epoch: h.epoch !== undefined ? String(h.epoch) : '',
        upstream: h.sourceRpm ?? '',
      }),
    };
  });
}

/** The packages and distro of a rootfs, from its files (path → bytes) as `readRootfsFiles` returns them. */
export async function osPackages(files: Map<string, Buffer>): Promise<OsPackages> {
  const release = OS_RELEASE.map((p) => files.get(p)).find((b) => b !== undefined);
  const distro = release ? parseOsRelease(release.toString('utf8')) : undefined;
  const packages: OsPackage[] = [];
  const dpkg = [...files.keys()].filter((p) => p === DPKG_STATUS || p.startsWith(DPKG_STATUS_D)).sort();
  for (const p of dpkg) packages.push(...parseDpkgStatus(files.get(p)!.toString('utf8'), distro));
  const apk = files.get(APK_INSTALLED);
  if (apk) packages.push(...parseApkInstalled(apk.toString('utf8'), distro));
  for (const p of RPMDB) {
    const db = files.get(p);
    if (db) packages.push(...(await parseRpmDb(db, distro)));
  }
  const seen = new Set<string>();
  const unique = packages.filter((p) => !seen.has(p.purl) && seen.add(p.purl));
  unique.sort((a, b) => (a.purl < b.purl ? -1 : a.purl > b.purl ? 1 : 0));
  return { ...(distro ? { distro } : {}), packages: unique };
}

/** musl's package URL and CPE (NVD's vendor `musl-libc`). */
export const muslPurl = (version: string) => `pkg:generic/musl@${enc(version)}`;
export const muslCpe = (version: string) => `cpe:2.3:a:musl-libc:musl:${version}:*:*:*:*:*:*:*`;
