// Round-trip benchmark of the official @instantdb/admin client against instant-local.
//
// Starts `instant-local serve` itself (binary from INSTANT_LOCAL_BIN, default
// <repo>/target/release/instant-local if present, else target/debug), creates an
// app with a schema, loads a fixed dataset of ITEMS entities, then measures
// query and transact round trips per second, sequentially and with 32
// concurrent requests in flight. Prints ONE JSON line on stdout:
//   {"client":"@instantdb/admin","version":"1.0.67","query_seq_per_s":..,
//    "query_conc32_per_s":..,"transact_seq_per_s":..,"transact_conc32_per_s":..}
// Progress and details go to stderr. Runtime: about 4 x (WARMUP + SECONDS) s
// plus the load; defaults 1 + 5 s -> ~25-30 s (hard cap 55 s of measuring).

import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { init, i } from '@instantdb/admin';
import { startServer, createApp } from '../../tests/js/lib/server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const ITEMS = 1000;
const CONCURRENCY = 32;
const SECONDS = Math.min(Number(process.env.BENCH_SECONDS || 5), 10);
const WARMUP = Math.min(Number(process.env.BENCH_WARMUP_SECONDS || 1), 5);

const log = (...a) => console.error('[bench]', ...a);

function defaultBin() {
  if (process.env.INSTANT_LOCAL_BIN) return path.resolve(process.env.INSTANT_LOCAL_BIN);
  const release = path.resolve(here, '../../target/release/instant-local');
  return existsSync(release) ? release : path.resolve(here, '../../target/debug/instant-local');
}

const schema = i.schema({
  entities: {
    items: i.entity({
      name: i.string().unique().indexed(),
      n: i.number().indexed(),
      group: i.string().indexed(),
      count: i.number().optional(),
      payload: i.json().optional(),
    }),
  },
  links: {},
  rooms: {},
});

const itemId = (k) => `00000000-0000-4000-8000-${k.toString(16).padStart(12, '0')}`;

async function load(db) {
  const batch = 100;
  for (let start = 0; start < ITEMS; start += batch) {
    const chunks = [];
    for (let k = start; k < Math.min(ITEMS, start + batch); k++) {
      chunks.push(
        db.tx.items[itemId(k)].update({
          name: `item-${k}`,
          n: k,
          group: `g${k % 20}`,
          count: 0,
          payload: { k, tags: ['a', 'b'], nested: { even: k % 2 === 0 } },
        }),
      );
    }
    await db.transact(chunks);
  }
  const all = await db.query({ items: { $: { fields: ['n'] } } });
  if (all.items.length !== ITEMS) throw new Error(`loaded ${all.items.length} items, expected ${ITEMS}`);
}

/** Runs `op(seq)` from `workers` loops until the deadline; returns completed ops per second. */
async function measure(label, workers, op) {
  let seq = 0;
  const runFor = async (ms, counting) => {
    const deadline = performance.now() + ms;
    let done = 0;
    await Promise.all(
      Array.from({ length: workers }, async () => {
        while (performance.now() < deadline) {
          await op(seq++);
          if (counting) done++;
        }
      }),
    );
    return done;
  };
  await runFor(WARMUP * 1000, false);
  const t0 = performance.now();
  const done = await runFor(SECONDS * 1000, true);
  const perS = done / ((performance.now() - t0) / 1000);
  log(`${label}: ${done} ops, ${perS.toFixed(1)}/s`);
  return Math.round(perS * 10) / 10;
}

async function main() {
  const version = JSON.parse(readFileSync(path.join(here, 'node_modules/@instantdb/admin/package.json'), 'utf8')).version;
  const bin = defaultBin();
  log(`server ${bin}`);
  const server = await startServer({ bin });
  try {
    const app = await createApp(server.url, { title: 'js-bench', schema });
    const db = init({ appId: app.appId, adminToken: app.adminToken, apiURI: server.url });
    const t0 = performance.now();
    await load(db);
    log(`loaded ${ITEMS} items in ${((performance.now() - t0) / 1000).toFixed(2)} s`);

    // query: one entity by an indexed attribute; every answer is checked
    const query = async (s) => {
      const k = (s * 7919) % ITEMS;
      const res = await db.query({ items: { $: { where: { n: k } } } });
      if (res.items.length !== 1 || res.items[0].id !== itemId(k)) {
        throw new Error(`query for n=${k} returned ${JSON.stringify(res).slice(0, 200)}`);
      }
    };
    // transact: update one attribute of one existing entity
    const transact = async (s) => {
      const k = (s * 104729) % ITEMS;
      const res = await db.transact(db.tx.items[itemId(k)].update({ count: s }));
      if (typeof res['tx-id'] !== 'number') throw new Error(`transact returned ${JSON.stringify(res)}`);
    };

    const out = {
      client: '@instantdb/admin',
      version,
      query_seq_per_s: await measure('query seq', 1, query),
      query_conc32_per_s: await measure(`query conc${CONCURRENCY}`, CONCURRENCY, query),
      transact_seq_per_s: await measure('transact seq', 1, transact),
      transact_conc32_per_s: await measure(`transact conc${CONCURRENCY}`, CONCURRENCY, transact),
    };
    console.log(JSON.stringify(out));
  } finally {
    await server.stop();
  }
}

const guard = setTimeout(() => {
  console.error('[bench] exceeded 60 s, aborting');
  process.exit(3);
}, 60_000);
guard.unref();

main().catch((e) => {
  console.error('[bench] failed:', e?.body ? JSON.stringify(e.body) : e);
  process.exit(1);
});
