// Data-parallel `koclip train` on two Gloo ranks on loopback: it takes the same steps as one
// process (per-step losses and final weights, with and without --grad-accum); a rank killed with
// SIGKILL ends the job with one line naming it, and --resume then finishes bit-identical to an
// uninterrupted run; ranks that disagree (config, world size, a port in use) write nothing.
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { freePort } from "../../src/cli/launch.js";
import { buildEmojiDataset } from "../../src/data/emoji.js";
import { readSafetensors } from "../../src/formats/index.js";
import { fixture, REPO_ROOT } from "../helpers/fixtures.js";

const KOCLIP = join(REPO_ROOT, "bin", "koclip");
const work = mkdtempSync(join(tmpdir(), "koclip-train-dist-"));
const data = join(work, "emoji");
const TINY = fixture("koclip-tiny", "model");
after(() => rmSync(work, { recursive: true, force: true }));

before(async () => {
  await buildEmojiDataset({ outDir: data, limit: 48, styles: ["twemoji", "fluent-flat", "openmoji"], size: 32, seed: 0 });
});

// lr 1e-4: AdamW divides each gradient by its own running RMS, so where a gradient is close to
// zero, rounding-level differences between one GEMM over 8 rows and two over 4 rows summed show
// up in the update; at lr 1e-3 the weights after 10 steps differed by up to 1.2e-5 (--grad-accum 2).
const args = (out: string, extra: string[] = [], timeoutS = 30) => [
  "train", "--data", join(data, "train.jsonl"), "--out", out, "--model", TINY, "--batch-size", "8", "--lr", "1e-4",
  "--steps", "10", "--seed", "3", "--positive-key", "key", "--crop-scale", "0.7,1", "--first-caption-prob", "0.7", "--log-every", "1",
  "--dist-timeout", String(timeoutS), ...extra,
];

function koclip(argv: string[], env: Record<string, string> = {}) {
  const r = spawnSync(KOCLIP, argv, { encoding: "utf8", env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A rank started by hand, as torchrun would start it. */
function rank(r: number, worldSize: number, port: number, argv: string[]): { child: ChildProcess; done: Promise<{ status: number | null; stderr: string }> } {
  const child = spawn(KOCLIP, argv, {
    env: { ...process.env, RANK: String(r), WORLD_SIZE: String(worldSize), MASTER_ADDR: "127.0.0.1", MASTER_PORT: String(port), KOCLIP_NUM_THREADS: "1" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  return { child, done: new Promise((res) => child.on("exit", (status) => res({ status, stderr }))) };
}

function losses(out: string): number[] {
  return readFileSync(join(out, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l).loss as number);
}

function maxWeightDiff(a: string, b: string): number {
  const ta = readSafetensors(join(a, "model.safetensors")), tb = readSafetensors(join(b, "model.safetensors"));
  assert.deepEqual([...ta.keys()].sort(), [...tb.keys()].sort());
  let max = 0;
  for (const [name, x] of ta) {
    assert.equal(x.dtype, "F32", name);
    const y = tb.get(name)!;
    const fx = new Float32Array(x.data.slice().buffer), fy = new Float32Array(y.data.slice().buffer);
    for (let i = 0; i < fx.length; i++) max = Math.max(max, Math.abs(fx[i]! - fy[i]!));
  }
  return max;
}

/** Output folders of the 2-rank runs below, by --grad-accum, for the resume test to compare with. */
const twoRanks = new Map<number, string>();

for (const accum of [1, 2]) {
  test(`--nproc 2 takes the same steps as --nproc 1 (--grad-accum ${accum}): per-step losses and weights within 1e-5`, () => {
    const one = join(work, `one-${accum}`), two = join(work, `two-${accum}`);
    const r1 = koclip([...args(one, ["--grad-accum", String(accum)]), "--nproc", "1"]);
    assert.equal(r1.status, 0, r1.stderr);
    const r2 = koclip([...args(two, ["--grad-accum", String(accum)]), "--nproc", "2"]);
    assert.equal(r2.status, 0, r2.stderr);
    twoRanks.set(accum, two);
    const [l1, l2] = [losses(one), losses(two)];
    assert.equal(l1.length, 10);
    assert.equal(l2.length, 10);
    l1.forEach((l, i) => assert.ok(Math.abs(l - l2[i]!) < 1e-5, `step ${i + 1}: loss ${l} on 1 rank, ${l2[i]} on 2`));
    assert.ok(l1[0]! !== l1[9]!, "the model trained");
    const diff = maxWeightDiff(one, two);
    assert.ok(diff < 1e-5, `weights differ by ${diff}`);
    // Rank 0 alone prints the result and writes the folder; it is the same run as on one rank.
    assert.equal(JSON.parse(r2.stdout).steps, 10);
    assert.equal(r2.stdout.trim().split("\n").length, 1, "one result line");
    const config = (dir: string) => ({ ...JSON.parse(readFileSync(join(dir, "train_config.json"), "utf8")), out: null });
    assert.deepEqual(config(two), config(one));
  });
}

test("a rank killed with SIGKILL ends the job with one line naming it; --resume then finishes bit-identical", async () => {
  const straight = twoRanks.get(1);
  assert.ok(straight, "needs the 2-rank run of the test above");
  const killed = join(work, "killed");
  const ckpt = ["--checkpoint-every", "2", "--keep-checkpoints", "2"];
  const port = await freePort();
  const [r0, r1] = [0, 1].map((r) => rank(r, 2, port, args(killed, ckpt)));
  const deadline = Date.now() + 60_000;
  while (!existsSync(join(killed, "checkpoints", "step-00000002", "state.json"))) {
    assert.ok(Date.now() < deadline, "no checkpoint within 60 s");
    await new Promise((res) => setTimeout(res, 10));
  }
  // Stopped first, so that rank 1 surely dies mid-run (the whole run takes well under a second).
  r1!.child.kill("SIGSTOP");
  r1!.child.kill("SIGKILL");
  const killedAt = Date.now();
  const [s0, s1] = await Promise.all([r0!.done, r1!.done]);
  assert.equal(s1.status, null, "rank 1 was killed");
  assert.equal(s0.status, 1);
  assert.ok((Date.now() - killedAt) / 1000 < 30, "rank 0 stopped within the 30 s timeout");
  const lastLine = s0.stderr.trim().split("\n").at(-1)!;
  assert.match(lastLine, /^koclip train: rank 0: (allGather|allReduce|barrier) failed: lost rank 1 \(.+\)$/);
  assert.ok(!existsSync(join(killed, "model.safetensors")), "the run did not finish");

  const resumed = koclip([...args(killed, ckpt), "--resume", "--nproc", "2"]);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, /resumed from step (2|4|6|8)/);
  assert.ok(readFileSync(join(killed, "model.safetensors")).equals(readFileSync(join(straight, "model.safetensors"))), "weights differ from the uninterrupted run");
  assert.deepEqual(losses(killed), losses(straight));
});

test("a rank started with another config: both ranks fail naming it, nothing is written", async () => {
  const out = join(work, "mixed");
  const port = await freePort();
  const [s0, s1] = await Promise.all([rank(0, 2, port, args(out)).done, rank(1, 2, port, args(out, ["--lr", "2e-4"])).done]);
  assert.equal(s0.status, 1);
  assert.equal(s0.stderr.trim(), "koclip train: rank 0: rank 1 started with another training config than rank 0");
  assert.equal(s1.status, 1);
  assert.equal(s1.stderr.trim(), "koclip train: rank 1: rank 1 started with another training config than rank 0");
  assert.ok(!existsSync(out), "nothing written to --out");
});

test("ranks started with different world sizes fail, saying so; nothing is written", async () => {
  const out = join(work, "sizes");
  const port = await freePort();
  const [s0, s1] = await Promise.all([rank(0, 2, port, args(out)).done, rank(1, 3, port, args(out)).done]);
  assert.equal(s0.status, 1);
  assert.match(s0.stderr, /rank 0: rank 1 was started with WORLD_SIZE=3, rank 0 with WORLD_SIZE=2$/m);
  assert.equal(s1.status, 1);
  assert.match(s1.stderr, /rank 1: started with WORLD_SIZE=3, rank 0 with WORLD_SIZE=2$/m);
  assert.ok(!existsSync(out), "nothing written to --out");
});

test("a rank 0 whose MASTER_PORT is in use fails at once naming the port; nothing is written", async () => {
  const server = createServer();
  await new Promise<void>((res) => server.listen(0, res));
  const port = (server.address() as { port: number }).port;
  const out = join(work, "port");
  try {
    const r = await rank(0, 2, port, args(out)).done;
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`^koclip train: rank 0: cannot listen on 127\\.0\\.0\\.1:${port} \\(MASTER_PORT ${port} in use\\?\\)`, "m"));
  } finally {
    server.close();
  }
  assert.ok(!existsSync(out), "nothing written to --out");
});

test("a phased schedule runs data-parallel stage by stage: --nproc 2 ends where --nproc 1 does", () => {
  const run = (nproc: number) => {
    const out = join(work, `phased-${nproc}`), config = join(work, `phased-${nproc}.json`);
    writeFileSync(config, JSON.stringify({
      data: join(data, "train.jsonl"), out, model: TINY, batchSize: 8, positiveKey: "key",
      phases: [{ steps: 2, lr: 1e-4, seed: 5 }, { lr: 3e-5, seed: 7, restarts: [2, 1] }],
    }));
    const r = koclip(["train", "--config", config, "--nproc", String(nproc)]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).out, join(out, "stage-3"));
    for (const stage of [1, 2, 3]) {
      const last = JSON.parse(readFileSync(join(out, `stage-${stage}`, "metrics.jsonl"), "utf8").trim().split("\n").at(-1)!);
      assert.equal("allreduce_ms" in last, nproc > 1, `stage ${stage} ran on ${nproc} rank(s)`);
    }
    return join(out, "stage-3");
  };
  const diff = maxWeightDiff(run(1), run(2));
  assert.ok(diff < 1e-5, `weights differ by ${diff}`);
});
