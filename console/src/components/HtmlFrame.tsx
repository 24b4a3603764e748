/**
 * HTML from the API (a message, a template's preview) in a frame that can do nothing: `sandbox`
 * without allow-scripts or allow-same-origin (no script, no forms, no access to the console's
 * origin, its cookie or its API), and a CSP of its own that loads nothing from the network
 * (remote images and trackers are not fetched by looking at it). Exported for the tests.
 */
export function previewDocument(html: string): string {
  const policy = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:";
  return `<!doctype html><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${policy}"><base target="_blank">${html}`;
}

export function HtmlFrame({ html, title, testId = 'html-preview', height = 480 }: { html: string; title: string; testId?: string; height?: number }) {
  return (
    <iframe
      title={title}
      sandbox=""
      referrerPolicy="no-referrer"
      srcDoc={previewDocument(html)}
      style={{ width: '100%', height, border: '1px solid var(--mantine-color-gray-4)', background: 'white' }}
      data-testid={testId}
    />
  );
}
