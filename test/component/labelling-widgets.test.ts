// The Label step's widgets, each mounted alone in Debian's Chromium and used as a person would
// (keys, Shift+arrows, double-clicks, clicks): what their callbacks receive, what the page shows,
// and axe-core's rules on each. The step around them (saving, undo, suggestions) is e2e's.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { LabelItemView } from '../../src-main/ipc/contract.js';
import { snapToWords, wordSpans } from '../../src-main/tasks/labelling.js';
import { NOTHING_SELECTED } from '../../src-renderer/src/lib/labelling.js';
import { closeBrowser } from '../support/renderer-harness.js';
import { openWidgetPage, type WidgetPage } from './widget-page.js';

const NOTE = 'Febrile overnight, started ceftriaxone.';
const at = (word: string) => ({ start: NOTE.indexOf(word), end: NOTE.indexOf(word) + word.length });

/** An example as labels.items gives it: its words as the service finds them. */
function example(extra: Partial<LabelItemView> = {}): LabelItemView {
  return {
    exampleId: 1,
    externalId: null,
    fields: {},
    text: NOTE,
    words: wordSpans(NOTE),
    choices: [],
    marks: [],
    ...extra,
  };
}

/** Double-clicks a word of the note, which selects it as a mouse user would. */
async function doubleClickWord(page: Page, word: string) {
  const box = await page.evaluate((w) => {
    const note = document.querySelector('[data-testid="note-text"]')!;
    const text = [...note.childNodes].find((n) => n.nodeType === Node.TEXT_NODE && n.textContent!.includes(w))!;
    const range = document.createRange();
    range.setStart(text, text.textContent!.indexOf(w));
    range.setEnd(text, text.textContent!.indexOf(w) + w.length);
    const rect = range.getBoundingClientRect();
    return { x: rect.x + rect.width / 2, y: rect.y + rect.height / 2 };
  }, word);
  await page.mouse.dblclick(box.x, box.y);
}

const pressed = (page: Page, list: string) =>
  page.getByTestId(list).getByRole('button', { pressed: true }).allTextContents();

let widgets: WidgetPage;
let page: Page;

beforeAll(async () => {
  widgets = await openWidgetPage();
  page = widgets.page;
});

afterAll(async () => {
  expect(widgets.consoleErrors).toEqual([]);
  await widgets.close();
  await closeBrowser();
});

describe('SpanLabeller (NER)', () => {
  const LABELS = ['problem', 'test', 'treatment'];
  const mountIt = () => widgets.mount('SpanLabeller', { item: example(), labels: LABELS }, ['onlabel', 'onerror']);

  it('moves and extends the word cursor with arrows and Shift+arrows, and a type key sends its word-aligned span', async () => {
    await mountIt();
    const types = page.getByRole('group', { name: 'Mention types' }).getByRole('button');
    expect(await types.allTextContents()).toEqual(
      ['p problem', 't test', 'r treatment'].map((t) => expect.stringMatching(t.replace(' ', '\\s+'))),
    );
    expect(await Promise.all((await types.all()).map((b) => b.getAttribute('aria-keyshortcuts')))).toEqual([
      'p',
      't',
      'r',
    ]);

    const note = page.getByTestId('note-text');
    const cursor = page.getByTestId('word-cursor');
    await note.focus();
    await page.keyboard.press('ArrowRight');
    expect(await cursor.textContent()).toBe('Febrile');
    await page.keyboard.press('Shift+ArrowRight');
    expect(await cursor.textContent()).toBe('Febrile overnight');
    expect(await page.getByText('Selected: Febrile overnight').count()).toBe(1);
    await page.keyboard.press('End'); // a plain move lets the selection go
    await page.keyboard.press('Shift+ArrowLeft');
    expect(await cursor.textContent()).toBe('started ceftriaxone');
    expect(await note.textContent()).toBe(NOTE); // the cursor's runs keep every character in place
    await page.keyboard.press('t');
    expect(await widgets.calls()).toEqual([
      { callback: 'onlabel', args: ['test', { start: at('started').start, end: at('ceftriaxone').end }] },
    ]);
    expect(await cursor.count()).toBe(0); // labelled: the selection is let go

    await page.keyboard.press('Home');
    await page.keyboard.press('Shift+End');
    await page.keyboard.press('Shift+ArrowLeft');
    await page.keyboard.press('p');
    expect((await widgets.calls()).at(-1)).toEqual({
      callback: 'onlabel',
      args: ['problem', { start: 0, end: at('started').end }],
    });
  });

  it('labels a double-clicked word by a click on its type, and says what is missing when nothing is selected', async () => {
    await mountIt();
    await page.keyboard.press('r');
    expect(await widgets.calls()).toEqual([{ callback: 'onerror', args: [NOTHING_SELECTED] }]);
    await doubleClickWord(page, 'overnight');
    await page.getByRole('button', { name: /treatment/ }).click();
    expect((await widgets.calls()).at(-1)).toEqual({ callback: 'onlabel', args: ['treatment', at('overnight')] });
  });

  it('sends a mouse selection inside a word as it is (the service snaps it to the word)', async () => {
    await mountIt();
    await page.evaluate((from) => {
      const note = document.querySelector('[data-testid="note-text"]')!;
      const text = [...note.childNodes].find((n) => n.nodeType === Node.TEXT_NODE && n.textContent !== '')!;
      const range = document.createRange();
      range.setStart(text, from);
      range.setEnd(text, from + 4);
      window.getSelection()!.removeAllRanges();
      window.getSelection()!.addRange(range);
    }, NOTE.indexOf('ftri'));
    await page.keyboard.press('r');
    const [call] = await widgets.calls();
    expect(call).toEqual({
      callback: 'onlabel',
      args: ['treatment', { start: NOTE.indexOf('ftri'), end: NOTE.indexOf('ftri') + 4 }],
    });
    const span = call!.args[1] as { start: number; end: number };
    expect(snapToWords(NOTE, span.start, span.end)).toEqual(at('ceftriaxone'));
    expect(await page.evaluate(() => window.getSelection()!.isCollapsed)).toBe(true);
  });

  it('highlights the saved spans with their labels, waits while busy, and passes axe-core', async () => {
    await mountIt();
    await widgets.set({ item: example({ marks: [{ id: 3, label: 'problem', start: 0, end: 7 }] }) });
    const marks = page.locator('[data-testid="note-text"] mark');
    expect(await marks.allTextContents()).toEqual(['Febrile']);
    expect(await marks.first().getAttribute('data-label')).toBe('problem');
    expect(await page.getByTestId('note-text').textContent()).toBe(NOTE);
    await page.getByTestId('note-text').focus();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    expect(await widgets.axe()).toEqual([]);

    await widgets.set({ busy: true });
    expect(await page.getByRole('button', { name: /test/ }).isDisabled()).toBe(true);
    await page.keyboard.press('t');
    expect(await widgets.calls()).toEqual([]);
    expect(await page.getByTestId('word-cursor').textContent()).toBe('overnight'); // still selected
  });
});

describe('RelationDrawer (RE)', () => {
  const ENTITIES = [
    { start: 0, end: 7, type: 'problem' },
    { start: 27, end: 38, type: 'treatment' },
  ];
  const mountIt = (extra: Partial<LabelItemView> = {}) =>
    widgets.mount(
      'RelationDrawer',
      { item: example({ entities: ENTITIES, choices: ['treats', 'causes'], ...extra }) },
      ['onmention', 'onrelation', 'onreverse', 'onerror'],
    );
  const mentions = () => page.getByTestId('mentions').getByRole('button').allTextContents();

  it('marks a mention from the word cursor with M', async () => {
    await mountIt();
    await page.getByTestId('note-text').focus();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('m');
    expect(await widgets.calls()).toEqual([{ callback: 'onmention', args: [at('overnight')] }]);
    await page.keyboard.press('m');
    expect((await widgets.calls()).at(-1)).toEqual({ callback: 'onerror', args: [NOTHING_SELECTED] });
  });

  it('picks two mentions by keyboard, swaps them with R and the Reverse button, and a number key draws the relation', async () => {
    await mountIt();
    const types = page.getByRole('group', { name: 'Relation types' }).getByRole('button');
    expect(await types.first().isDisabled()).toBe(true);
    await page.keyboard.press('1');
    await page.keyboard.press('r');
    expect((await widgets.calls()).map((c) => c.args[0])).toEqual([
      'Relation: pick its first and then its second mention in the list of mentions first.',
      'Reverse: pick both mentions of a relation, or draw one first.',
    ]);

    await page.getByTestId('note-text').focus();
    await page.keyboard.press('Tab'); // Mark mention (Reverse is disabled)
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent?.trim())).toMatch(/^Febrile/);
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('Enter');
    expect(await mentions()).toEqual(['Febrile (problem, second)', 'ceftriaxone (treatment, first)']);
    expect(await page.getByTestId('relation-pick').textContent()).toContain(
      'First mention: ceftriaxone. Second: Febrile. Now choose the relation.',
    );
    expect(await types.first().isDisabled()).toBe(false);

    await page.keyboard.press('r');
    expect(await mentions()).toEqual(['Febrile (problem, first)', 'ceftriaxone (treatment, second)']);
    await page.getByRole('button', { name: 'R Reverse direction' }).click();
    expect(await mentions()).toEqual(['Febrile (problem, second)', 'ceftriaxone (treatment, first)']);
    expect(await widgets.axe()).toEqual([]);
    await page.keyboard.press('1');
    expect((await widgets.calls()).at(-1)).toEqual({
      callback: 'onrelation',
      args: ['treats', { head: at('ceftriaxone'), tail: at('Febrile') }],
    });
    expect(await pressed(page, 'mentions')).toEqual([]); // drawn: the next relation starts afresh
  });

  it('draws a relation by clicks, and reverses the selected saved relation with R', async () => {
    await mountIt();
    await page.getByRole('button', { name: /^Febrile/ }).click();
    await page.getByRole('button', { name: /^ceftriaxone/ }).click();
    await page.getByRole('button', { name: /causes/ }).click();
    expect(await widgets.calls()).toEqual([
      { callback: 'onrelation', args: ['causes', { head: at('Febrile'), tail: at('ceftriaxone') }] },
    ]);

    const relation = (id: number, label: string, head: string, tail: string) => ({
      id,
      label,
      start: null,
      end: null,
      head: at(head),
      tail: at(tail),
    });
    await widgets.set({
      item: example({
        entities: ENTITIES,
        choices: ['treats', 'causes'],
        marks: [relation(5, 'causes', 'Febrile', 'ceftriaxone'), relation(6, 'treats', 'ceftriaxone', 'Febrile')],
      }),
    });
    expect(await pressed(page, 'relations')).toEqual(['"ceftriaxone" → treats → "Febrile"']); // the newest
    await page.getByRole('button', { name: '"Febrile" → causes → "ceftriaxone"' }).click();
    expect(await pressed(page, 'relations')).toEqual(['"Febrile" → causes → "ceftriaxone"']);
    expect(await widgets.axe()).toEqual([]);
    await page.keyboard.press('r');
    expect((await widgets.calls()).at(-1)).toEqual({ callback: 'onreverse', args: [5] });
    expect(await pressed(page, 'relations')).toEqual(['"ceftriaxone" → treats → "Febrile"']); // newest again
  });
});

describe('ChoiceButtons (QA, NLI)', () => {
  const CHOICES = ['entailment', 'neutral', 'contradiction'];

  it('chooses by number key and by click, shows the chosen label, and ignores modified keys', async () => {
    await widgets.mount('ChoiceButtons', { choices: CHOICES, name: 'Labels' }, ['onchoose']);
    const buttons = page.getByRole('group', { name: 'Labels' }).getByRole('button');
    expect(await Promise.all((await buttons.all()).map((b) => b.getAttribute('aria-keyshortcuts')))).toEqual([
      '1',
      '2',
      '3',
    ]);
    await page.keyboard.press('3');
    await page.keyboard.press('Control+1');
    await page.keyboard.press('Alt+2');
    await page.keyboard.press('4');
    await page.getByRole('button', { name: /neutral/ }).click();
    expect(await widgets.calls()).toEqual([
      { callback: 'onchoose', args: ['contradiction'] },
      { callback: 'onchoose', args: ['neutral'] },
    ]);
    await widgets.set({ chosen: 'neutral' });
    expect(await page.locator('.chosen').textContent()).toMatch(/neutral/);
    expect(await widgets.axe()).toEqual([]);
  });

  it('gives nine choices keys and the rest buttons only; waits while busy', async () => {
    const many = Array.from({ length: 11 }, (_, i) => `option ${String.fromCharCode(65 + i)}`);
    await widgets.mount('ChoiceButtons', { choices: many, name: 'Labels', busy: true }, ['onchoose']);
    const keys = await Promise.all(
      (await page.getByRole('button').all()).map((b) => b.getAttribute('aria-keyshortcuts')),
    );
    expect(keys).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9', null, null]);
    await page.keyboard.press('1');
    expect(await page.getByRole('button', { name: /option K/ }).isDisabled()).toBe(true);
    await widgets.set({ busy: false });
    await page.getByRole('button', { name: /option K/ }).click();
    await page.keyboard.press('9');
    expect(await widgets.calls()).toEqual([
      { callback: 'onchoose', args: ['option K'] },
      { callback: 'onchoose', args: ['option I'] },
    ]);
  });
});

describe('SummaryEditor', () => {
  it('saves what was typed, only once there is more than space, and shows a summary set from outside', async () => {
    await widgets.mount('SummaryEditor', {}, ['onsave']);
    const save = page.getByRole('button', { name: 'Save summary' });
    expect(await save.isDisabled()).toBe(true);
    await page.getByLabel('Summary').click();
    await page.keyboard.type('   ');
    expect(await save.isDisabled()).toBe(true);
    await page.keyboard.type('Fever 2 days, on ceftriaxone.');
    expect(await widgets.axe()).toEqual([]);
    await save.click();
    expect(await widgets.calls()).toEqual([{ callback: 'onsave', args: ['   Fever 2 days, on ceftriaxone.'] }]);

    await widgets.set({ value: 'Suggested summary.', busy: true });
    expect(await page.getByLabel('Summary').inputValue()).toBe('Suggested summary.');
    expect(await save.isDisabled()).toBe(true);
  });
});
