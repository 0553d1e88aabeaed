/**
 * The dashboard in Debian's Chromium (headless, driven by playwright-core), for the end-to-end
 * tests: compiles the page's scripts from the current source, launches a browser with a fresh
 * profile, opens the page and waits until it is connected to the bus, collecting script errors.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { packageRoot } from '../../src/core/package-root.js';
import { defaultWebRoot } from '../../src/dashboard/server.js';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Compiles the page's scripts from the current source into dist/web (what `npm run build` does).
 * Test files run two at a time and several build the page, while another's server may be reading
 * the scripts: each build goes to its own folder, then every file is moved into dist/web by rename,
 * so that a reader sees the old file or the new one, never one half written.
 */
export function buildDashboardScripts(): void {
  const tsc = join(packageRoot(), 'node_modules', 'typescript', 'bin', 'tsc');
  const webRoot = defaultWebRoot();
  mkdirSync(webRoot, { recursive: true });
  // Beside dist/web, on the same file system, so that rename() is atomic.
  const staging = mkdtempSync(join(dirname(webRoot), '.web-build-'));
  try {
    execFileSync(process.execPath, [tsc, '-p', join(packageRoot(), 'src', 'dashboard', 'web', 'tsconfig.json'), '--outDir', staging], { stdio: 'inherit' });
    for (const file of readdirSync(staging, { recursive: true, encoding: 'utf8' })) {
      const from = join(staging, file);
      if (!statSync(from).isFile()) continue;
      mkdirSync(dirname(join(webRoot, file)), { recursive: true });
      renameSync(from, join(webRoot, file));
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

export interface DashboardBrowser {
  readonly context: BrowserContext;
  /** Closes the browser and removes its profile folder. */
  close(): Promise<void>;
}

export async function launchDashboardBrowser(viewport = { width: 1400, height: 1000 }): Promise<DashboardBrowser> {
  // A fresh profile folder (playwright passes it as --user-data-dir), so runs never share state.
  const profile = mkdtempSync(join(tmpdir(), 'optoloop-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      viewport,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface DashboardPage {
  readonly page: Page;
  /** Uncaught page errors and console errors seen so far. */
  readonly problems: string[];
}

/** Opens the dashboard URL (token in the fragment) and waits until the page says it is connected. */
export async function openDashboard(browser: DashboardBrowser, url: string, connectTimeoutMs = 15_000): Promise<DashboardPage> {
  const page = await browser.context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  await page.goto(url);
  try {
    await page.waitForSelector('#conn.ok', { timeout: connectTimeoutMs });
  } catch (error) {
    throw new Error(`page did not connect: conn=${await page.textContent('#conn')}; messages=${await page.textContent('#messages')}; errors=${problems.join(' | ')}`, { cause: error });
  }
  return { page, problems };
}

/** Browser-side expression: the unit table as text, one array of cell texts per row, in table order. */
export const UNIT_TABLE_JS = "Array.from(document.querySelectorAll('#units tbody tr'), (tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent))";

export async function unitTableRows(page: Page): Promise<string[][]> {
  return (await page.evaluate(UNIT_TABLE_JS)) as string[][];
}

/** Column indices of the unit table (see src/dashboard/page.ts). */
export const UNIT_COLUMNS = { unit: 0, channel: 1, type: 2, confidence: 3, rateHz: 4, tag: 5, saltP: 6, latencyMs: 7, jitterMs: 8, spikes: 9 } as const;
