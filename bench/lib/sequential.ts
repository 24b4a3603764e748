/**
 * Latency measured one request at a time (one keep-alive connection, the next request sent when
 * the previous answer is read): what a person waits for, not what the server can take.
 */
export interface Latency {
  requests: number;
  p50: number;
  p99: number;
  mean: number;
  max: number;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function latencyOf(times: readonly number[]): Latency {
  const sorted = [...times].sort((a, b) => a - b);
  return {
    requests: times.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    mean: times.reduce((sum, time) => sum + time, 0) / Math.max(1, times.length),
    max: sorted.at(-1) ?? 0,
  };
}

/** One GET, timed from sending to the last byte of the answer (ms); the body is read, not parsed, inside the timing. */
export async function timedGet(url: string, headers: Record<string, string>): Promise<{ ms: number; status: number; body: string }> {
  const started = performance.now();
  const response = await fetch(url, { headers });
  const body = await response.text();
  return { ms: performance.now() - started, status: response.status, body };
}
