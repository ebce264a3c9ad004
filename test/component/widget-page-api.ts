/**
 * What the component tests' page (widgets/mount.svelte.ts) exposes on `window.widgets`: mount one
 * labelling widget with plain props, change them, and read what its callbacks received. Here, not
 * in the page's entry, so that the Node side can type its `page.evaluate` calls without Svelte.
 */
export const WIDGET_NAMES = ['ChoiceButtons', 'RelationDrawer', 'SpanLabeller', 'SummaryEditor'] as const;
export type WidgetName = (typeof WIDGET_NAMES)[number];

/** One callback call: the prop's name and its arguments (plain copies). */
export interface WidgetCall {
  readonly callback: string;
  readonly args: readonly unknown[];
}

export interface WidgetsApi {
  /** Mounts `name` alone in `<main>` (unmounting the one before); each of `callbacks` records its calls. */
  mount(name: WidgetName, props: Record<string, unknown>, callbacks: readonly string[]): void;
  /** Changes props of the mounted widget, as its parent would. */
  set(props: Record<string, unknown>): void;
  calls(): WidgetCall[];
}

declare global {
  interface Window {
    /** Set by the widgets' page only. */
    widgets: WidgetsApi;
  }
}
