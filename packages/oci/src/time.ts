/** Reproducible timestamps (OCI-NOTES #7): RFC 3339 UTC, whole seconds, from SOURCE_DATE_EPOCH. */
import { InvalidEpochError } from './errors.ts';

/** `1970-01-01T00:00:00Z` for 0: RFC 3339 UTC without fractional seconds. */
export function rfc3339(epochSeconds: number | Date): string {
  const ms = typeof epochSeconds === 'number' ? epochSeconds * 1000 : epochSeconds.getTime();
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/**
 * Parse a SOURCE_DATE_EPOCH value (seconds since the epoch). Undefined or empty gives `fallback` (0).
 * Throws `InvalidEpochError` for anything that is not a non-negative integer.
 */
export function parseSourceDateEpoch(value: string | undefined, fallback = 0): number {
  if (value === undefined || value.trim() === '') return fallback;
  if (!/^\d+$/.test(value.trim())) throw new InvalidEpochError(value);
  const n = Number(value.trim());
  if (!Number.isSafeInteger(n)) throw new InvalidEpochError(value);
  return n;
}
