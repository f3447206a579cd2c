// Shared fixture for the conformance tests: the test schema and permission rules,
// a per-file server + app (node:test before/after hooks), fixed ids, and an
// assertion helper for Instant API errors.

import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import { init, i } from '@instantdb/admin';
import { startServer, createApp } from './server.mjs';

/** The app schema pushed when the test app is created (client schema JSON, spec Part A). */
export const schema = i.schema({
  entities: {
    goals: i.entity({
      title: i.string().unique().indexed(),
      priority: i.number().indexed(),
      done: i.boolean().optional(),
      meta: i.json().optional(),
      dueDate: i.date().optional(),
    }),
    todos: i.entity({
      title: i.string(),
      rank: i.number().optional(),
    }),
    authors: i.entity({
      handle: i.string().unique().indexed(),
      name: i.string().optional(),
    }),
    posts: i.entity({
      title: i.string(),
    }),
    comments: i.entity({
      text: i.string(),
    }),
    docs: i.entity({
      title: i.string(),
      ownerId: i.string(),
    }),
    notes: i.entity({
      text: i.string(),
    }),
    secrets: i.entity({
      code: i.string(),
      value: i.string(),
    }),
  },
  links: {
    goalsTodos: {
      forward: { on: 'goals', has: 'many', label: 'todos' },
      reverse: { on: 'todos', has: 'many', label: 'goals' },
    },
    postsAuthor: {
      forward: { on: 'posts', has: 'one', label: 'author' },
      reverse: { on: 'authors', has: 'many', label: 'posts' },
    },
    commentsPost: {
      forward: { on: 'comments', has: 'one', label: 'post', onDelete: 'cascade' },
      reverse: { on: 'posts', has: 'many', label: 'comments' },
    },
  },
  rooms: {},
});

/** Permission rules (spec schema-and-platform.md Part D). Namespaces not listed are open. */
export const perms = {
  docs: {
    allow: { view: 'isOwner', create: 'isOwner', update: 'isOwner', delete: 'isOwner' },
    bind: ['isOwner', 'auth.id != null && auth.id == data.ownerId'],
  },
  notes: {
    allow: { view: 'true', create: 'false', update: 'false', delete: 'false' },
  },
  secrets: {
    allow: { view: 'ruleParams.code == data.code', create: 'true', update: 'ruleParams.code == data.code', delete: 'false' },
  },
};

/** A fixed, readable UUID v4: `uid(0x12)` = "00000000-0000-4000-8000-000000000012". */
export function uid(n) {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Registers before/after hooks that start instant-local and create an app with
 * `schema` and `perms`. Returns a context object filled in by `before`:
 * `{ server, url, appId, adminToken, db (init with schema), raw (init without schema) }`.
 * `seed(ctx)`, if given, runs after the app exists (use it instead of another root before()).
 */
export function setupApp({ title = 'js-conformance', withSchema = true, withPerms = true, seed } = {}) {
  const ctx = {};
  before(async () => {
    ctx.server = await startServer();
    ctx.url = ctx.server.url;
    const app = await createApp(ctx.url, {
      title,
      schema: withSchema ? schema : undefined,
      perms: withPerms ? perms : undefined,
    });
    ctx.appId = app.appId;
    ctx.adminToken = app.adminToken;
    ctx.db = init({ appId: app.appId, adminToken: app.adminToken, apiURI: ctx.url, schema });
    ctx.raw = init({ appId: app.appId, adminToken: app.adminToken, apiURI: ctx.url });
    // Seeding runs inside this hook: Node 20 starts several root-level before()
    // hooks without waiting for the previous one.
    if (seed) await seed(ctx);
  });
  after(async () => {
    if (!ctx.server) return;
    await ctx.server.stop();
    if (process.env.INSTANT_LOCAL_LOG) process.stderr.write(`--- instant-local output (${title}) ---\n${ctx.server.output()}\n`);
  });
  return ctx;
}

/**
 * Awaits `promise`, expects it to reject with an InstantAPIError of the given
 * HTTP `status` and body `type`; `message` (string: exact, RegExp: match) is
 * checked when given. Returns the error for further checks.
 */
export async function expectApiError(promise, { status, type, message }) {
  let err;
  try {
    const value = await promise;
    assert.fail(`expected an API error (${status} ${type}), got success: ${JSON.stringify(value)}`);
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    err = e;
  }
  assert.equal(err.name, 'InstantAPIError', `expected InstantAPIError, got ${err.name}: ${err.message}`);
  assert.equal(err.status, status, `status; body: ${JSON.stringify(err.body)}`);
  assert.equal(err.body?.type, type, `type; body: ${JSON.stringify(err.body)}`);
  if (message instanceof RegExp) assert.match(err.body.message, message);
  else if (message !== undefined) assert.equal(err.body.message, message);
  return err;
}

/** Sorts entity objects by id (for results whose order the spec does not fix). */
export function byId(list) {
  return [...list].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
