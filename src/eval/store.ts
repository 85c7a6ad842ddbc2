// EvalStore: evaluation sets, answer sets, judge and ROUGE runs, score files and human rating sessions, in their
// stores of StudioDB. Ratings are written on every change, so a reload resumes exactly where the rater was.
import type { IDBPDatabase } from 'idb';
import { openStudioDB, type StudioDB } from '../data/db';
import type { HhhRating, HhhSession } from './hhh';
import type { AnswerSetRecord, EvalSetRecord, JudgeRunRecord, RougeRunRecord, ScoreFileRecord } from './store-records';

export type { AnswerOrigin, AnswerSetRecord, EvalSetRecord, JudgeRunRecord, RougeRunRecord, ScoreFileRecord } from './store-records';

const newest = <T extends { createdAt: number }>(xs: T[]) => xs.sort((a, b) => b.createdAt - a.createdAt);

export class EvalStore {
  constructor(readonly db: IDBPDatabase<StudioDB>) {}

  static async open(name?: string): Promise<EvalStore> {
    return new EvalStore(await openStudioDB(name));
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
