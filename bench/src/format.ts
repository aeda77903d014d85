/** Number formatting for the results table (fixed, locale independent). */
import type { Summary } from './stats.ts';

/** `12,345` */
export function int(n: number): string {
  return Math.round(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** `0.123 s`, `12.3 s` — three significant digits. */
export function seconds(s: number): string {
  return `${s < 10 ? s.toPrecision(3) : s.toFixed(1)} s`;
}

/** `1.23 s (1.20–1.31)` */
export function secondsRange(s: Summary): string {
  return `${seconds(s.median)} (${trim(s.min)}–${trim(s.max)})`;
}

/** `123 MB/s (110–130)` for a rate in bytes per second derived from a time summary. */
export function rateRange(bytes: number, s: Summary): string {
  const mb = (t: number) => bytes / 1e6 / t;
  return `${mb(s.median).toFixed(0)} MB/s (${mb(s.max).toFixed(0)}–${mb(s.min).toFixed(0)})`;
}

/** `0.62×` */
export function times(r: number): string {
  return `${r.toFixed(2)}×`;
}

/** `15 %` */
export function percent(r: number): string {
  return `${(r * 100).toFixed(r < 0.1 ? 1 : 0)} %`;
}

/** `200.0 MB` (decimal megabytes, as MB/s figures use). */
export function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

function trim(s: number): string {
  return s < 10 ? s.toPrecision(3) : s.toFixed(1);
}

/** `4.6 kB`, `200.1 MB` (decimal units). */
export function bytesShort(bytes: number): string {
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(1)} kB`;
  return mb(bytes);
}
