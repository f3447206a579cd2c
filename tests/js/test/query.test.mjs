// db.query through the official @instantdb/admin against instant-local:
// where operators, ordering, pagination, fields, nested links (both directions),
// cardinality inference with a schema, rule params, and server validation errors.
// Facts: /work/shared/spec/instaql.md, semantics.md §2-4, §7.

import test from 'node:test';
import assert from 'node:assert/strict';
import { setupApp, uid, expectApiError } from '../lib/fixture.mjs';

const ctx = setupApp({ title: 'query', seed });

// Ids grow with creation order, so "serverCreatedAt asc, ties by id asc" is one fixed order.
const G1 = uid(0x01), G2 = uid(0x02), G3 = uid(0x03);
const T1 = uid(0x11), T2 = uid(0x12), T3 = uid(0x13);
const A1 = uid(0x21), A2 = uid(0x22);
const P1 = uid(0x31), P2 = uid(0x32);

const goal1 = { id: G1, title: 'Get fit', priority: 2, done: false, meta: { a: 1, tags: ['x', 'y'] } };
const goal2 = { id: G2, title: 'Learn Rust', priority: 1, done: true };
const goal3 = { id: G3, title: 'Ship it', priority: 3, done: false, dueDate: '2025-01-01T00:00:00.000Z' };
const todo1 = { id: T1, title: 'Run', rank: 1 };
const todo2 = { id: T2, title: 'Lift', rank: 2 };
const todo3 = { id: T3, title: 'Write code', rank: 1 };
const author1 = { id: A1, handle: 'stopa', name: 'Stepan' };
const author2 = { id: A2, handle: 'joe' };
const post1 = { id: P1, title: 'Hello' };
const post2 = { id: P2, title: 'Orphan' };

const strip = ({ id: _id, ...rest }) => rest;

async function seed({ db }) {
  await db.transact([
    db.tx.goals[G1].create(strip(goal1)),
    db.tx.goals[G2].create(strip(goal2)),
    db.tx.goals[G3].create({ ...strip(goal3), dueDate: new Date(goal3.dueDate) }),
    db.tx.todos[T1].create(strip(todo1)),
    db.tx.todos[T2].create(strip(todo2)),
    db.tx.todos[T3].create(strip(todo3)),
    db.tx.goals[G1].link({ todos: [T1, T2] }),
    db.tx.goals[G2].link({ todos: T3 }),
    db.tx.authors[A1].create(strip(author1)),
    db.tx.authors[A2].create(strip(author2)),
    db.tx.posts[P1].create(strip(post1)).link({ author: A1 }),
    db.tx.posts[P2].create(strip(post2)),
  ]);
}

test('all entities of a namespace, default order (serverCreatedAt asc, id asc)', async () => {
  assert.deepEqual(await ctx.db.query({ goals: {} }), { goals: [goal1, goal2, goal3] });
});

test('several top-level namespaces and an unknown namespace', async () => {
  assert.deepEqual(await ctx.raw.query({ todos: {}, authors: {}, nothingHere: {} }), {
    todos: [todo1, todo2, todo3],
    authors: [author1, author2],
    nothingHere: [],
  });
});

test('where: equality on a string, a number, a boolean and id', async () => {
  const { db } = ctx;
  assert.deepEqual(await db.query({ goals: { $: { where: { title: 'Get fit' } } } }), { goals: [goal1] });
  assert.deepEqual(await db.query({ goals: { $: { where: { priority: 3 } } } }), { goals: [goal3] });
  assert.deepEqual(await db.query({ goals: { $: { where: { done: false } } } }), { goals: [goal1, goal3] });
  assert.deepEqual(await db.query({ goals: { $: { where: { id: G2 } } } }), { goals: [goal2] });
  assert.deepEqual(await db.query({ goals: { $: { where: { title: 'nope' } } } }), { goals: [] });
});

test('where: several keys are ANDed', async () => {
  assert.deepEqual(await ctx.db.query({ goals: { $: { where: { done: false, priority: 3 } } } }), { goals: [goal3] });
});

test('where: $in, $ne, $not, $isNull', async () => {
  const { db } = ctx;
  assert.deepEqual(await db.query({ goals: { $: { where: { title: { $in: ['Ship it', 'Get fit', 'x'] } } } } }), {
    goals: [goal1, goal3],
  });
  assert.deepEqual(await db.query({ goals: { $: { where: { title: { $in: [] } } } } }), { goals: [] });
  assert.deepEqual(await db.query({ goals: { $: { where: { done: { $ne: true } } } } }), { goals: [goal1, goal3] });
  assert.deepEqual(await db.query({ goals: { $: { where: { priority: { $not: 2 } } } } }), { goals: [goal2, goal3] });
  // $ne also matches entities that lack the attribute.
  assert.deepEqual(await db.query({ authors: { $: { where: { name: { $ne: 'Stepan' } } } } }), { authors: [author2] });
  assert.deepEqual(await db.query({ goals: { $: { where: { dueDate: { $isNull: true } } } } }), {
    goals: [goal1, goal2],
  });
  assert.deepEqual(await db.query({ goals: { $: { where: { dueDate: { $isNull: false } } } } }), { goals: [goal3] });
});

test('where: comparisons on an indexed typed attribute', async () => {
  const { db } = ctx;
  assert.deepEqual(await db.query({ goals: { $: { where: { priority: { $gt: 1 } } } } }), { goals: [goal1, goal3] });
  assert.deepEqual(await db.query({ goals: { $: { where: { priority: { $gte: 2 } } } } }), { goals: [goal1, goal3] });
  assert.deepEqual(await db.query({ goals: { $: { where: { priority: { $lt: 2 } } } } }), { goals: [goal2] });
  assert.deepEqual(await db.query({ goals: { $: { where: { priority: { $lte: 2 } } } } }), { goals: [goal1, goal2] });
  assert.deepEqual(await db.query({ goals: { $: { where: { title: { $gt: 'M' } } } } }), { goals: [goal3] });
});

test('where: $like (case-sensitive) and $ilike', async () => {
  const { db } = ctx;
  assert.deepEqual(await db.query({ goals: { $: { where: { title: { $like: 'Get%' } } } } }), { goals: [goal1] });
  assert.deepEqual(await db.query({ goals: { $: { where: { title: { $like: '%it' } } } } }), { goals: [goal1, goal3] });
  assert.deepEqual(await db.query({ goals: { $: { where: { title: { $like: '%fit%' } } } } }), { goals: [goal1] });
  assert.deepEqual(await db.query({ goals: { $: { where: { title: { $like: 'get%' } } } } }), { goals: [] });
  assert.deepEqual(await db.query({ goals: { $: { where: { title: { $like: 'Ship_it' } } } } }), { goals: [goal3] });
  assert.deepEqual(await db.query({ authors: { $: { where: { handle: { $ilike: '%TOP%' } } } } }), {
    authors: [author1],
  });
});

test('where: or / and, nested', async () => {
  const { db } = ctx;
  assert.deepEqual(
    await db.query({ goals: { $: { where: { or: [{ title: 'Ship it' }, { priority: 1 }] } } } }),
    { goals: [goal2, goal3] },
  );
  assert.deepEqual(
    await db.query({
      goals: { $: { where: { and: [{ done: false }, { or: [{ priority: 2 }, { priority: 1 }] }] } } },
    }),
    { goals: [goal1] },
  );
});

test('where: dotted link paths and link labels (existential)', async () => {
  const { db, raw } = ctx;
  assert.deepEqual(await db.query({ goals: { $: { where: { 'todos.title': 'Lift' } } } }), { goals: [goal1] });
  assert.deepEqual(await db.query({ goals: { $: { where: { 'todos.rank': 1 } } } }), { goals: [goal1, goal2] });
  assert.deepEqual(await db.query({ todos: { $: { where: { 'goals.title': 'Get fit' } } } }), {
    todos: [todo1, todo2],
  });
  assert.deepEqual(await db.query({ goals: { $: { where: { todos: T3 } } } }), { goals: [goal2] });
  assert.deepEqual(await db.query({ goals: { $: { where: { 'todos.id': T1 } } } }), { goals: [goal1] });
  // Both todos of one goal: each `and` branch binds its own path.
  assert.deepEqual(
    await db.query({ goals: { $: { where: { and: [{ 'todos.title': 'Run' }, { 'todos.title': 'Lift' }] } } } }),
    { goals: [goal1] },
  );
  assert.deepEqual(await db.query({ goals: { $: { where: { todos: { $isNull: true } } } } }), { goals: [goal3] });
  // Unknown attribute in a where path: empty result, not an error.
  assert.deepEqual(await raw.query({ goals: { $: { where: { unknownAttr: 1 } } } }), { goals: [] });
});

test('order by an indexed attribute, both directions, and by serverCreatedAt', async () => {
  const { db } = ctx;
  assert.deepEqual(await db.query({ goals: { $: { order: { priority: 'asc' } } } }), { goals: [goal2, goal1, goal3] });
  assert.deepEqual(await db.query({ goals: { $: { order: { priority: 'desc' } } } }), {
    goals: [goal3, goal1, goal2],
  });
  assert.deepEqual(await db.query({ goals: { $: { order: { title: 'desc' } } } }), { goals: [goal3, goal2, goal1] });
  assert.deepEqual(await db.query({ goals: { $: { order: { serverCreatedAt: 'desc' } } } }), {
    goals: [goal3, goal2, goal1],
  });
});

test('limit, first, offset, last', async () => {
  const { db } = ctx;
  assert.deepEqual(await db.query({ goals: { $: { limit: 2 } } }), { goals: [goal1, goal2] });
  assert.deepEqual(await db.query({ goals: { $: { limit: 2, order: { priority: 'desc' } } } }), {
    goals: [goal3, goal1],
  });
  assert.deepEqual(await db.query({ goals: { $: { first: 1, order: { priority: 'asc' } } } }), { goals: [goal2] });
  assert.deepEqual(await db.query({ goals: { $: { offset: 1, limit: 1 } } }), { goals: [goal2] });
  assert.deepEqual(await db.query({ goals: { $: { offset: 2 } } }), { goals: [goal3] });
  assert.deepEqual(await db.query({ goals: { $: { offset: 5, limit: 1 } } }), { goals: [] });
  assert.deepEqual(await db.query({ goals: { $: { last: 2, order: { priority: 'asc' } } } }), {
    goals: [goal1, goal3],
  });
  assert.deepEqual(
    await db.query({ goals: { $: { where: { done: false }, limit: 1, order: { priority: 'desc' } } } }),
    { goals: [goal3] },
  );
});

test('fields projection (id always included)', async () => {
  const { db } = ctx;
  assert.deepEqual(await db.query({ goals: { $: { fields: ['title'] } } }), {
    goals: [
      { id: G1, title: 'Get fit' },
      { id: G2, title: 'Learn Rust' },
      { id: G3, title: 'Ship it' },
    ],
  });
  assert.deepEqual(
    await db.query({ goals: { $: { where: { id: G1 }, fields: ['priority', 'done'] }, todos: { $: { fields: ['rank'] } } } }),
    { goals: [{ id: G1, priority: 2, done: false, todos: [{ id: T1, rank: 1 }, { id: T2, rank: 2 }] }] },
  );
});

test('nested links: forward and reverse, nested where and order, empty children', async () => {
  const { db } = ctx;
  assert.deepEqual(await db.query({ goals: { todos: {} } }), {
    goals: [
      { ...goal1, todos: [todo1, todo2] },
      { ...goal2, todos: [todo3] },
      { ...goal3, todos: [] },
    ],
  });
  assert.deepEqual(await db.query({ todos: { $: { where: { id: T3 } }, goals: {} } }), {
    todos: [{ ...todo3, goals: [goal2] }],
  });
  assert.deepEqual(await db.query({ goals: { todos: { $: { where: { rank: 1 } } } } }), {
    goals: [
      { ...goal1, todos: [todo1] },
      { ...goal2, todos: [todo3] },
      { ...goal3, todos: [] },
    ],
  });
  assert.deepEqual(
    await db.query({ goals: { $: { where: { id: G1 } }, todos: { $: { order: { rank: 'desc' } } } } }),
    { goals: [{ ...goal1, todos: [todo2, todo1] }] },
  );
  // Two levels deep: goal -> todos -> goals.
  assert.deepEqual(await db.query({ goals: { $: { where: { id: G2 } }, todos: { goals: {} } } }), {
    goals: [{ ...goal2, todos: [{ ...todo3, goals: [goal2] }] }],
  });
});

test('cardinality inference: has-one is an object or null with a schema, an array without', async () => {
  const { db, raw } = ctx;
  assert.deepEqual(await db.query({ posts: { author: {} } }), {
    posts: [
      { ...post1, author: author1 },
      { ...post2, author: null },
    ],
  });
  assert.deepEqual(await raw.query({ posts: { author: {} } }), {
    posts: [
      { ...post1, author: [author1] },
      { ...post2, author: [] },
    ],
  });
  // The reverse side is has-many: always an array. The nested posts carry their
  // (not expanded) has-one `author` ref as an id field (semantics.md §2.1).
  assert.deepEqual(await db.query({ authors: { posts: {} } }), {
    authors: [
      { ...author1, posts: [{ ...post1, author: A1 }] },
      { ...author2, posts: [] },
    ],
  });
});

test('a forward has-one link that is not expanded shows up as an id-valued field', async () => {
  // semantics.md §2.1 / instaql.md §8.1: cardinality-one ref attrs are returned as plain fields.
  assert.deepEqual(await ctx.raw.query({ posts: {} }), { posts: [{ ...post1, author: A1 }, post2] });
});

test('ruleParams are accepted (and ignored) in admin queries', async () => {
  assert.deepEqual(await ctx.db.query({ goals: { $: { where: { id: G1 } } } }, { ruleParams: { code: 'x' } }), {
    goals: [goal1],
  });
});

test('server validation errors (400 validation-failed)', async () => {
  const { raw } = ctx;
  await expectApiError(raw.query({ goals: { $: { limit: -1 } } }), {
    status: 400,
    type: 'validation-failed',
    message: 'Validation failed for query: The limit field must be a positive integer. Got -1.',
  });
  await expectApiError(raw.query({ todos: { $: { order: { title: 'asc' } } } }), {
    status: 400,
    type: 'validation-failed',
    message:
      'Validation failed for query: The `todos.title` attribute is not indexed. Only indexed and typed attributes can be used to order by.',
  });
  await expectApiError(raw.query({ todos: { $: { where: { rank: { $gt: 1 } } } } }), {
    status: 400,
    type: 'validation-failed',
    message: 'Validation failed for query: The `todos.rank` attribute must be indexed to use comparison operators.',
  });
  await expectApiError(raw.query({ goals: { $: { where: { or: [] } } } }), {
    status: 400,
    type: 'validation-failed',
    message: "Validation failed for query: The list of `or` conditions can't be empty.",
  });
  await expectApiError(raw.query({ goals: { $: { where: { priority: 'high' } } } }), {
    status: 400,
    type: 'validation-failed',
    message:
      'Validation failed for query: The data type of `goals.priority` is `number`, but the query got the value `"high"` of type `string`.',
  });
  await expectApiError(raw.query({ goals: { todos: { $: { offset: 1 } } } }), {
    status: 400,
    type: 'validation-failed',
    message:
      'Validation failed for query: We currently only support `offset`, `before`, and `after` clauses on the top-level field. Limit fields will be ignored',
  });
});

test('wrong admin token: 400 record-not-found app-admin-token', async () => {
  const { init } = await import('@instantdb/admin');
  const bad = init({ appId: ctx.appId, adminToken: uid(0xbad), apiURI: ctx.url });
  const err = await expectApiError(bad.query({ goals: {} }), {
    status: 400,
    type: 'record-not-found',
    message: 'Record not found: app-admin-token',
  });
  assert.equal(err.body.hint['record-type'], 'app-admin-token');
});
