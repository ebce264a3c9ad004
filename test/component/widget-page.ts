/**
 * The component tests' page in Debian's Chromium (driven by playwright-core, as the e2e tests
 * drive the wizard): the widgets' page built by build-widgets.ts, served with the app's CSP.
 */
import type { AddressInfo } from 'node:net';

import type { Page } from 'playwright-core';
import { inject } from 'vitest';

import { axeViolations } from '../support/axe.js';
import { serveRenderer, sharedBrowser } from '../support/renderer-harness.js';
import type { WidgetCall, WidgetName } from './widget-page-api.js';

export interface WidgetPage {
  readonly page: Page;
  /** Console errors and CSP violations seen in the page. */
  readonly consoleErrors: string[];
  mount(name: WidgetName, props: Record<string, unknown>, callbacks: readonly string[]): Promise<void>;
  set(props: Record<string, unknown>): Promise<void>;
  calls(): Promise<WidgetCall[]>;
  /** axe-core's findings on the mounted widget, one line per rule broken (empty when none). */
  axe(): Promise<string[]>;
  close(): Promise<void>;
}

export async function openWidgetPage(): Promise<WidgetPage> {
  const server = await serveRenderer(inject('widgetsDir'));
  const context = await (await sharedBrowser()).newContext({ viewport: { width: 1000, height: 700 } });
  const page = await context.newPage();
  const consoleErrors: string[] = [];
  page.on('console', (m) => void (m.type() === 'error' && consoleErrors.push(m.text())));
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/index.html`);
  await page.waitForFunction(() => 'widgets' in window);
  return {
    page,
    consoleErrors,
    mount: (name, props, callbacks) =>
      page.evaluate(([n, p, c]) => window.widgets.mount(n, p, c), [name, props, callbacks] as const),
    set: (props) => page.evaluate((p) => window.widgets.set(p), props),
    calls: () => page.evaluate(() => window.widgets.calls()),
    axe: async () => (await axeViolations(page)).map((v) => `${v.id} (${v.impact ?? '?'}): ${v.targets.join(', ')}`),
    async close() {
      await context.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
