/**
 * Redaction: no secret ever reaches an error message, an event or a log line.
 *
 * URLs lose their user-info and every query value except a short allow-list of protocol parameters that are not
 * secrets (`digest`, `mount`, `from`, `scope`, `service`, `n`, `last`). Upload `Location`s carry opaque state and
 * pre-signed redirect URLs (S3, GCS) carry signatures in their query: those become `REDACTED`.
 */
const SAFE_QUERY_KEYS = new Set(['digest', 'mount', 'from', 'scope', 'service', 'n', 'last']);

export function redactUrl(url: string | URL): string {
  let u: URL;
  try {
    u = new URL(url.toString());
  } catch {
    return redactText(url.toString());
  }
  if (u.username || u.password) {
    u.username = '';
    u.password = '';
  }
  const params = new URLSearchParams();
  for (const [k, v] of u.searchParams)
    params.append(k, SAFE_QUERY_KEYS.has(k.toLowerCase()) ? v : 'REDACTED');
  const query = params.toString();
  u.search = query ? `?${query}` : '';
  // URLSearchParams percent-encodes ':'; keep digests and scopes readable.
  return u.toString().replace(/%3A/gi, ':');
}

/**
 * Remove credential-looking material from free text (a registry's message, an exception string):
 * `Authorization`/`Basic`/`Bearer` values, JWTs, `password=`/`token=` pairs, user-info in URLs, and any of the
 * given known secrets verbatim.
 */
export function redactText(text: string, secrets: Iterable<string | undefined> = []): string {
  let out = text;
  for (const s of secrets) {
    if (s && s.length >= 4) out = out.split(s).join('REDACTED');
  }
  return out
    .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 REDACTED')
    .replace(/\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, 'REDACTED')
    .replace(
      /\b(password|passwd|secret|token|access_token|refresh_token|identitytoken|auth)(["']?\s*[:=]\s*["']?)[^\s"'&,}]+/gi,
      '$1$2REDACTED',
    )
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s:@]+(?::[^/\s@]*)?@/gi, '$1');
}
