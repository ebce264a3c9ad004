/**
 * The component tests' page: one labelling widget mounted on its own, its props a `$state` object
 * (so `set` changes them as a parent would), its callbacks recorders. See widget-page-api.ts.
 */
import { mount, unmount, type Component } from 'svelte';

import ChoiceButtons from '../../../src-renderer/src/components/labelling/ChoiceButtons.svelte';
import RelationDrawer from '../../../src-renderer/src/components/labelling/RelationDrawer.svelte';
import SpanLabeller from '../../../src-renderer/src/components/labelling/SpanLabeller.svelte';
import SummaryEditor from '../../../src-renderer/src/components/labelling/SummaryEditor.svelte';
import '../../../src-renderer/src/styles/tokens.css';
import type { WidgetCall, WidgetName, WidgetsApi } from '../widget-page-api.js';

// Props arrive as plain data from the test, so each widget is mounted as taking any props.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const WIDGETS: Record<WidgetName, Component<any>> = { ChoiceButtons, RelationDrawer, SpanLabeller, SummaryEditor };

const target = document.getElementById('widget')!;
const calls: WidgetCall[] = [];
let props: Record<string, unknown> = {};
let mounted: ReturnType<typeof mount> | undefined;

const widgets: WidgetsApi = {
  mount(name, data, callbacks) {
    if (mounted) void unmount(mounted);
    calls.length = 0;
    const recorders = callbacks.map((callback) => [
      callback,
      (...args: unknown[]) => void calls.push({ callback, args: JSON.parse(JSON.stringify(args)) as unknown[] }),
    ]);
    const fresh = $state({ ...data, ...Object.fromEntries(recorders) });
    props = fresh;
    mounted = mount(WIDGETS[name], { target, props });
  },
  set(data) {
    Object.assign(props, data);
  },
  calls: () => [...calls],
};

window.widgets = widgets;
