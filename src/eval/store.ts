// EvalStore: evaluation sets, answer sets, judge and ROUGE runs, and human rating sessions in IndexedDB.
// Its own database beside StudioDB, grown by appending migrations like StudioDB. Ratings are written on every
// change, so a reload resumes exactly where the rater was.
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { AnswerRow, EvalItem } from './eval-set';
import type { HhhRating, HhhSession } from './hhh';
import type { JudgePromptId } from './judge-prompts';
import type { Verdict } from './judge';
import type { RankingTag } from './ranking';
import type { RougeReport } from './rouge-report';
import type { ScoreDistribution } from './score-file';

export interface EvalSetRecord {
  id: string;
  name: string;
  items: EvalItem[];
  createdAt: number;
}

/** Where an answer set came from: a file, or a model run (sampling recorded; a reranking group says which). */
export type AnswerOrigin =
  | { kind: 'file'; name: string }
  | {
    kind: 'local'; model: string; adapter?: string; temperature: number; top_p: number; top_k: number; seed: number; max_new_tokens: number;
    /** One group of a reward-model ranking run (Rerank page): B or R1..Rn. */
    ranking?: RankingTag;
  }
  | { kind: 'api'; baseURL: string; model: string; temperature: number; top_p: number; max_tokens: number };

export interface AnswerSetRecord {
  id: string;
  /** The model's name as shown in reports ("LLaMA-GPT4 7B", "SmolLM2 + LoRA"). */
  name: string;
  origin: AnswerOrigin;
  rows: AnswerRow[];
  createdAt: number;
}

export interface JudgeRunRecord {
  id: string;
  name: string;
  createdAt: number;
  prompt: JudgePromptId;
  /** The judge: model name and endpoint (never the key). */
  model: string;
  baseURL: string;
  evalSetId: string;
  answerSets: { a: string; b: string };
  labels: { a: string; b: string };
  verdicts: Verdict[];
}

export interface RougeRunRecord {
  id: string;
  name: string;
  createdAt: number;
  stem: boolean;
  cjk: boolean;
  report: RougeReport;
}

/** A score file (the paper's gpt4_llm_cmp_data_scores.json or one like it), kept as its distributions. */
export interface ScoreFileRecord {
  id: string;
  name: string;
  createdAt: number;
  models: ScoreDistribution[];
}

export interface EvalDB extends DBSchema {
  evalSets: { key: string; value: EvalSetRecord };
  answerSets: { key: string; value: AnswerSetRecord };
  judgeRuns: { key: string; value: JudgeRunRecord };
  rougeRuns: { key: string; value: RougeRunRecord };
  hhhSessions: { key: string; value: HhhSession };
  /** Keyed by [sessionId, rater, itemId]. */
  hhhRatings: { key: [string, string, string]; value: HhhRating };
  /** Where each rater is in each session: keyed by [sessionId, rater]. */
  hhhProgress: { key: [string, string]; value: { sessionId: string; rater: string; index: number } };
  scoreFiles: { key: string; value: ScoreFileRecord };
}

export const EVAL_DB_NAME = 'instruct-studio-eval';

/** migrations[i] upgrades version i to i + 1. Append only. */
const migrations: ((db: IDBPDatabase<EvalDB>) => void)[] = [
  (db) => {
    db.createObjectStore('evalSets', { keyPath: 'id' });
    db.createObjectStore('answerSets', { keyPath: 'id' });
    db.createObjectStore('judgeRuns', { keyPath: 'id' });
    db.createObjectStore('rougeRuns', { keyPath: 'id' });
    db.createObjectStore('hhhSessions', { keyPath: 'id' });
    db.createObjectStore('hhhRatings', { keyPath: ['sessionId', 'rater', 'itemId'] });
    db.createObjectStore('hhhProgress', { keyPath: ['sessionId', 'rater'] });
  },
  (db) => {
    db.createObjectStore('scoreFiles', { keyPath: 'id' });
  },
];

const newest = <T extends { createdAt: number }>(xs: T[]) => xs.sort((a, b) => b.createdAt - a.createdAt);

export class EvalStore {
  constructor(readonly db: IDBPDatabase<EvalDB>) {}

  static async open(name = EVAL_DB_NAME): Promise<EvalStore> {
    const db = await openDB<EvalDB>(name, migrations.length, {
      upgrade(db, oldVersion) {
        for (let v = oldVersion; v < migrations.length; v++) migrations[v](db);
      },
      blocking(_current, _blocked, event) {
        (event.target as IDBDatabase).close();
      },
    });
    return new EvalStore(db);
  }

  async evalSets(): Promise<EvalSetRecord[]> {
    return newest(await this.db.getAll('evalSets'));
  }
  async putEvalSet(record: EvalSetRecord): Promise<void> {
    await this.db.put('evalSets', record);
  }
  async evalSet(id: string): Promise<EvalSetRecord | undefined> {
    return this.db.get('evalSets', id);
  }

  async answerSets(): Promise<AnswerSetRecord[]> {
    return newest(await this.db.getAll('answerSets'));
  }
  async putAnswerSet(record: AnswerSetRecord): Promise<void> {
    await this.db.put('answerSets', record);
  }
  async answerSet(id: string): Promise<AnswerSetRecord | undefined> {
    return this.db.get('answerSets', id);
  }
  async deleteAnswerSet(id: string): Promise<void> {
    await this.db.delete('answerSets', id);
  }

  async judgeRuns(): Promise<JudgeRunRecord[]> {
    return newest(await this.db.getAll('judgeRuns'));
  }
  async putJudgeRun(record: JudgeRunRecord): Promise<void> {
    await this.db.put('judgeRuns', record);
  }
  async deleteJudgeRun(id: string): Promise<void> {
    await this.db.delete('judgeRuns', id);
  }

  async rougeRuns(): Promise<RougeRunRecord[]> {
    return newest(await this.db.getAll('rougeRuns'));
  }
  async putRougeRun(record: RougeRunRecord): Promise<void> {
    await this.db.put('rougeRuns', record);
  }
  async deleteRougeRun(id: string): Promise<void> {
    await this.db.delete('rougeRuns', id);
  }

  async scoreFiles(): Promise<ScoreFileRecord[]> {
    return newest(await this.db.getAll('scoreFiles'));
  }
  async putScoreFile(record: ScoreFileRecord): Promise<void> {
    await this.db.put('scoreFiles', record);
  }
  async deleteScoreFile(id: string): Promise<void> {
    await this.db.delete('scoreFiles', id);
  }

  async sessions(): Promise<HhhSession[]> {
    return newest(await this.db.getAll('hhhSessions'));
  }
  async session(id: string): Promise<HhhSession | undefined> {
    return this.db.get('hhhSessions', id);
  }
  async putSession(session: HhhSession): Promise<void> {
    await this.db.put('hhhSessions', session);
  }
  /** Deletes a session with every rater's ratings and place in it. */
  async deleteSession(id: string): Promise<void> {
    const tx = this.db.transaction(['hhhSessions', 'hhhRatings', 'hhhProgress'], 'readwrite');
    await Promise.all([
      tx.objectStore('hhhSessions').delete(id),
      tx.objectStore('hhhRatings').delete(IDBKeyRange.bound([id], [id, []])),
      tx.objectStore('hhhProgress').delete(IDBKeyRange.bound([id], [id, []])),
      tx.done,
    ]);
  }

  /** Every rating of a session, all raters. */
  async ratings(sessionId: string): Promise<HhhRating[]> {
    return this.db.getAll('hhhRatings', IDBKeyRange.bound([sessionId], [sessionId, []]));
  }
  async putRating(rating: HhhRating): Promise<void> {
    await this.db.put('hhhRatings', rating);
  }
  /** A session and its ratings in one transaction (imports): all of it is stored, or none. */
  async putSessionWithRatings(session: HhhSession, ratings: readonly HhhRating[]): Promise<void> {
    const tx = this.db.transaction(['hhhSessions', 'hhhRatings'], 'readwrite');
    const store = tx.objectStore('hhhRatings');
    await Promise.all([tx.objectStore('hhhSessions').put(session), ...ratings.map((r) => store.put(r)), tx.done]);
  }

  async progress(sessionId: string, rater: string): Promise<number> {
    return (await this.db.get('hhhProgress', [sessionId, rater]))?.index ?? 0;
  }
  async setProgress(sessionId: string, rater: string, index: number): Promise<void> {
    await this.db.put('hhhProgress', { sessionId, rater, index });
  }
}
