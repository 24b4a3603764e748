/**
 * Which opens and clicks a machine made: mail-privacy proxies that fetch every image on delivery
 * or on behalf of the reader, and link scanners of mail gateways that follow every link before
 * the reader sees the message. Such hits are recorded like any other, with `machine` naming the
 * rule, so reports can leave them out; nothing is dropped.
 *
 * Rules are data, as in ZoneMTA's reply classification: the first that matches names the agent.
 * Each has a fixture in test/tracking/machineRules.test.ts.
 */
export interface MachineRule {
  name: string;
  /** Matched against the User-Agent header. */
  userAgent?: RegExp;
  /** Matched against the HTTP method. */
  method?: RegExp;
  /** Only for these kinds of hit. */
  kinds?: readonly ('open' | 'click')[];
}

export const MACHINE_RULES: readonly MachineRule[] = [
  // A reader's browser follows a link with GET; gateways probe with HEAD first.
  { name: 'head-request', method: /^HEAD$/ },
  { name: 'no-user-agent', userAgent: /^\s*$/ },
  // Gmail fetches images through its proxy when the message is opened: an open, but not where
  // or on what device; Yahoo likewise.
  { name: 'google-image-proxy', userAgent: /GoogleImageProxy|ggpht\.com/i, kinds: ['open'] },
  { name: 'yahoo-mail-proxy', userAgent: /YahooMailProxy/i, kinds: ['open'] },
  // Apple Mail Privacy Protection loads images on delivery with this bare user agent.
  { name: 'apple-mail-privacy-protection', userAgent: /^Mozilla\/5\.0$/, kinds: ['open'] },
  // Link scanners and previewers of gateways and chat apps.
  { name: 'microsoft-safe-links', userAgent: /Microsoft Office Existence Discovery|BingPreview|ms-office|Microsoft Office\//i },
  { name: 'mimecast', userAgent: /Mimecast/i },
  { name: 'proofpoint', userAgent: /Proofpoint|urldefense/i },
  { name: 'barracuda', userAgent: /Barracuda/i },
  { name: 'google-safe-browsing', userAgent: /Google-Safety|Google-Read-Aloud|Googlebot/i },
  { name: 'link-preview', userAgent: /facebookexternalhit|Slackbot|Twitterbot|LinkedInBot|WhatsApp|TelegramBot|Discordbot|SkypeUriPreview/i },
  { name: 'headless-browser', userAgent: /HeadlessChrome|PhantomJS|Puppeteer|Playwright/i },
  { name: 'http-library', userAgent: /^(curl|Wget|python-requests|python-urllib|Go-http-client|okhttp|Java|libwww-perl|axios|node-fetch|undici)\b/i },
  { name: 'crawler', userAgent: /\b(bot|crawler|spider|scanner)\b/i },
];

/** The rule that names the machine behind a hit, or null for a person (as far as can be told). */
export function machineAgent(kind: 'open' | 'click', method: string, userAgent: string): string | null {
  for (const rule of MACHINE_RULES) {
    if (rule.kinds && !rule.kinds.includes(kind)) continue;
    if (rule.method && !rule.method.test(method)) continue;
    if (rule.userAgent && !rule.userAgent.test(userAgent)) continue;
    if (!rule.method && !rule.userAgent) continue;
    return rule.name;
  }
  return null;
}
