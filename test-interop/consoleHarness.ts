import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { findExecutable, INSTALL_HINT } from './peers.js';

/**
 * What every console test in Chromium shares: the browser, axe-core on a page, the screenshots a
 * person looks at (artifacts/console/), and signing in on /login.
 */
export const PASSWORD = 'correct horse battery staple';
export const ARTIFACTS = join(process.cwd(), 'artifacts', 'console');
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Debian's Chromium with the flags headless Chromium needs on these machines. */
export async function launchChromium(): Promise<Browser> {
  const executablePath = findExecutable('chromium', process.env.MAILROOM_INTEROP_CHROMIUM);
  assert.ok(executablePath, `chromium is not installed: ${INSTALL_HINT}`);
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

interface AxeViolation { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }

/** axe-core in the page (evaluated through the DevTools protocol: the page's CSP rightly refuses injected scripts). */
export async function accessibilityProblems(page: Page): Promise<string[]> {
  await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (context: Document, options: object) => Promise<{ violations: unknown[] }> } }).axe;
    return (await axe.run(document, { resultTypes: ['violations'] })).violations;
  }) as AxeViolation[];
  return violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((violation) => `${violation.id} (${violation.impact}): ${violation.help} at ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`);
}

/** A screenshot of the whole page, then axe: no serious or critical violation. */
export async function checkPage(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  assert.deepEqual(await accessibilityProblems(page), [], `axe on ${name}`);
}

/** Fills /login's form and presses "Sign in" (the caller waits for what should follow). */
export async function signIn(page: Page, operator: string, password: string): Promise<void> {
  await page.locator('input[name=operator]').fill(operator);
  await page.locator('input[name=password]').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}
