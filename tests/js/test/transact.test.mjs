// db.transact through the official @instantdb/admin against instant-local:
// every op (create, update, merge, link, unlink, delete, ruleParams), lookups in
// entity and link position, update {upsert:false}, cascade delete, atomicity,
// attribute auto-creation without a schema and the errors of the spec.
// Facts: /work/shared/spec/instaml-steps.md, semantics.md §5.

import test from 'node:test';
import assert from 'node:assert/strict';
import { lookup, id as newId } from '@instantdb/admin';
import { setupApp, uid, expectApiError, UUID_RE } from '../lib/fixture.mjs';

const ctx = setupApp({ title: 'transact' });

const one = async (db, ns, eid) => {
  const res = await db.query({ [ns]: { $: { where: { id: eid } } } });
  return res[ns];
};

test('create returns a numeric tx-id and the entity reads back exactly', async () => {
  const { db } = ctx;
  const g = uid(0x101);
  const res = await db.transact(db.tx.goals[g].create({ title: 'Create me', priority: 1, meta: { k: [1, 2] } }));
  assert.deepEqual(Object.keys(res), ['tx-id']);
  assert.equal(typeof res['tx-id'], 'number');
  assert.deepEqual(await one(db, 'goals', g), [{ id: g, title: 'Create me', priority: 1, meta: { k: [1, 2] } }]);
  const res2 = await db.transact(db.tx.goals[g].update({ done: true }));
  assert.ok(res2['tx-id'] > res['tx-id'], 'tx ids increase');
});

test('create on an existing entity fails', async () => {
  const { db } = ctx;
  const g = uid(0x102);
  await db.transact(db.tx.goals[g].create({ title: 'Exists', priority: 1 }));
  await expectApiError(db.transact(db.tx.goals[g].create({ title: 'Exists again', priority: 2 })), {
    status: 400,
    type: 'validation-failed',
    message: `Validation failed for tx-step: Creating entities that exist: ${g}`,
  });
  assert.deepEqual(await one(db, 'goals', g), [{ id: g, title: 'Exists', priority: 1 }]);
});

test('update upserts, replaces given attributes and keeps the others; null is stored', async () => {
  const { db } = ctx;
  const g = uid(0x103);
  await db.transact(db.tx.goals[g].update({ title: 'Upserted', priority: 4, done: false }));
  assert.deepEqual(await one(db, 'goals', g), [{ id: g, title: 'Upserted', priority: 4, done: false }]);
  await db.transact(db.tx.goals[g].update({ priority: 5, done: null }));
  assert.deepEqual(await one(db, 'goals', g), [{ id: g, title: 'Upserted', priority: 5, done: null }]);
});

test('update with {upsert:false} on a missing entity fails; on an existing one it updates', async () => {
  const { db } = ctx;
  const missing = uid(0x104);
  await expectApiError(db.transact(db.tx.goals[missing].update({ title: 'No', priority: 1 }, { upsert: false })), {
    status: 400,
    type: 'validation-failed',
    message: `Validation failed for tx-step: Updating entities that don't exist: ${missing}`,
  });
  assert.deepEqual(await one(db, 'goals', missing), []);
  const g = uid(0x105);
  await db.transact(db.tx.goals[g].create({ title: 'Strict', priority: 1 }));
  await db.transact(db.tx.goals[g].update({ priority: 2 }, { upsert: false }));
  assert.deepEqual(await one(db, 'goals', g), [{ id: g, title: 'Strict', priority: 2 }]);
});

test('merge deep-merges objects, null deletes a key, scalars and arrays replace', async () => {
  const { db } = ctx;
  const g = uid(0x106);
  await db.transact(db.tx.goals[g].create({ title: 'Merge', priority: 1, meta: { a: 1, b: { c: 1, d: [1] }, e: 'x' } }));
  await db.transact(db.tx.goals[g].merge({ meta: { a: null, b: { d: [2], f: true }, g: { h: 1 } } }));
  assert.deepEqual(await one(db, 'goals', g), [
    { id: g, title: 'Merge', priority: 1, meta: { b: { c: 1, d: [2], f: true }, e: 'x', g: { h: 1 } } },
  ]);
  // merge onto a missing value stores the patch verbatim; several merges in one tx apply in order
  const g2 = uid(0x107);
  await db.transact([
    db.tx.goals[g2].merge({ title: 'Merge2', priority: 1, meta: { x: 1 } }),
    db.tx.goals[g2].merge({ meta: { y: 2 } }),
  ]);
  assert.deepEqual(await one(db, 'goals', g2), [{ id: g2, title: 'Merge2', priority: 1, meta: { x: 1, y: 2 } }]);
  await expectApiError(db.transact(db.tx.goals[uid(0x108)].merge({ meta: {} }, { upsert: false })), {
    status: 400,
    type: 'validation-failed',
    message: `Validation failed for tx-step: Updating entities that don't exist: ${uid(0x108)}`,
  });
});

test('link and unlink, from both sides, single ids and arrays; linking twice is a no-op', async () => {
  const { db } = ctx;
  const g = uid(0x110), t1 = uid(0x111), t2 = uid(0x112), t3 = uid(0x113);
  await db.transact([
    db.tx.goals[g].create({ title: 'Linker', priority: 1 }),
    db.tx.todos[t1].create({ title: 'a' }),
    db.tx.todos[t2].create({ title: 'b' }),
    db.tx.todos[t3].create({ title: 'c' }),
    db.tx.goals[g].link({ todos: t1 }),
    db.tx.goals[g].link({ todos: [t2, t1] }),
    db.tx.todos[t3].link({ goals: g }),
  ]);
  const q = { goals: { $: { where: { id: g } }, todos: { $: { fields: ['title'] } } } };
  assert.deepEqual(await db.query(q), {
    goals: [{ id: g, title: 'Linker', priority: 1, todos: [{ id: t1, title: 'a' }, { id: t2, title: 'b' }, { id: t3, title: 'c' }] }],
  });
  await db.transact([db.tx.goals[g].unlink({ todos: [t1] }), db.tx.todos[t3].unlink({ goals: g })]);
  assert.deepEqual(await db.query(q), { goals: [{ id: g, title: 'Linker', priority: 1, todos: [{ id: t2, title: 'b' }] }] });
  // unlinking something not linked is a no-op
  await db.transact(db.tx.goals[g].unlink({ todos: t3 }));
  assert.deepEqual(await db.query(q), { goals: [{ id: g, title: 'Linker', priority: 1, todos: [{ id: t2, title: 'b' }] }] });
});

test('a has-one link is replaced by a new link', async () => {
  const { db } = ctx;
  const p = uid(0x120), a1 = uid(0x121), a2 = uid(0x122);
  await db.transact([
    db.tx.authors[a1].create({ handle: 'h-120-a' }),
    db.tx.authors[a2].create({ handle: 'h-120-b' }),
    db.tx.posts[p].create({ title: 'p' }).link({ author: a1 }),
  ]);
  await db.transact(db.tx.posts[p].link({ author: a2 }));
  assert.deepEqual(await db.query({ posts: { $: { where: { id: p } }, author: {} } }), {
    posts: [{ id: p, title: 'p', author: { id: a2, handle: 'h-120-b' } }],
  });
});

test('delete removes the entity and the links pointing at it; deleting a missing entity is a no-op', async () => {
  const { db } = ctx;
  const g = uid(0x130), t = uid(0x131);
  await db.transact([
    db.tx.goals[g].create({ title: 'Doomed', priority: 1 }),
    db.tx.todos[t].create({ title: 'Survivor' }).link({ goals: g }),
  ]);
  await db.transact(db.tx.goals[g].delete());
  assert.deepEqual(await one(db, 'goals', g), []);
  assert.deepEqual(await db.query({ todos: { $: { where: { id: t } }, goals: {} } }), {
    todos: [{ id: t, title: 'Survivor', goals: [] }],
  });
  await db.transact(db.tx.goals[uid(0x13f)].delete());
});

test('delete cascades along onDelete: cascade (comments.post)', async () => {
  const { db } = ctx;
  const p = uid(0x140), c1 = uid(0x141), c2 = uid(0x142), c3 = uid(0x143);
  await db.transact([
    db.tx.posts[p].create({ title: 'with comments' }),
    db.tx.comments[c1].create({ text: 'one' }).link({ post: p }),
    db.tx.comments[c2].create({ text: 'two' }).link({ post: p }),
    db.tx.comments[c3].create({ text: 'unrelated' }),
  ]);
  await db.transact(db.tx.posts[p].delete());
  assert.deepEqual(await db.query({ comments: { $: { where: { id: { $in: [c1, c2, c3] } } } } }), {
    comments: [{ id: c3, text: 'unrelated' }],
  });
});

test('lookup in entity position: update upserts by the unique value, then finds it', async () => {
  const { db } = ctx;
  await db.transact(db.tx.goals[lookup('title', 'By lookup')].update({ priority: 7 }));
  const first = await db.query({ goals: { $: { where: { title: 'By lookup' } } } });
  assert.equal(first.goals.length, 1);
  const gid = first.goals[0].id;
  assert.match(gid, UUID_RE);
  assert.deepEqual(first, { goals: [{ id: gid, title: 'By lookup', priority: 7 }] });
  await db.transact(db.tx.goals.lookup('title', 'By lookup').update({ done: true }));
  assert.deepEqual(await db.query({ goals: { $: { where: { title: 'By lookup' } } } }), {
    goals: [{ id: gid, title: 'By lookup', priority: 7, done: true }],
  });
  // delete on an unmatched lookup is a no-op
  await db.transact(db.tx.goals[lookup('title', 'No such title')].delete());
  await db.transact(db.tx.goals[lookup('title', 'By lookup')].delete());
  assert.deepEqual(await db.query({ goals: { $: { where: { title: 'By lookup' } } } }), { goals: [] });
});

test('lookup in link position resolves in the target namespace; a missing target fails', async () => {
  const { db } = ctx;
  const p = uid(0x150), a = uid(0x151);
  await db.transact([db.tx.authors[a].create({ handle: 'h-150' }), db.tx.posts[p].create({ title: 'lp' })]);
  await db.transact(db.tx.posts[p].link({ author: lookup('handle', 'h-150') }));
  assert.deepEqual(await db.query({ posts: { $: { where: { id: p } }, author: {} } }), {
    posts: [{ id: p, title: 'lp', author: { id: a, handle: 'h-150' } }],
  });
  await expectApiError(db.transact(db.tx.posts[p].link({ author: lookup('handle', 'nobody') })), {
    status: 400,
    type: 'validation-failed',
    message: 'Validation failed for lookup: The entity for the lookup does not exist.',
  });
});

test('ruleParams steps are accepted as admin and write nothing', async () => {
  const { db } = ctx;
  const s = uid(0x160);
  await db.transact(db.tx.secrets[s].ruleParams({ code: 'k' }).update({ code: 'k', value: 'v' }));
  assert.deepEqual(await one(db, 'secrets', s), [{ id: s, code: 'k', value: 'v' }]);
});

test('transactions are atomic: a failing step rolls back the earlier ones', async () => {
  const { db } = ctx;
  const ok = uid(0x170), existing = uid(0x171);
  await db.transact(db.tx.todos[existing].create({ title: 'already here' }));
  await expectApiError(
    db.transact([db.tx.todos[ok].create({ title: 'should vanish' }), db.tx.todos[existing].create({ title: 'dup' })]),
    { status: 400, type: 'validation-failed', message: `Validation failed for tx-step: Creating entities that exist: ${existing}` },
  );
  assert.deepEqual(await one(db, 'todos', ok), []);
  assert.deepEqual(await one(db, 'todos', existing), [{ id: existing, title: 'already here' }]);
});

test('unique attributes: a second entity with the same value fails with record-not-unique', async () => {
  const { db } = ctx;
  await db.transact(db.tx.authors[uid(0x180)].create({ handle: 'unique-h' }));
  await expectApiError(db.transact(db.tx.authors[uid(0x181)].create({ handle: 'unique-h' })), {
    status: 400,
    type: 'record-not-unique',
    message: '`handle` is a unique attribute on `authors` and an entity already exists with `authors.handle` = "unique-h"',
  });
  // re-writing an entity's own value is fine
  await db.transact(db.tx.authors[uid(0x180)].update({ handle: 'unique-h', name: 'n' }));
});

test('type checking and required attributes', async () => {
  const { raw, db } = ctx;
  const g = uid(0x190);
  await expectApiError(raw.transact(raw.tx.goals[g].update({ title: 'typed', priority: 'high' })), {
    status: 400,
    type: 'validation-failed',
    message: /Invalid value type for goals\.priority\. Value must be a number but the provided value type is string\./,
  });
  await expectApiError(raw.transact(raw.tx.goals[g].create({ title: 'no priority' })), {
    status: 400,
    type: 'validation-failed',
    message: new RegExp(`Missing required attribute \`goals/priority\`: ${g}`),
  });
  assert.deepEqual(await one(db, 'goals', g), []);
});

test('throw-on-missing-attrs? (sent with a schema): unknown attributes are rejected', async () => {
  const { init } = await import('@instantdb/admin');
  const { schema } = await import('../lib/fixture.mjs');
  // disableValidation: let the request reach the server (the SDK would refuse it locally).
  const strict = init({ appId: ctx.appId, adminToken: ctx.adminToken, apiURI: ctx.url, schema, disableValidation: true });
  const g = uid(0x1a0);
  const err = await expectApiError(strict.transact(strict.tx.goals[g].update({ title: 'x', priority: 1, color: 'red' })), {
    status: 400,
    type: 'validation-failed',
    message: 'Validation failed for steps: Attributes are missing in your schema',
  });
  assert.deepEqual(err.body.hint.errors[0].hint.attributes, ['goals.color']);
  assert.deepEqual(await one(ctx.db, 'goals', g), []);
});

test('without a schema, unknown namespaces, attributes and links are created on the fly', async () => {
  const { raw } = ctx;
  const w = newId(), p = newId();
  await raw.transact([
    raw.tx.widgets[w].update({ color: 'red', size: 3, spec: { deep: [true] } }),
    raw.tx.parts[p].update({ name: 'bolt' }),
    raw.tx.widgets[w].link({ parts: p }),
  ]);
  assert.deepEqual(await raw.query({ widgets: { parts: {} } }), {
    widgets: [{ id: w, color: 'red', size: 3, spec: { deep: [true] }, parts: [{ id: p, name: 'bolt' }] }],
  });
  // the inferred link is many-to-many; its reverse label is the source namespace
  assert.deepEqual(await raw.query({ parts: { widgets: { $: { fields: ['color'] } } } }), {
    parts: [{ id: p, name: 'bolt', widgets: [{ id: w, color: 'red' }] }],
  });
});

test('an entity id that is not a uuid or lookup is rejected', async () => {
  const { raw } = ctx;
  const err = await expectApiError(raw.transact(raw.tx.widgets['not-a-uuid'].update({ color: 'x' })), {
    status: 400,
    type: 'validation-failed',
    message: "Validation failed for steps: Invalid entity ID 'not-a-uuid'. Entity IDs must be UUIDs or lookup references.",
  });
  assert.deepEqual(err.body.hint.errors[0].in, [0, 2]);
});
