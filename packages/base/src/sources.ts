/**
 * Where the Debian packages come from: the mirrors the machine's apt is configured with
 * (`/etc/apt/sources.list`, `sources.list.d/*.list` one-line entries and `*.sources` deb822 stanzas), or the
 * ones the user names (`--mirror`, `SCRATCHPACK_DEBIAN_MIRROR`). Never a built-in host.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BaseError } from './errors.ts';

/** One `deb` source: a base URI and the suites it serves (e.g. `bookworm`, `bookworm-security`). */
export interface AptSource {
  uri: string;
  suites: string[];
  components: string[];
}

const trimSlash = (u: string) => u.replace(/\/+$/, '');

/** One-line entries: `deb [options] URI SUITE COMPONENT…` (comments and `deb-src` ignored). */
export function parseSourcesList(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line.startsWith('deb ') && !line.startsWith('deb\t')) continue;
    const rest = line
      .slice(4)
      .replace(/\[[^\]]*\]/, '')
      .trim()
      .split(/\s+/);
    const [uri, suite, ...components] = rest;
    if (uri && suite) out.push({ uri: trimSlash(uri), suites: [suite], components });
  }
  return out;
}

/** deb822 stanzas (`Types: deb`, `URIs:`, `Suites:`, `Components:`; `Enabled: no` skipped). */
export function parseDeb822(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    let key = '';
    for (const raw of stanza.split('\n')) {
      if (raw.startsWith('#')) continue;
      if (/^\s/.test(raw) && key) fields.set(key, `${fields.get(key)} ${raw.trim()}`);
      else {
        const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(raw);
        if (m) {
          key = m[1]!.toLowerCase();
          fields.set(key, m[2]!.trim());
        }
      }
    }
    const words = (k: string) => (fields.get(k) ?? '').split(/\s+/).filter(Boolean);
    if (!words('types').includes('deb') || fields.get('enabled')?.toLowerCase() === 'no') continue;
    for (const uri of words('uris'))
      out.push({ uri: trimSlash(uri), suites: words('suites'), components: words('components') });
  }
  return out;
}

/** The machine's apt sources, in apt's order (sources.list first, then sources.list.d by name). */
export async function aptSources(root = '/etc/apt'): Promise<AptSource[]> {
  const out: AptSource[] = [];
  const read = (p: string) => readFile(p, 'utf8').catch(() => '');
  out.push(...parseSourcesList(await read(join(root, 'sources.list'))));
  const dir = join(root, 'sources.list.d');
  const names = (await readdir(dir).catch(() => [] as string[])).sort();
  for (const n of names) {
    if (n.endsWith('.list')) out.push(...parseSourcesList(await read(join(dir, n))));
    else if (n.endsWith('.sources')) out.push(...parseDeb822(await read(join(dir, n))));
  }
  return out;
}

/**
 * Mirrors to try for a package of `suite`: the ones given (all of them, any suite), else the apt sources
 * that serve that suite. Throws BASE_NO_MIRROR naming what was looked at when there is none.
 */
export function mirrorsFor(suite: string, sources: AptSource[], given: string[] = []): string[] {
  if (given.length) return given.map(trimSlash);
  const uris = sources.filter((s) => s.suites.includes(suite)).map((s) => s.uri);
  if (!uris.length) {
    throw new BaseError('BASE_NO_MIRROR', `no Debian mirror serves suite ${suite}`, {
      hint: `add a "deb" source for ${suite} to /etc/apt/sources.list(.d), or pass --mirror URL (or SCRATCHPACK_DEBIAN_MIRROR)`,
    });
  }
  return [...new Set(uris)];
}

/** `SCRATCHPACK_DEBIAN_MIRROR`: one or more URLs, separated by spaces or commas. */
export function mirrorsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.SCRATCHPACK_DEBIAN_MIRROR ?? '').split(/[\s,]+/).filter(Boolean);
}
