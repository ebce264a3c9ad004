/**
 * The accessibility checks every e2e screen passes: axe-core's rules (WCAG 2.x A/AA and best
 * practice) on the page as it is, and reflow (WCAG 1.4.10) at the sizes the wizard promises
 * (1366x768, and the same screen at 200% zoom: a 683x384 CSS viewport), where the main content
 * must not scroll sideways.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

import type { run } from 'axe-core';
import type { Page } from 'playwright-core';

/** axe.min.js, read once; evaluated in the page through the debugger protocol, which the page's CSP does not block. */
let axeSource: string | undefined;

function axeScript(): string {
  axeSource ??= readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  return axeSource;
}

/** One rule broken, with the elements that break it (CSS selectors, never their text). */
export interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly targets: readonly string[];
}

/** Runs axe-core on the page and returns what it finds, empty when nothing. */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeScript());
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: typeof run } }).axe;
    const results = await axe.run(document, { resultTypes: ['violations'] });
    return results.violations.map((v) => ({
      id: v.id,
      impact: v.impact ?? null,
      help: v.help,
      targets: v.nodes.map((n) => n.target.join(' ')),
    }));
  });
}

/** 1366x768 (the workstation the wizard is sized for) and the same at 200% zoom. */
export const REFLOW_VIEWPORTS = [
  { name: '1366x768', width: 1366, height: 768 },
  { name: '200% zoom', width: 683, height: 384 },
] as const;

/**
 * Where the page or its `<main>` scrolls sideways, per viewport (empty when nowhere), with the
 * widest elements that stick out; the page's viewport is put back afterwards.
 */
export async function horizontalOverflow(page: Page): Promise<string[]> {
  const before = page.viewportSize();
  const problems: string[] = [];
  try {
    for (const viewport of REFLOW_VIEWPORTS) {
      await page.setViewportSize({ width: viewport.width, height: viewport.height });
      const found = await page.evaluate(() => {
        const main = document.querySelector('main') ?? document.body;
        const page = document.documentElement;
        const scrolls = page.scrollWidth > page.clientWidth + 1 || main.scrollWidth > main.clientWidth + 1;
        if (!scrolls) return [];
        const right = Math.min(page.clientWidth, main.getBoundingClientRect().right);
        return [...main.querySelectorAll('*')]
          .filter((e) => e.getBoundingClientRect().right > right + 1 && e.getBoundingClientRect().width > 0)
          .slice(0, 5)
          .map((e) => `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}.${[...e.classList].join('.')}`);
      });
      if (found.length > 0) problems.push(`${viewport.name}: scrolls sideways (${found.join(', ')})`);
    }
  } finally {
    if (before) await page.setViewportSize(before);
  }
  return problems;
}

/** Everything both checks find on the current screen; a test expects it to be empty. */
export async function accessibilityProblems(page: Page): Promise<string[]> {
  const violations = (await axeViolations(page)).map((v) => `${v.id} (${v.impact ?? '?'}): ${v.targets.join(', ')}`);
  return [...violations, ...(await horizontalOverflow(page))];
}
