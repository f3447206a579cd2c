// db.asUser({email} | {token} | {guest}) with permission rules, through the
// official @instantdb/admin against instant-local.
// Facts: /work/shared/spec/admin-http.md §1.5, §8.3 of instaql.md,
// schema-and-platform.md Part D. Rules used: lib/fixture.mjs `perms`.

import test from 'node:test';
import assert from 'node:assert/strict';
import { setupApp, uid, expectApiError, byId } from '../lib/fixture.mjs';

const ctx = setupApp({ title: 'impersonation', seed });
const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
const users = {};

const D_ALICE = uid(0x301), D_BOB = uid(0x302), NOTE = uid(0x303), SECRET = uid(0x304);

async function seed({ db }) {
  users.aliceToken = await db.auth.createToken(ALICE);
  users.bobToken = await db.auth.createToken(BOB);
  users.alice = await db.auth.getUser({ email: ALICE });
  users.bob = await db.auth.getUser({ email: BOB });
  await db.transact([
    db.tx.docs[D_ALICE].create({ title: 'alice doc', ownerId: users.alice.id }),
    db.tx.docs[D_BOB].create({ title: 'bob doc', ownerId: users.bob.id }),
    db.tx.notes[NOTE].create({ text: 'public' }),
    db.tx.secrets[SECRET].create({ code: 'open-sesame', value: 'treasure' }),
  ]);
}

test('as-email: view rule filters entities', async () => {
  const alice = ctx.db.asUser({ email: ALICE });
  assert.deepEqual(await alice.query({ docs: {} }), {
    docs: [{ id: D_ALICE, title: 'alice doc', ownerId: users.alice.id }],
  });
  const bob = ctx.db.asUser({ email: BOB });
  assert.deepEqual(await bob.query({ docs: {} }), {
    docs: [{ id: D_BOB, title: 'bob doc', ownerId: users.bob.id }],
  });
});

test('as-token: acts as the user owning the refresh token', async () => {
  const alice = ctx.db.asUser({ token: users.aliceToken });
  assert.deepEqual(await alice.query({ docs: {} }), {
    docs: [{ id: D_ALICE, title: 'alice doc', ownerId: users.alice.id }],
  });
});

test('as-guest: no docs, public notes visible', async () => {
  const guest = ctx.db.asUser({ guest: true });
  assert.deepEqual(await guest.query({ docs: {}, notes: {} }), {
    docs: [],
    notes: [{ id: NOTE, text: 'public' }],
  });
});

test('create/update/delete rules are enforced and denied writes change nothing', async () => {
  const { db } = ctx;
  const alice = db.asUser({ email: ALICE });
  const mine = uid(0x310);
  await alice.transact(alice.tx.docs[mine].create({ title: 'new by alice', ownerId: users.alice.id }));
  assert.deepEqual(await alice.query({ docs: { $: { where: { id: mine } } } }), {
    docs: [{ id: mine, title: 'new by alice', ownerId: users.alice.id }],
  });
  // alice may not create a doc owned by bob
  const forged = uid(0x311);
  await expectApiError(alice.transact(alice.tx.docs[forged].create({ title: 'forged', ownerId: users.bob.id })), {
    status: 400,
    type: 'permission-denied',
  });
  // nor update or delete bob's doc
  await expectApiError(alice.transact(alice.tx.docs[D_BOB].update({ title: 'hacked' })), {
    status: 400,
    type: 'permission-denied',
  });
  await expectApiError(alice.transact(alice.tx.docs[D_BOB].delete()), { status: 400, type: 'permission-denied' });
  // guests may not create notes
  const guest = db.asUser({ guest: true });
  await expectApiError(guest.transact(guest.tx.notes[uid(0x312)].create({ text: 'spam' })), {
    status: 400,
    type: 'permission-denied',
  });
  // admin view: nothing changed by the denied writes
  assert.deepEqual(await db.query({ docs: { $: { where: { id: { $in: [forged, D_BOB] } } } }, notes: {} }), {
    docs: [{ id: D_BOB, title: 'bob doc', ownerId: users.bob.id }],
    notes: [{ id: NOTE, text: 'public' }],
  });
  await alice.transact(alice.tx.docs[mine].delete());
  assert.deepEqual(await db.query({ docs: { $: { where: { id: mine } } } }), { docs: [] });
});

test('ruleParams in queries and in transactions', async () => {
  const guest = ctx.db.asUser({ guest: true });
  assert.deepEqual(await guest.query({ secrets: {} }), { secrets: [] });
  assert.deepEqual(await guest.query({ secrets: {} }, { ruleParams: { code: 'wrong' } }), { secrets: [] });
  assert.deepEqual(await guest.query({ secrets: {} }, { ruleParams: { code: 'open-sesame' } }), {
    secrets: [{ id: SECRET, code: 'open-sesame', value: 'treasure' }],
  });
  await expectApiError(guest.transact(guest.tx.secrets[SECRET].update({ value: 'stolen' })), {
    status: 400,
    type: 'permission-denied',
  });
  await guest.transact(guest.tx.secrets[SECRET].ruleParams({ code: 'open-sesame' }).update({ value: 'moved' }));
  assert.deepEqual(await ctx.db.query({ secrets: {} }), {
    secrets: [{ id: SECRET, code: 'open-sesame', value: 'moved' }],
  });
});

test('$users: a user sees only themself, admin sees everyone', async () => {
  // `raw` (no schema): i.schema does not add $users, so the SDK would refuse it locally.
  const alice = ctx.raw.asUser({ email: ALICE });
  const res = await alice.query({ $users: { $: { fields: ['email'] } } });
  assert.deepEqual(res, { $users: [{ id: users.alice.id, email: ALICE }] });
  // alice and bob may share a creation millisecond, so compare without order
  const all = await ctx.raw.query({ $users: { $: { fields: ['email'] } } });
  assert.deepEqual(Object.keys(all), ['$users']);
  assert.deepEqual(byId(all.$users), byId([
    { id: users.alice.id, email: ALICE },
    { id: users.bob.id, email: BOB },
  ]));
});

test('impersonation errors: unknown email and unknown token', async () => {
  const err = await expectApiError(ctx.db.asUser({ email: 'nobody@example.com' }).query({ docs: {} }), {
    status: 400,
    type: 'record-not-found',
  });
  assert.equal(err.body.hint['record-type'], 'app-user');
  const err2 = await expectApiError(ctx.db.asUser({ token: uid(0xdead) }).query({ docs: {} }), {
    status: 400,
    type: 'record-not-found',
  });
  assert.equal(err2.body.hint['record-type'], 'app-user');
});
