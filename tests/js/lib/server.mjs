// Starts and stops an `instant-local` server process for the JS conformance tests
// and the JS benchmark, and creates apps on it through the temporary-app endpoint
// (`POST /dash/apps/ephemeral`, spec schema-and-platform.md E.14).
//
// The binary contract (CONTEXT.md): `instant-local serve --host H --port P --db PATH`
// prints its base URL (e.g. "http://127.0.0.1:41234") once it listens.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Directory of tests/js (the Node project root). */
export const projectDir = path.resolve(here, '..');

/**
 * Path of the instant-local binary: env `INSTANT_LOCAL_BIN`, else
 * `../../target/debug/instant-local` relative to tests/js.
 */
export function binaryPath() {
  const fromEnv = process.env.INSTANT_LOCAL_BIN;
  if (fromEnv && fromEnv.length > 0) return path.resolve(fromEnv);
  return path.resolve(projectDir, '../../target/debug/instant-local');
}

/** A free TCP port on 127.0.0.1 (bind to 0, read the port, close). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Spawns `instant-local serve --host 127.0.0.1 --port <free> --db <db>` and waits
 * (at most `timeoutMs`) until it prints an http URL on stdout or stderr.
 * Resolves to `{ url, proc, stop() }`; `url` has no trailing slash.
 * Rejects with the process output if the binary is missing, exits early or
 * prints no URL in time.
 */
export async function startServer({ bin = binaryPath(), db = process.env.INSTANT_LOCAL_DB || ':memory:', timeoutMs = 20000 } = {}) {
  if (!existsSync(bin)) {
    throw new Error(
      `instant-local binary not found at ${bin}. Build it with \`cargo build -p instant-local\` ` +
        'or set INSTANT_LOCAL_BIN to its path.',
    );
  }
  const port = await freePort();
  const args = ['serve', '--host', '127.0.0.1', '--port', String(port), '--db', db];
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
  let output = '';
  const url = await new Promise((resolve, reject) => {
    let done = false;
    const finish = (err, value) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk) => {
      output += chunk.toString();
      const m = output.match(/https?:\/\/[^\s"'<>]+/);
      if (m) finish(null, m[0].replace(/\/+$/, ''));
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.on('error', (e) => finish(new Error(`could not start ${bin}: ${e.message}`)));
    proc.on('exit', (code, signal) =>
      finish(new Error(`instant-local exited early (code ${code}, signal ${signal}). Output:\n${output}`)),
    );
    const timer = setTimeout(
      () => finish(new Error(`instant-local printed no URL within ${timeoutMs} ms. Output:\n${output}`)),
      timeoutMs,
    );
  }).catch((e) => {
    proc.kill('SIGKILL');
    throw e;
  });
  // Keep draining output so the child never blocks on a full pipe; keep it for debugging.
  proc.stdout.on('data', (c) => (output = (output + c.toString()).slice(-20000)));
  proc.stderr.on('data', (c) => (output = (output + c.toString()).slice(-20000)));
  const stop = () =>
    new Promise((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      const killer = setTimeout(() => proc.kill('SIGKILL'), 3000);
      proc.once('exit', () => {
        clearTimeout(killer);
        resolve();
      });
      proc.kill('SIGTERM');
    });
  return { url, port, proc, stop, output: () => output };
}

/**
 * Creates an app on the server with `POST /dash/apps/ephemeral`
 * (`{title, schema?, rules?: {code}}`), as the Platform SDK's createTemporaryApp does.
 * `schema` is an `i.schema(...)` object (serialised with JSON.stringify) or plain JSON.
 * Resolves to `{ appId, adminToken, raw }`.
 */
export async function createApp(url, { title = 'js-conformance', schema, perms } = {}) {
  const body = { title };
  if (schema) body.schema = JSON.parse(JSON.stringify(schema));
  if (perms) body.rules = { code: perms };
  const res = await fetch(`${url}/dash/apps/ephemeral`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 200) {
    throw new Error(`POST /dash/apps/ephemeral -> ${res.status}: ${text}`);
  }
  const json = JSON.parse(text);
  const appId = json?.app?.id;
  const adminToken = json?.app?.['admin-token'];
  if (typeof appId !== 'string' || typeof adminToken !== 'string') {
    throw new Error(`POST /dash/apps/ephemeral: no app.id / app.admin-token in ${text}`);
  }
  return { appId, adminToken, raw: json };
}
