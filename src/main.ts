import { mount } from 'svelte';
import { config } from 'zod';
import App from './app/App.svelte';
import './app/app.css';

// The page's CSP forbids eval: zod must not probe for it (the probe alone is reported as a violation).
config({ jitless: true });
mount(App, { target: document.getElementById('app')! });
