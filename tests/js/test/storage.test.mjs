// db.storage through the official @instantdb/admin against instant-local:
// uploadFile (buffer and stream), query $files (url downloads the bytes),
// replace by path, delete / deleteMany, delete through transact, impersonation.
// Facts: /work/shared/spec/admin-http.md §7, instaql.md §10.2.

import test from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { lookup } from '@instantdb/admin';
import { setupApp, expectApiError, UUID_RE } from '../lib/fixture.mjs';

const ctx = setupApp({ title: 'storage' });

const filesAt = async (path) => (await ctx.raw.query({ $files: { $: { where: { path } } } })).$files;

test('uploadFile(buffer) returns the $files id; the file is queryable and its url serves the bytes', async () => {
  const { db } = ctx;
  const res = await db.storage.uploadFile('photos/a.txt', Buffer.from('hello'), { contentType: 'text/plain' });
  assert.match(res.data.id, UUID_RE);
  assert.equal(res.data.size, 5);
  const files = await filesAt('photos/a.txt');
  assert.equal(files.length, 1);
  const f = files[0];
  assert.equal(f.id, res.data.id);
  assert.equal(f.path, 'photos/a.txt');
  assert.equal(f.size, 5);
  assert.equal(f['content-type'], 'text/plain');
  assert.equal(typeof f.url, 'string');
  const dl = await fetch(f.url);
  assert.equal(dl.status, 200);
  assert.equal(await dl.text(), 'hello');
});

test('uploading to an existing path replaces the file (same $files entity)', async () => {
  const { db } = ctx;
  const first = await db.storage.uploadFile('docs/replace.bin', Buffer.from([1, 2, 3]));
  const second = await db.storage.uploadFile('docs/replace.bin', Buffer.from([4, 5, 6, 7]), {
    contentType: 'application/octet-stream',
    contentDisposition: 'attachment; filename="replace.bin"',
  });
  assert.equal(second.data.id, first.data.id);
  const [f] = await filesAt('docs/replace.bin');
  assert.equal(f.size, 4);
  assert.equal(f['content-disposition'], 'attachment; filename="replace.bin"');
  const bytes = Buffer.from(await (await fetch(f.url)).arrayBuffer());
  assert.deepEqual([...bytes], [4, 5, 6, 7]);
});

test('uploadFile(stream) with fileSize', async () => {
  const { db } = ctx;
  const body = 'streamed content';
  const res = await db.storage.uploadFile('streams/s.txt', Readable.from([Buffer.from(body)]), {
    contentType: 'text/plain',
    fileSize: Buffer.byteLength(body),
  });
  const [f] = await filesAt('streams/s.txt');
  assert.equal(f.id, res.data.id);
  assert.equal(f.size, Buffer.byteLength(body));
  assert.equal(await (await fetch(f.url)).text(), body);
});

test('fields projection on $files', async () => {
  const { db, raw } = ctx;
  const res = await db.storage.uploadFile('proj/p.txt', Buffer.from('p'));
  assert.deepEqual(await raw.query({ $files: { $: { where: { path: 'proj/p.txt' }, fields: ['path', 'size'] } } }), {
    $files: [{ id: res.data.id, path: 'proj/p.txt', size: 1 }],
  });
});

test('storage.delete(path) (deprecated) removes the file', async () => {
  const { db } = ctx;
  const res = await db.storage.uploadFile('del/one.txt', Buffer.from('x'));
  assert.deepEqual(await db.storage.delete('del/one.txt'), { data: { id: res.data.id } });
  assert.deepEqual(await filesAt('del/one.txt'), []);
});

test('storage.deleteMany(paths) (deprecated)', async () => {
  const { db } = ctx;
  const a = await db.storage.uploadFile('many/a.txt', Buffer.from('a'));
  const b = await db.storage.uploadFile('many/b.txt', Buffer.from('b'));
  const res = await db.storage.deleteMany(['many/a.txt', 'many/b.txt']);
  assert.deepEqual([...res.data.ids].sort(), [a.data.id, b.data.id].sort());
  assert.deepEqual(await filesAt('many/a.txt'), []);
  assert.deepEqual(await filesAt('many/b.txt'), []);
});

test('delete a file through transact with a path lookup', async () => {
  const { db, raw } = ctx;
  await db.storage.uploadFile('tx/del.txt', Buffer.from('bye'));
  await raw.transact(raw.tx.$files[lookup('path', 'tx/del.txt')].delete());
  assert.deepEqual(await filesAt('tx/del.txt'), []);
});

test('$files default rules deny uploads by guests', async () => {
  const guest = ctx.db.asUser({ guest: true });
  await expectApiError(guest.storage.uploadFile('guest/no.txt', Buffer.from('no')), {
    status: 400,
    type: 'permission-denied',
  });
  assert.deepEqual(await filesAt('guest/no.txt'), []);
});
