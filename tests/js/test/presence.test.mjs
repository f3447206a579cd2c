// db.rooms.getPresence through the official @instantdb/admin against instant-local.
// With no realtime peers connected, a room has no sessions: the server answers
// {"sessions": null} or {"sessions": {}}, and the SDK returns {} (admin-http.md §6).

import test from 'node:test';
import assert from 'node:assert/strict';
import { setupApp, uid, expectApiError } from '../lib/fixture.mjs';

const ctx = setupApp({ title: 'presence' });

test('getPresence of an empty room is {}', async () => {
  assert.deepEqual(await ctx.db.rooms.getPresence('chat', 'room-1'), {});
});

test('getPresence sends room-type and room-id and checks the admin token', async () => {
  const { init } = await import('@instantdb/admin');
  const bad = init({ appId: ctx.appId, adminToken: uid(0xbad), apiURI: ctx.url });
  await expectApiError(bad.rooms.getPresence('chat', 'room-1'), { status: 400, type: 'record-not-found' });
});
