// Preloaded by run-unit-tests.mjs: `server-only` throws outside a React Server Components build
// (that is its purpose), so under node:test it resolves to an empty module. Services keep the
// import, and Next.js still refuses to bundle them into client code.
import { register } from 'node:module';

register('data:text/javascript,' + encodeURIComponent(`
export async function resolve(specifier, context, next) {
  if (specifier === 'server-only') return { url: 'data:text/javascript,export{}', shortCircuit: true };
  return next(specifier, context);
}`));
