// db.auth through the official @instantdb/admin against instant-local:
// createToken, verifyToken, getUser, deleteUser, signOut, generateMagicCode,
// sendMagicCode, verifyMagicCode / checkMagicCode.
// Facts: /work/shared/spec/admin-http.md §1.8, §5; captured-requests.md §1.4.

import test from 'node:test';
import assert from 'node:assert/strict';
import { setupApp, uid, expectApiError, UUID_RE } from '../lib/fixture.mjs';

const ctx = setupApp({ title: 'auth' });
const CREATED_AT_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** Checks the User object of admin-http.md §1.8 and returns it. */
function assertUser(user, { id, email, refreshToken }) {
  assert.ok(user, 'user expected');
  assert.match(user.created_at, CREATED_AT_RE);
  const expected = {
    app_id: ctx.appId,
    id: id ?? user.id,
    email,
    created_at: user.created_at,
    isGuest: false,
  };
  // `type` is written by newer servers only (admin-http.md §1.8: "older users may lack it").
  if ('type' in user) expected.type = 'user';
  if (refreshToken !== undefined) expected.refresh_token = refreshToken;
  assert.match(user.id, UUID_RE);
  assert.deepEqual(user, expected);
  return user;
}

test('createToken(email) creates the user once; verifyToken returns the user and token', async () => {
  const { db } = ctx;
  const email = 'carol@example.com';
  const token = await db.auth.createToken(email);
  assert.match(token, UUID_RE);
  const user = await db.auth.verifyToken(token);
  assertUser(user, { email, refreshToken: token });
  const token2 = await db.auth.createToken({ email });
  assert.notEqual(token2, token);
  const user2 = await db.auth.verifyToken(token2);
  assertUser(user2, { id: user.id, email, refreshToken: token2 });
  assert.equal(user2.created_at, user.created_at);
  // both tokens stay valid
  assert.equal((await db.auth.verifyToken(token)).id, user.id);
});

test('emails are normalised (trimmed, lower case)', async () => {
  const { db } = ctx;
  const token = await db.auth.createToken('  Dave@Example.COM ');
  const user = await db.auth.verifyToken(token);
  assertUser(user, { email: 'dave@example.com', refreshToken: token });
  assert.equal((await db.auth.getUser({ email: 'dave@example.com' })).id, user.id);
});

test('createToken({id}) creates a user with that id and no email', async () => {
  const { db } = ctx;
  const id = uid(0x401);
  const token = await db.auth.createToken({ id });
  const user = await db.auth.getUser({ id });
  assert.match(user.created_at, CREATED_AT_RE);
  const expected = { app_id: ctx.appId, id, created_at: user.created_at, isGuest: false };
  if ('type' in user) expected.type = 'user';
  assert.deepEqual(user, expected);
  assert.equal((await db.auth.verifyToken(token)).id, id);
});

test('getUser by email, id and refresh_token; unknown user is null', async () => {
  const { db } = ctx;
  const email = 'erin@example.com';
  const token = await db.auth.createToken(email);
  const byEmail = await db.auth.getUser({ email });
  assertUser(byEmail, { email });
  assert.deepEqual(await db.auth.getUser({ id: byEmail.id }), byEmail);
  assert.deepEqual(await db.auth.getUser({ refresh_token: token }), byEmail);
  assert.equal(await db.auth.getUser({ email: 'nobody@example.com' }), null);
  assert.equal(await db.auth.getUser({ id: uid(0x4ff) }), null);
});

test('the user is a $users entity visible to admin queries', async () => {
  const { db, raw } = ctx;
  const email = 'frank@example.com';
  await db.auth.createToken(email);
  const user = await db.auth.getUser({ email });
  assert.deepEqual(await raw.query({ $users: { $: { where: { email }, fields: ['email'] } } }), {
    $users: [{ id: user.id, email }],
  });
});

test('verifyToken with an unknown or malformed token fails', async () => {
  const { db } = ctx;
  const err = await expectApiError(db.auth.verifyToken(uid(0x4fe)), { status: 400, type: 'record-not-found' });
  assert.equal(err.body.hint['record-type'], 'app-user');
  await expectApiError(db.auth.verifyToken('not-a-token'), { status: 400, type: 'param-malformed' });
});

test('signOut({refresh_token}) revokes that token only; signOut(email) revokes all', async () => {
  const { db } = ctx;
  const email = 'gina@example.com';
  const t1 = await db.auth.createToken(email);
  const t2 = await db.auth.createToken(email);
  assert.equal(await db.auth.signOut({ refresh_token: t1 }), undefined);
  await expectApiError(db.auth.verifyToken(t1), { status: 400, type: 'record-not-found' });
  assert.equal((await db.auth.verifyToken(t2)).email, email);
  const t3 = await db.auth.createToken(email);
  await db.auth.signOut(email);
  await expectApiError(db.auth.verifyToken(t2), { status: 400, type: 'record-not-found' });
  await expectApiError(db.auth.verifyToken(t3), { status: 400, type: 'record-not-found' });
  // the user itself still exists
  assertUser(await db.auth.getUser({ email }), { email });
});

test('signOut({id}) revokes every token of the user', async () => {
  const { db } = ctx;
  const email = 'hank@example.com';
  const t1 = await db.auth.createToken(email);
  const user = await db.auth.getUser({ email });
  await db.auth.signOut({ id: user.id });
  await expectApiError(db.auth.verifyToken(t1), { status: 400, type: 'record-not-found' });
});

test('deleteUser returns the deleted user, then getUser is null and tokens are gone', async () => {
  const { db } = ctx;
  const email = 'ivy@example.com';
  const token = await db.auth.createToken(email);
  const user = await db.auth.getUser({ email });
  const deleted = await db.auth.deleteUser({ email });
  assert.deepEqual(deleted, user);
  assert.equal(await db.auth.getUser({ email }), null);
  await expectApiError(db.auth.verifyToken(token), { status: 400, type: 'record-not-found' });
  assert.equal(await db.auth.deleteUser({ email }), null);
  // by id as well
  await db.auth.createToken('jack@example.com');
  const jack = await db.auth.getUser({ email: 'jack@example.com' });
  assert.deepEqual(await db.auth.deleteUser({ id: jack.id }), jack);
});

test('magic codes: generate, verify (creates the user), wrong code fails', async () => {
  const { db } = ctx;
  const email = 'kim@example.com';
  const { code } = await db.auth.generateMagicCode(email);
  assert.match(code, /^\d{6}$/);
  const user = await db.auth.verifyMagicCode(email, code);
  assertUser(user, { email, refreshToken: user.refresh_token });
  assert.match(user.refresh_token, UUID_RE);
  assert.equal((await db.auth.verifyToken(user.refresh_token)).id, user.id);
  // (Whether a code can be reused is not pinned: newer servers validate TOTP codes.)
  const { code: code2 } = await db.auth.generateMagicCode(email);
  const wrong = code2 === '000000' ? '111111' : '000000';
  const err = await expectApiError(db.auth.verifyMagicCode(email, wrong), { status: 400, type: 'record-not-found' });
  assert.equal(err.body.hint['record-type'], 'app-user-magic-code');
});

test('checkMagicCode reports created true for a new user and false for an existing one', async () => {
  const { db } = ctx;
  const email = 'lee@example.com';
  const { code } = await db.auth.generateMagicCode(email);
  const first = await db.auth.checkMagicCode(email, code);
  assert.equal(first.created, true);
  assertUser(first.user, { email, refreshToken: first.user.refresh_token });
  const { code: again } = await db.auth.generateMagicCode(email);
  const second = await db.auth.checkMagicCode(email, again);
  assert.equal(second.created, false);
  assert.equal(second.user.id, first.user.id);
});

test('sendMagicCode returns a code that verifies', async () => {
  const { db } = ctx;
  const email = 'mo@example.com';
  const res = await db.auth.sendMagicCode(email);
  assert.deepEqual(Object.keys(res), ['code']);
  assert.match(res.code, /^\d{6}$/);
  const user = await db.auth.verifyMagicCode(email, res.code);
  assert.equal(user.email, email);
});

test('createToken without email or id is a validation error', async () => {
  await expectApiError(ctx.db.auth.createToken({}), {
    status: 400,
    type: 'validation-failed',
    message: 'Validation failed for body: Please provide an `email` or `id`',
  });
});
