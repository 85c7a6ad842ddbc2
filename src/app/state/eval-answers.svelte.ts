// The Evaluate page's answer generator: an answer set for an eval set, written by the model loaded in the engine
// (a few questions per generate() call, adapter and sampling recorded) or by an API model through the teacher's
// job runner (the Teacher page's endpoint and key; answers already paid for come back from the request cache).
// A set is stored only when every question is answered.
import type { EngineApi, ModelInfo } from '../../engine/api';
import { AnswerJob, answerRows, apiJobSpec, checkNumber, localRequests, type ApiSettings } from '../../eval/answers';
import type { AnswerRow } from '../../eval/eval-set';
import type { AnswerOrigin, EvalSetRecord, EvalStore } from '../../eval/store';
import { normalizeBaseURL, OPENAI_BASE_URL } from '../../teacher/client';
import { redact } from '../../teacher/errors';
import { JobRunner } from '../../teacher/runner';
import { API_KEY, DEFAULT_SETTINGS, SETTINGS_KEY, type TeacherSettings } from '../../teacher/settings';
import { messageOf } from '../lib/message';
import type { Services } from '../services';

export type ApiEndpoint = Pick<TeacherSettings, 'baseURL' | 'teacherModel' | 'concurrency' | 'maxAttempts' | 'budgetUSD' | 'prices'>;

export type AnswerSource = 'local' | 'api';

/** What the answer generator is asked to do. */
export interface AnswerForm {
  evalSetId: string;
  source: AnswerSource;
  /** The answer set's name; empty means the model's name. */
  name: string;
  /** Local: how the engine formats each question. */
  mode: 'chat' | 'alpaca';
  temperature: number;
  topP: number;
  topK: number;
  seed: number;
  /** Local model. */
  maxNewTokens: number;
  /** API model. */
  maxTokens: number;
  apiModel: string;
}

/** The engine as the answer generator sees it (EngineState's model, load flag and the applied adapter). */
export interface LocalModel {
  engine: Pick<EngineApi, 'generate' | 'cancel'>;
  info: ModelInfo | null;
  loading: boolean;
  /** The applied LoRA adapter's name, or null for the base model. */
  adapter: string | null;
  /** The engine slot holding that adapter (null: the base model). */
  slot: string | null;
}

/** What the generator uses of the Evaluate page's state: EvalState, named by its parts so neither file imports the other. */
export interface AnswerHost {
  readonly services: Services;
  error: string | null;
  notice: string | null;
  hasStoredKey: boolean;
  /** A key typed on the page for this page load. */
  sessionKey: string;
  evalSet(id: string): EvalSetRecord | undefined;
  apiKey(): Promise<string>;
  refresh(): Promise<void>;
  task<T>(label: string, fn: (store: EvalStore) => Promise<T>): Promise<T | undefined>;
}

export class AnswerGenerator {
  form = $state<AnswerForm>({
    evalSetId: '', source: 'local', name: '', mode: 'chat', temperature: 0.7, topP: 0.9, topK: 40, seed: 42,
    maxNewTokens: 256, maxTokens: 512, apiModel: '',
  });
  /** The Teacher page's endpoint settings, read when the generator opens (the key is never kept here). */
  teacherSettings = $state.raw<ApiEndpoint | null>(null);
  /** Questions answered so far by the answer run in flight. */
  progress = $state<{ done: number; total: number } | null>(null);
  generating = $state(false);
  #cancel: (() => void) | null = null;

  constructor(private readonly evals: AnswerHost) {}

  /** Reads the Teacher page's endpoint settings and whether it stored a key; again each time the generator opens. */
  async loadTeacherSettings(): Promise<void> {
    try {
      const settings = (await this.evals.services.stores()).settings;
      const saved = await settings.get<Partial<ApiEndpoint>>(SETTINGS_KEY);
      this.teacherSettings = { ...DEFAULT_SETTINGS, ...saved };
      this.evals.hasStoredKey = !!(await settings.get<string>(API_KEY));
      if (!this.form.apiModel.trim()) this.form.apiModel = this.teacherSettings.teacherModel;
    } catch (e) {
      this.evals.error = messageOf(e);
    }
  }

  /** Prompt formats the local model can use: its chat template when it has one, else Alpaca's. */
  localModes(model: ModelInfo | null): AnswerForm['mode'][] {
    return model?.hasChatTemplate ? ['chat', 'alpaca'] : ['alpaca'];
  }

  /** The answer set's name when none is typed: the model (and adapter) that writes it. */
  defaultName(local: LocalModel): string {
    if (this.form.source === 'api') return this.form.apiModel.trim();
    if (!local.info) return '';
    return local.adapter ? `${local.info.label} + ${local.adapter}` : local.info.label;
  }

  /** Why answers cannot be generated now, or null when they can. */
  blocker(local: LocalModel): string | null {
    const f = this.form;
    if (!this.evals.evalSet(f.evalSetId)) return 'Import an eval set first, or pick one.';
    if (f.source === 'local') {
      if (local.loading) return 'A model is loading; wait for it to finish.';
      if (!local.info) return 'No model is loaded: load one on the Playground page (it stays loaded on every page).';
      if (!local.info.hasTokenizer) {
        return `${local.info.label} has no tokenizer: questions are text, so load a model that comes with tokenizer.json.`;
      }
      return null;
    }
    if (!this.teacherSettings) return 'Reading the Teacher page’s settings…';
    if (!this.evals.hasStoredKey && !this.evals.sessionKey.trim()) return 'No API key: store one on the Teacher page (with its base URL), then come back.';
    if (!f.apiModel.trim()) return 'Enter the API model’s name.';
    return null;
  }

  /** Answers every question of the form's eval set and stores the answers as a new answer set. */
  async generate(local: LocalModel): Promise<void> {
    if (this.generating) return;
    const blocker = this.blocker(local);
    if (blocker) {
      this.evals.error = blocker;
      return;
    }
    const f = $state.snapshot(this.form);
    await this.evals.task('Generating answers…', async (store) => {
      const evalSet = this.evals.evalSet(f.evalSetId)!;
      const name = f.name.trim() || this.defaultName(local);
      this.generating = true;
      this.progress = { done: 0, total: evalSet.items.length };
      try {
        const made = f.source === 'local' ? await this.#answerLocally(local, evalSet, f) : await this.#answerByApi(evalSet, f, name);
        if (!made) return;
        await store.putAnswerSet({ id: crypto.randomUUID(), name, origin: made.origin, rows: made.rows, createdAt: Date.now() });
        await this.evals.refresh();
        this.form.name = '';
        this.evals.notice = `Generated ${made.rows.length} answers as “${name}”.`;
      } finally {
        this.generating = false;
        this.progress = null;
        this.#cancel = null;
      }
    });
  }

  /** Stops the answer run in flight; nothing of it is saved. */
  cancel(): void {
    this.#cancel?.();
  }

  #cancelledNotice(done: number, total: number, extra = ''): void {
    this.evals.notice = `Cancelled after ${done} of ${total} answers; no answer set was saved (one is saved only when every question is answered).${extra}`;
  }

  async #answerLocally(local: LocalModel, evalSet: EvalSetRecord, f: AnswerForm): Promise<{ rows: AnswerRow[]; origin: AnswerOrigin } | null> {
    const model = local.info!;
    const sampling = {
      temperature: checkNumber('Temperature', f.temperature, 0, 10),
      topK: checkNumber('Top-k', f.topK, 0, 1e6, true),
      topP: checkNumber('Top-p', f.topP, 0, 1),
      seed: checkNumber('Seed', f.seed, 0, 2 ** 32 - 1, true),
    };
    const maxNewTokens = checkNumber('Max new tokens', f.maxNewTokens, 1, model.config.maxPositionEmbeddings, true);
    const mode = this.localModes(model).includes(f.mode) ? f.mode : 'alpaca';
    const total = evalSet.items.length;
    const texts: string[] = [];
    let cancelled = false;
    this.#cancel = () => {
      cancelled = true;
      void local.engine.cancel();
    };
    for (const call of localRequests(evalSet.items, { mode, sampling, maxNewTokens })) {
      // A cancel between two calls finds no generate() running: the flag stops the next one.
      if (cancelled) break;
      const result = await local.engine.generate({ ...call.request, adapter: local.slot });
      if (result.samples.some((s) => s.finishReason === 'cancelled')) {
        cancelled = true;
        break;
      }
      texts.push(...[...result.samples].sort((a, b) => a.prompt - b.prompt).map((s) => s.text));
      this.progress = { done: texts.length, total };
    }
    if (cancelled) {
      this.#cancelledNotice(texts.length, total);
      return null;
    }
    return {
      rows: answerRows(evalSet.items, texts, local.adapter ? `${model.label} + ${local.adapter}` : model.label),
      origin: {
        kind: 'local', model: model.label, ...(local.adapter ? { adapter: local.adapter } : {}),
        temperature: sampling.temperature, top_p: sampling.topP, top_k: sampling.topK, seed: sampling.seed, max_new_tokens: maxNewTokens,
      },
    };
  }

  async #answerByApi(evalSet: EvalSetRecord, f: AnswerForm, name: string): Promise<{ rows: AnswerRow[]; origin: AnswerOrigin } | null> {
    const t = this.teacherSettings!;
    const params = {
      temperature: checkNumber('Temperature', f.temperature, 0, 2),
      top_p: checkNumber('Top-p', f.topP, 0, 1),
      max_tokens: checkNumber('Max tokens', f.maxTokens, 1, 1e6, true),
    };
    const settings: ApiSettings = {
      baseURL: normalizeBaseURL(t.baseURL) || OPENAI_BASE_URL, model: f.apiModel.trim(), params,
      concurrency: t.concurrency, maxAttempts: t.maxAttempts, budgetUSD: t.budgetUSD, prices: t.prices,
    };
    const key = await this.evals.apiKey();
    const run = AnswerJob.create(apiJobSpec(name, settings), evalSet.items, (await this.evals.services.stores()).jobs);
    const runner = new JobRunner(run.job.id, {
      store: run.store, chat: await this.evals.services.teacher({ baseURL: settings.baseURL, apiKey: key }),
      onProgress: (p) => (this.progress = { done: p.done, total: p.total }),
    });
    this.#cancel = () => runner.cancel();
    const job = await runner.run();
    const answers = await run.answers();
    const total = answers.length;
    const done = answers.filter((a) => a !== null).length;
    const unsaved = `no answer set was saved. Generate again to finish: the ${done} answers received come from the request cache.`;
    if (job.status === 'cancelled') {
      this.#cancelledNotice(done, total, ' The answers received stay in the request cache: generating again asks only for the rest.');
      return null;
    }
    if (job.status === 'failed') throw new Error(redact(`The endpoint refused the run (${job.error ?? 'no reason given'}); ${unsaved}`, [key]));
    if (job.status === 'budget') throw new Error(`Stopped at the Teacher page’s budget of $${t.budgetUSD} after ${done} of ${total} answers; ${unsaved}`);
    if (done < total) {
      const first = await run.firstError();
      throw new Error(redact(`${total - done} of ${total} questions got no answer (${first ?? 'unknown error'}); ${unsaved}`, [key]));
    }
    return {
      rows: answerRows(evalSet.items, answers as string[], settings.model),
      origin: { kind: 'api', baseURL: settings.baseURL, model: settings.model, ...params },
    };
  }
}
