import { describe, expect, it } from 'vitest';
import {
  backoffDelay,
  ConnectionError,
  ImageError,
  isRetryable,
  parseRetryAfter,
  RegistryError,
  retryDecision,
  retryPolicy,
  withRetry,
} from '../src/index.ts';

const policy = (over = {}) => retryPolicy({ random: () => 1, now: () => 0, sleep: async () => {}, ...over });
const regErr = (status: number, retryAfterMs?: number, code?: string) =>
  new RegistryError({
    status,
    method: 'PUT',
    url: 'http://r/v2/x/manifests/t',
    errors: code ? [{ code, message: 'm' }] : [],
    retryAfterMs,
  });
const refused = () =>
  new ConnectionError(
    'GET',
    'http://127.0.0.1:1/v2/',
    Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }),
  );

describe('what is retried', () => {
  it.each([
    [500, true],
    [502, true],
    [503, true],
    [504, true],
    [429, true],
    [408, true],
    [501, false],
    [400, false],
    [401, false],
    [403, false],
    [404, false],
    [416, false],
  ])('status %i → %s', (status, yes) => {
    expect(isRetryable(regErr(status))).toBe(yes);
  });

  it('retries TOOMANYREQUESTS/UNAVAILABLE codes whatever the status, and connection failures', () => {
    expect(isRetryable(regErr(400, undefined, 'TOOMANYREQUESTS'))).toBe(true);
    expect(isRetryable(refused())).toBe(true);
    expect(isRetryable(new Error('bug'))).toBe(false);
    expect(isRetryable(new ImageError('PLATFORM_NOT_FOUND', 'x', 'y'))).toBe(false);
  });
});

describe('delays', () => {
  it('backs off exponentially with jitter in [50%, 100%] and a ceiling', () => {
    const p = policy({ baseDelayMs: 100, maxDelayMs: 1000 });
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, p))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffDelay(1, policy({ baseDelayMs: 100, random: () => 0 }))).toBe(50);
  });

  it('honours Retry-After (seconds and HTTP-date), ignores malformed ones', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(
      parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')),
    ).toBe(10_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
    const p = policy({ baseDelayMs: 100 });
    expect(retryDecision(regErr(429, 7000), 1, 0, p)).toBe(7000);
    expect(retryDecision(regErr(429, 10), 1, 0, p)).toBe(100);
  });

  it('gives up: non-retryable, attempts used, Retry-After too long, total time exceeded', () => {
    const p = policy({ maxAttempts: 3, maxRetryAfterMs: 5000, totalTimeMs: 1000 });
    expect(retryDecision(regErr(404), 1, 0, p)).toBeUndefined();
    expect(retryDecision(regErr(503), 3, 0, p)).toBeUndefined();
    expect(retryDecision(regErr(429, 6000), 1, 0, p)).toBeUndefined();
    expect(retryDecision(regErr(503), 1, 0, policy({ now: () => 950, totalTimeMs: 1000 }))).toBeUndefined();
    expect(retryDecision(regErr(503), 2, 0, p)).toBe(500);
  });
});

describe('withRetry', () => {
  it('retries until success, telling onRetry each time, with injected sleep', async () => {
    const slept: number[] = [];
    const seen: string[] = [];
    let calls = 0;
    const result = await withRetry(
      async (attempt) => {
        calls++;
        if (attempt < 3) throw attempt === 1 ? regErr(503) : refused();
        return 'ok';
      },
      policy({ baseDelayMs: 10, sleep: async (ms: number) => void slept.push(ms) }),
      (info) => seen.push(`${info.attempt}:${info.error.code}`),
    );
    expect(result).toBe('ok');
    expect(calls).toBe(3);
    expect(slept).toEqual([10, 20]);
    expect(seen).toEqual(['1:UNAVAILABLE', '2:CONNECTION_REFUSED']);
  });

  it('rethrows the last error unchanged', async () => {
    const err = regErr(500);
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw err;
        },
        policy({ maxAttempts: 4 }),
      ),
    ).rejects.toBe(err);
    expect(calls).toBe(4);
    await expect(withRetry(async () => Promise.reject(regErr(400)), policy())).rejects.toMatchObject({
      status: 400,
    });
  });
});
