/**
 * What the clinician chose and produced so far, kept above the steps so that it survives moving
 * between them and an auto-lock: the backbone, the Adapt form, the training and evaluation jobs
 * and the loss curve as it is measured, the prompt the Run and Export steps use (this session's or
 * a finished run from the store), the Run step's job and export form, the Export step's pack forms.
 */
import type {
  AdaptMethod,
  AdaptRunView,
  BackboneView,
  ClinPromptApi,
  EvaluationView,
  JobState,
  NoteRunView,
  PackExportView,
  PackImportView,
  PackInspectionView,
  PackPreviewView,
  PackVerificationView,
  ResultFormat,
  TaskSetup,
  TaskType,
  RunListing,
} from '../../../src-main/ipc/contract.js';
import { JobsState } from './jobs.svelte.js';

export class WizardState {
  readonly jobs: JobsState;
  /** The model folder typed or chosen; undefined means the embedded default. */
  backboneFolder = $state<string | undefined>();
  backbone = $state<BackboneView | undefined>();
  /** The Backbone form as left: which kind of model, and the folder typed. */
  backboneSource = $state<'embedded' | 'folder'>('embedded');
  folderInput = $state('');
  /** Why the embedded backbone cannot be used here (missing from this installation). */
  embeddedProblem = $state<string | undefined>();
  dataset = $state('');
  method = $state<AdaptMethod | undefined>();
  /** The Adapt form's settings as typed; empty means the schema's default. */
  train = $state<Record<string, string | number | boolean | null | undefined>>({});
  trainJobId = $state<string | undefined>();
  evaluateJobId = $state<string | undefined>();
  /** Evaluate step: the dataset whose held-out notes score the prompt (empty: the step's default). */
  evaluateDataset = $state('');
  /** Evaluate step: the finished run scored (a folder); none chosen: this session's, else the newest of the task. */
  evaluateRunDir = $state<string | undefined>();
  /** Evaluate step: the other finished runs (folders) scored beside the adapted prompt, the answers' page and filter. */
  compareRuns = $state<string[]>([]);
  outputsPage = $state(0);
  onlyErrors = $state(false);
  /** Training loss per step (index step - 1), across a cancel and its resume. */
  losses = $state<number[]>([]);
  /** The dev metric each time training measured it. */
  devMetrics = $state<{ step: number; value: number }[]>([]);
  /** The finished runs in the store (runs.list), and the one chosen for Run and Export; none chosen: this session's. */
  finishedRuns = $state<readonly RunListing[]>([]);
  chosenRunDir = $state<string | undefined>();
  /** Run step: the dataset of notes, the `predict` job, and the results export form. */
  notesDataset = $state('');
  predictJobId = $state<string | undefined>();
  resultsFormat = $state<ResultFormat>('jsonl');
  resultsOut = $state('');
  resultsWritten = $state<{ file: string; notes: number } | undefined>();
  /** Export step: the pack about to be written (checked first), the one written, and a pack being imported. */
  packName = $state('');
  packOut = $state('');
  packPreview = $state<PackPreviewView | undefined>();
  phiReviewed = $state(false);
  packWritten = $state<PackExportView | undefined>();
  importFile = $state('');
  importChecked = $state<{ inspection: PackInspectionView; verification: PackVerificationView } | undefined>();
  allowUntrusted = $state(false);
  imported = $state<PackImportView | undefined>();
  /** Task step: the type, the dataset it is set up on, its label set and template, and where adaptation starts. */
  taskType = $state<TaskType | undefined>();
  taskDataset = $state('');
  taskLabels = $state<string[]>([]);
  template = $state('');
  start = $state<'shipped' | 'pack' | 'scratch'>('shipped');
  startPack = $state<{ name: string; version: number } | undefined>();
  /** Label step: how many examples the person means to label, and the dataset their labels make. */
  labelK = $state(5);
  labelledDataset = $state('');

  readonly #api: ClinPromptApi;

  constructor(api: ClinPromptApi) {
    this.#api = api;
    this.jobs = new JobsState(api);
    api.on('jobs.onDidProgress', (p) => {
      if (p.jobId !== this.trainJobId) return;
      if (p.loss !== undefined && p.step > 0) this.losses[p.step - 1] = p.loss;
      if (p.metric !== undefined) this.devMetrics.push({ step: p.step, value: p.metric });
    });
  }

  /** Follows a training job just started or resumed: what was evaluated or packed belonged to the run before. */
  followTrainJob(state: JobState, keepCurve: boolean): void {
    this.jobs.byId[state.jobId] ??= state;
    if (!keepCurve) [this.losses, this.devMetrics] = [[], []];
    [this.evaluateJobId, this.predictJobId, this.packPreview] = [undefined, undefined, undefined];
    // a new run is scored where the Evaluate step suggests, until chosen otherwise
    [this.evaluateDataset, this.evaluateRunDir] = ['', undefined];
    this.trainJobId = state.jobId;
  }

  get trainJob(): JobState | undefined {
    return this.trainJobId === undefined ? undefined : this.jobs.byId[this.trainJobId];
  }

  /** The finished run the Evaluate step scores. */
  get run(): AdaptRunView | undefined {
    const job = this.trainJob;
    return job?.status === 'succeeded' ? (job.result as AdaptRunView) : undefined;
  }

  /** The prompt Run and Export use: the finished run chosen, else the one trained in this session, else the newest. */
  get promptRun(): RunListing | undefined {
    const dir = this.chosenRunDir ?? this.run?.outDir;
    return this.finishedRuns.find((r) => r.outDir === dir) ?? (dir === undefined ? this.finishedRuns[0] : undefined);
  }

  /** Reads the finished runs again (a run trained since, or a restart). */
  async refreshRuns(): Promise<void> {
    this.finishedRuns = await this.#api['runs.list']();
  }

  /** Another prompt: what the Export step checked was for the previous one. */
  choosePromptRun(outDir: string): void {
    if (outDir === this.promptRun?.outDir) return;
    this.chosenRunDir = outDir;
    this.packPreview = undefined;
    this.packWritten = undefined;
    this.packName = '';
  }

  get evaluateJob(): JobState | undefined {
    return this.evaluateJobId === undefined ? undefined : this.jobs.byId[this.evaluateJobId];
  }

  get evaluation(): EvaluationView | undefined {
    const job = this.evaluateJob;
    return job?.status === 'succeeded' ? (job.result as EvaluationView) : undefined;
  }

  get predictJob(): JobState | undefined {
    return this.predictJobId === undefined ? undefined : this.jobs.byId[this.predictJobId];
  }

  get noteRun(): NoteRunView | undefined {
    const job = this.predictJob;
    return job?.status === 'succeeded' ? (job.result as NoteRunView) : undefined;
  }

  /** The Task step's choices as the Label and Adapt requests take them. */
  get taskSetup(): TaskSetup | undefined {
    if (this.taskType === undefined) return undefined;
    return { type: this.taskType, labels: [...this.taskLabels], template: this.template };
  }

  /** A new backbone invalidates what was trained on the old one. */
  chooseBackbone(view: BackboneView, folder: string | undefined): void {
    if (this.backbone?.folder !== view.folder) {
      this.trainJobId = undefined;
      this.evaluateJobId = undefined;
      this.predictJobId = undefined;
      this.packPreview = undefined;
      this.losses = [];
      this.devMetrics = [];
      this.method = undefined;
    }
    this.backbone = view;
    this.backboneFolder = folder;
  }
}
