// @instantdb/platform against instant-local: temporary app creation (no auth),
// schema pull / push, perms pull / push, using the app's admin token as bearer
// (accepted on single-app endpoints, schema-and-platform.md E.1), and the
// admin SDK working on the new app.
// Facts: /work/shared/spec/schema-and-platform.md Parts A, B, D, E.

import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PlatformApi } from '@instantdb/platform';
import { init, i } from '@instantdb/admin';
import { startServer } from '../lib/server.mjs';
import { schema, perms, UUID_RE } from '../lib/fixture.mjs';

const ctx = {};
before(async () => {
  ctx.server = await startServer();
  ctx.url = ctx.server.url;
  ctx.started = Date.now();
  const api = new PlatformApi({ apiURI: ctx.url });
  ctx.created = await api.createTemporaryApp({ title: 'platform tmp', schema, rules: { code: perms } });
  ctx.app = ctx.created.app;
});
after(async () => {
  if (ctx.server) await ctx.server.stop();
});

const attr = (valueType, { required = true, indexed = false, unique = false } = {}) => ({
  valueType,
  required,
  indexed,
  unique,
});

/** The facts of a schema def that survive a push/pull round trip (schema-and-platform.md A.6). */
function normalize(def) {
  const entities = {};
  for (const [ns, ent] of Object.entries(def.entities)) {
    if (ns.startsWith('$')) continue;
    entities[ns] = {};
    for (const [label, a] of Object.entries(ent.attrs)) {
      entities[ns][label] = attr(a.valueType === 'json' ? 'json' : a.valueType, {
        required: a.required === true,
        indexed: !!a.config?.indexed,
        unique: !!a.config?.unique,
      });
    }
  }
  const links = [];
  for (const l of Object.values(def.links)) {
    if (l.forward.on.startsWith('$') || l.reverse.on.startsWith('$')) continue;
    links.push([
      l.forward.on, l.forward.label, l.forward.has, l.forward.onDelete ?? null,
      l.reverse.on, l.reverse.label, l.reverse.has, l.reverse.onDelete ?? null,
    ].join(' '));
  }
  return { entities, links: links.sort() };
}

test('createTemporaryApp with schema and rules; pull both back', async () => {
  const { app, expiresMs } = ctx.created;
  assert.match(app.id, UUID_RE);
  assert.match(app.adminToken, UUID_RE);
  assert.equal(app.title, 'platform tmp');
  assert.ok(app.createdAt instanceof Date && !Number.isNaN(app.createdAt.getTime()), 'createdAt is a date');
  assert.ok(Math.abs(app.createdAt.getTime() - ctx.started) < 60_000, 'createdAt is now');
  const fourteenDays = 14 * 24 * 3600 * 1000;
  assert.ok(Math.abs(expiresMs - (app.createdAt.getTime() + fourteenDays)) < 2000, `expiresMs ${expiresMs}`);

  const auth = new PlatformApi({ apiURI: ctx.url, auth: { token: app.adminToken } });
  const pulled = await auth.getSchema(app.id);
  assert.deepEqual(normalize(pulled.schema), normalize(JSON.parse(JSON.stringify(schema))));
  assert.deepEqual(await auth.getPerms(app.id), { perms });
});

test('the admin SDK works on the temporary app', async () => {
  const { app } = ctx;
  const db = init({ appId: app.id, adminToken: app.adminToken, apiURI: ctx.url, schema });
  const gid = '00000000-0000-4000-8000-000000000501';
  await db.transact(db.tx.goals[gid].create({ title: 'platform goal', priority: 1 }));
  assert.deepEqual(await db.query({ goals: {} }), { goals: [{ id: gid, title: 'platform goal', priority: 1 }] });
});

test('schemaPush adds an entity, attributes and a link; getSchema shows them', async () => {
  const { app } = ctx;
  const api = new PlatformApi({ apiURI: ctx.url, auth: { token: app.adminToken } });
  const next = i.schema({
    entities: {
      ...schema.entities,
      tags: i.entity({ label: i.string().unique().indexed(), weight: i.number().optional() }),
    },
    links: {
      ...schema.links,
      goalsTags: {
        forward: { on: 'goals', has: 'many', label: 'tags' },
        reverse: { on: 'tags', has: 'many', label: 'goals' },
      },
    },
    rooms: {},
  });
  const res = await api.schemaPush(app.id, { schema: next });
  assert.deepEqual(normalize(res.newSchema), normalize(JSON.parse(JSON.stringify(next))));
  assert.ok(Array.isArray(res.steps) && res.steps.length > 0, 'push reports its steps');
  const pulled = await api.getSchema(app.id);
  assert.deepEqual(normalize(pulled.schema), normalize(JSON.parse(JSON.stringify(next))));

  // the new attributes are usable with throw-on-missing-attrs? (schema client)
  const db = init({ appId: app.id, adminToken: app.adminToken, apiURI: ctx.url, schema: next });
  const t = '00000000-0000-4000-8000-000000000502';
  await db.transact([
    db.tx.tags[t].create({ label: 'health', weight: 2 }),
    db.tx.goals['00000000-0000-4000-8000-000000000501'].link({ tags: t }),
  ]);
  assert.deepEqual(await db.query({ tags: { goals: { $: { fields: ['title'] } } } }), {
    tags: [{ id: t, label: 'health', weight: 2, goals: [{ id: '00000000-0000-4000-8000-000000000501', title: 'platform goal' }] }],
  });
});

test('pushPerms returns the new rules and getPerms reads them back; the rules apply', async () => {
  const { app } = ctx;
  const api = new PlatformApi({ apiURI: ctx.url, auth: { token: app.adminToken } });
  const next = { ...perms, goals: { allow: { view: 'false', create: 'false', update: 'false', delete: 'false' } } };
  assert.deepEqual(await api.pushPerms(app.id, { perms: next }), { perms: next });
  assert.deepEqual(await api.getPerms(app.id), { perms: next });
  // pushing identical rules again still returns them (spec: "Always return the stored rules")
  assert.deepEqual(await api.pushPerms(app.id, { perms: next }), { perms: next });
  const db = init({ appId: app.id, adminToken: app.adminToken, apiURI: ctx.url });
  assert.deepEqual(await db.asUser({ guest: true }).query({ goals: {} }), { goals: [] });
  assert.equal((await db.query({ goals: {} })).goals.length, 1);
});

test("an admin token does not open another app's platform endpoints", async () => {
  const api = new PlatformApi({ apiURI: ctx.url });
  const { app: other } = await api.createTemporaryApp({ title: 'other' });
  const wrong = new PlatformApi({ apiURI: ctx.url, auth: { token: ctx.app.adminToken } });
  let err;
  try {
    await wrong.getPerms(other.id);
  } catch (e) {
    err = e;
  }
  assert.ok(err, 'expected an error');
  assert.equal(err.status, 400);
  assert.equal(err.body?.type, 'validation-failed');
  assert.equal(err.body?.hint?.reason, 'admin-token-mismatch');
});

test('a temporary app without schema or rules: empty schema, null perms', async () => {
  const api = new PlatformApi({ apiURI: ctx.url });
  const { app } = await api.createTemporaryApp({ title: 'bare' });
  const auth = new PlatformApi({ apiURI: ctx.url, auth: { token: app.adminToken } });
  assert.deepEqual(normalize((await auth.getSchema(app.id)).schema), { entities: {}, links: [] });
  assert.deepEqual(await auth.getPerms(app.id), { perms: null });
});
