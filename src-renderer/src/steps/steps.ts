/** The wizard's steps, in the order a clinician goes through them. */
export interface WizardStep {
  readonly id: string;
  readonly title: string;
  readonly summary: string;
  /** False until the part of the app behind the step exists; the step is shown, but disabled. */
  readonly available: boolean;
}

export const WIZARD_STEPS: readonly WizardStep[] = [
  { id: 'workstation', title: 'Workstation', summary: 'Check this computer and where data is kept', available: true },
  { id: 'backbone', title: 'Backbone', summary: 'Choose the language model to adapt', available: true },
  { id: 'import', title: 'Import notes', summary: 'Bring in local notes and annotations', available: true },
  { id: 'task', title: 'Task', summary: 'Choose the task, its labels and instructions', available: true },
  { id: 'label', title: 'Label examples', summary: 'Label a few examples of the task', available: true },
  { id: 'adapt', title: 'Adapt', summary: 'Adapt the shared meta-prompt to the task', available: true },
  { id: 'evaluate', title: 'Evaluate', summary: 'Score the prompt on held-out notes', available: true },
  { id: 'run', title: 'Run', summary: 'Run the prompt over new notes', available: true },
  { id: 'export', title: 'Export pack', summary: 'Export a signed, PHI-free prompt pack', available: true },
];

/** Screens outside the wizard's order, reached from the session panel. */
export const OTHER_SCREENS: readonly Pick<WizardStep, 'id' | 'title'>[] = [{ id: 'users', title: 'Users and roles' }];
