// Runs before the app's modules. The page's CSP forbids eval, so zod must not probe for it: the probe alone is
// reported as a violation, and zod probes as soon as a schema is built, before any app code could configure it.
globalThis.__zod_globalConfig = Object.assign(globalThis.__zod_globalConfig || {}, { jitless: true });
