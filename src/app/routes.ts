// The studio's pages, in pipeline order. Each page is a component that renders state classes.
import type { Component } from 'svelte';

export interface Route {
  /** The URL hash, e.g. "playground" for #/playground. */
  path: string;
  title: string;
  load: () => Promise<{ default: Component }>;
}

export const routes: Route[] = [
  { path: 'datasets', title: 'Datasets', load: () => import('./pages/DatasetsPage.svelte') },
  { path: 'teacher', title: 'Teacher', load: () => import('./pages/TeacherPage.svelte') },
  { path: 'playground', title: 'Playground', load: () => import('./pages/PlaygroundPage.svelte') },
  { path: 'train', title: 'Train', load: () => import('./pages/TrainPage.svelte') },
  { path: 'rerank', title: 'Rerank', load: () => import('./pages/RerankPage.svelte') },
  { path: 'evaluate', title: 'Evaluate', load: () => import('./pages/EvaluatePage.svelte') },
  { path: 'human-eval', title: 'Human eval', load: () => import('./pages/HumanEvalPage.svelte') },
  { path: 'reports', title: 'Reports', load: () => import('./pages/ReportsPage.svelte') },
  { path: 'workshop', title: 'Workshop', load: () => import('./pages/WorkshopPage.svelte') },
];
