// c10d process groups over Gloo on loopback: two real ranks per test (separate processes), the
// collectives' results, and the failures that must end a job with one clear line: a port in use,
// ranks that disagree on the world size or on a config, and a rank that dies mid-job.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { freePort } from "../../../src/cli/launch.js";
import { DEFAULT_MASTER_PORT, DistributedError, ProcessGroup, distributedBackends, worldFromEnv } from "../../../src/torch/distributed.js";
import { REPO_ROOT } from "../../helpers/fixtures.js";
import { toyGradients } from "../../helpers/toy_contrastive.js";

const RANK_SCRIPT = join(REPO_ROOT, "dist", "tests", "helpers", "dist_rank.js");

interface RankResult { rank: number; status: number | null; stdout: string; stderr: string; seconds: number }

function runRank(scenario: string, env: Record<string, string>): Promise<RankResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [RANK_SCRIPT, scenario], { env: { ...process.env, KOCLIP_NUM_THREADS: "1", ...env } });
    let stdout = "", stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (status) => resolve({ rank: Number(env.RANK), status, stdout, stderr: stderr.trim(), seconds: (Date.now() - started) / 1000 }));
  });
}

async function runWorld(scenario: string, worldSizes: number[], extra: Record<string, string> = {}): Promise<RankResult[]> {
  const port = String(await freePort());
  return Promise.all(worldSizes.map((w, rank) => runRank(scenario, { RANK: String(rank), WORLD_SIZE: String(w), MASTER_ADDR: "127.0.0.1", MASTER_PORT: port, ...extra })));
}

test("this build has the Gloo backend", () => {
  assert.ok(distributedBackends().includes("gloo"), "built without Gloo: apt-get install libgloo-dev and rebuild");
});

test("worldFromEnv reads torchrun's variables and names the bad one", () => {
  assert.deepEqual(worldFromEnv({}), { rank: 0, worldSize: 1, localRank: 0, localWorldSize: 1, masterAddr: "127.0.0.1", masterPort: DEFAULT_MASTER_PORT });
  assert.deepEqual(worldFromEnv({ RANK: "5", WORLD_SIZE: "16", LOCAL_WORLD_SIZE: "8", MASTER_ADDR: "node0", MASTER_PORT: "1234" }),
    { rank: 5, worldSize: 16, localRank: 5, localWorldSize: 8, masterAddr: "node0", masterPort: 1234 });
  assert.equal(worldFromEnv({ RANK: "9", WORLD_SIZE: "16", LOCAL_RANK: "1", LOCAL_WORLD_SIZE: "8" }).localRank, 1);
  assert.throws(() => worldFromEnv({ RANK: "2", WORLD_SIZE: "2" }), /RANK=2 is not below WORLD_SIZE=2/);
  assert.throws(() => worldFromEnv({ WORLD_SIZE: "2" }), /RANK is not set/);
  assert.throws(() => worldFromEnv({ RANK: "0", WORLD_SIZE: "two" }), /WORLD_SIZE=two: expected an integer/);
  assert.throws(() => worldFromEnv({ MASTER_PORT: "70000" }), /MASTER_PORT=70000: not a TCP port/);
});

test("two ranks: allReduce (sum, avg, max), allGather, broadcast, agree, barrier", async () => {
  const ranks = await runWorld("collectives", [2, 2]);
  for (const r of ranks) {
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), {
      sum: [3, 30], avg: [1.5], max: [1, 0, 2, 0], gathered: [[0, 0], [1, 1]], bcast: [101, 201],
    });
  }
});

test("gather-with-grad + summed gradients (logit scale averaged) give the 1-rank gradient of the global-batch loss", async () => {
  const reference = toyGradients(null);
  for (const size of [2, 4]) {
    const ranks = await runWorld("toy", Array(size).fill(size));
    for (const r of ranks) {
      assert.equal(r.status, 0, r.stderr);
      const got = JSON.parse(r.stdout) as typeof reference;
      assert.ok(Math.abs(got.loss - reference.loss) < 1e-6, `${size} ranks, rank ${r.rank}: loss ${got.loss} vs ${reference.loss}`);
      got.grads.forEach((g, p) => g.forEach((v, i) => {
        const want = reference.grads[p]![i]!;
        assert.ok(Math.abs(v - want) < 1e-5 * Math.max(1, Math.abs(want)), `${size} ranks, rank ${r.rank}, parameter ${p}[${i}]: ${v} vs ${want}`);
      }));
    }
  }
});

test("a rank 0 whose port is taken fails at once, naming the port", async () => {
  const server = createServer();
  await new Promise<void>((res) => server.listen(0, res));
  const port = (server.address() as { port: number }).port;
  try {
    assert.throws(() => ProcessGroup.init({ rank: 0, worldSize: 2, localRank: 0, localWorldSize: 2, masterAddr: "127.0.0.1", masterPort: port }, { timeoutMs: 5000 }),
      (err: Error) => err instanceof DistributedError && new RegExp(`rank 0: cannot listen on 127.0.0.1:${port} \\(MASTER_PORT ${port} in use\\?\\)`).test(err.message));
  } finally {
    server.close();
  }
});

test("ranks started with different WORLD_SIZE both fail, saying which", async () => {
  const [r0, r1] = await runWorld("collectives", [2, 3]);
  assert.equal(r0!.status, 1);
  assert.equal(r0!.stderr, "rank 0: rank 1 was started with WORLD_SIZE=3, rank 0 with WORLD_SIZE=2");
  assert.equal(r1!.status, 1);
  assert.equal(r1!.stderr, "rank 1: started with WORLD_SIZE=3, rank 0 with WORLD_SIZE=2");
});

test("ranks that disagree on a config both fail, naming the odd rank", async () => {
  for (const r of await runWorld("disagree", [2, 2])) {
    assert.equal(r.status, 1);
    assert.equal(r.stderr, `rank ${r.rank}: rank 1 started with another test config than rank 0`);
  }
});

test("a rank killed mid-job: the survivor's next collective fails within seconds, naming it", async () => {
  const [r0, r1] = await runWorld("die", [2, 2], { TEST_TIMEOUT_MS: "60000", DIE_RANK: "1" });
  assert.equal(r1!.status, null, "rank 1 was killed");
  assert.equal(r0!.status, 1);
  assert.match(r0!.stderr, /^rank 0: allReduce failed: lost rank 1 \(.+\)$/);
  assert.ok(r0!.seconds < 30, `rank 0 took ${r0!.seconds} s, well past the peer-report wait yet far below the 60 s timeout`);
});

test("a second process claiming a taken rank is refused; the group it tried to join works", async () => {
  const port = String(await freePort());
  const env = (rank: number) => ({ RANK: String(rank), WORLD_SIZE: "2", MASTER_ADDR: "127.0.0.1", MASTER_PORT: port });
  const [rank0, a, b] = await Promise.all([runRank("linger", env(0)), runRank("linger", env(1)), runRank("linger", env(1))]);
  assert.equal(rank0.status, 0, rank0.stderr);
  const [refused, joined] = a.status === 0 ? [b, a] : [a, b];
  assert.equal(joined.status, 0, joined.stderr);
  assert.equal(refused.status, 1);
  assert.equal(refused.stderr, `rank 1: another process at 127.0.0.1:${port} already joined as rank 1`);
});

test("rank 0 (the store's host) killed mid-job: the others fail within seconds, naming it", async () => {
  const [r0, r1, r2] = await runWorld("die", [3, 3, 3], { TEST_TIMEOUT_MS: "60000", DIE_RANK: "0" });
  assert.equal(r0!.status, null, "rank 0 was killed");
  for (const r of [r1!, r2!]) {
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`^rank ${r.rank}: allReduce failed: lost rank 0 \\(the store host\\) \\(.+\\)$`));
    assert.ok(r.seconds < 30, `rank ${r.rank} took ${r.seconds} s`);
  }
});
