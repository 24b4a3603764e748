/** Pure helpers of the pages (tested in console/test). */

export const STATUSES = ['SCHEDULED', 'QUEUED', 'DEFERRED', 'SENT', 'DELIVERED', 'BOUNCED', 'REJECTED', 'FAILED', 'COMPLAINED'] as const;
export type Status = (typeof STATUSES)[number];

/**
 * Status colours: dark enough that small text in them is at least 7:1 on white (WCAG AAA, the
 * library's shades are not all AA), and always with the status's word (never colour alone).
 */
export function statusColor(status: string): string {
  switch (status) {
    case 'DELIVERED':
    case 'active':
    case 'verified':
    case 'ok':
    case 'delivered':
    case 'finished':
    case 'subscribed':
    case 'enabled':
      return '#1b5e20';
    case 'SENT':
    case 'QUEUED':
    case 'SCHEDULED':
    case 'running':
    case 'scheduled':
      return '#0b4f8a';
    case 'DEFERRED':
    case 'pending':
    case 'paused':
    case 'unconfirmed':
      return '#5f3dc4';
    case 'BOUNCED':
    case 'FAILED':
    case 'COMPLAINED':
    case 'suspended':
    case 'failed':
    case 'missing':
    case 'wrong':
    case 'error':
    case 'broken':
    case 'unreachable':
    case 'refused':
    case 'bounced':
    case 'complained':
    case 'disabled':
      return '#a61b1b';
    default:
      return '#495057';
  }
}

/** "3 s ago", "5 min ago", then the date: short enough for a table cell. */
export function relativeTime(iso: string, now: Date = new Date()): string {
  const then = new Date(iso);
  const seconds = Math.round((now.getTime() - then.getTime()) / 1000);
  if (Number.isNaN(seconds)) return iso;
  if (seconds < 60) return `${Math.max(0, seconds)} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return then.toISOString().slice(0, 16).replace('T', ' ');
}

/** A rate as a percentage with one decimal: 0.0512 → "5.1%". */
export function percent(rate: number | null | undefined): string {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return '–';
  return `${(rate * 100).toFixed(1)}%`;
}

/** The messages list's query string from its filters (empty ones left out). */
export function messageQuery(filters: Record<string, string>, cursor: string | null, limit = 50): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(filters)) if (value.trim() !== '') params.set(name, value.trim());
  params.set('limit', String(limit));
  if (cursor) params.set('cursor', cursor);
  return params.toString();
}

/** The in-page route from the URL's hash: "#/messages/abc" → ["messages", "abc"]. */
export function routeOf(hash: string): string[] {
  return hash.replace(/^#\/?/, '').split('/').filter(Boolean).map((part) => decodeURIComponent(part));
}
