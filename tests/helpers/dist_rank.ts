// One rank of the process-group tests (tests/unit/torch/distributed.test.ts), started with
// torchrun's environment variables: runs the scenario named in argv[2] and prints what it saw as
// JSON on stdout; a DistributedError goes to stderr as one line and exits with status 1.
import { ProcessGroup, worldFromEnv } from "../../src/torch/distributed.js";
import { tensor } from "../../src/torch/index.js";
import { toyGradients } from "./toy_contrastive.js";

const scenario = process.argv[2];
try {
  const world = worldFromEnv();
  const group = ProcessGroup.init(world, { timeoutMs: Number(process.env.TEST_TIMEOUT_MS ?? 20_000) });
  const r = world.rank;
  if (scenario === "collectives") {
    const sum = tensor([r + 1, 10 * (r + 1)]);
    group.allReduce(sum, "sum");
    const avg = tensor([r + 1]);
    const max = tensor([[r, -r], [2 * r, 0]]);
    group.allReduce([avg], "avg");
    group.allReduce([max], "max");
    const gathered = group.allGather(tensor([r, r * r]));
    const bcast = tensor([r + 100, r + 200]);
    group.broadcast(bcast, 1);
    group.agree("test config", "same");
    group.barrier();
    console.log(JSON.stringify({ sum: sum.toArray(), avg: avg.toArray(), max: max.toArray(), gathered: gathered.map((t) => t.toArray()), bcast: bcast.toArray() }));
  } else if (scenario === "toy") {
    console.log(JSON.stringify(toyGradients(group)));
  } else if (scenario === "linger") {
    // Keeps the group up for a few seconds, so that a late process can try to join it.
    group.barrier();
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5000);
    group.barrier();
  } else if (scenario === "disagree") {
    group.agree("test config", `config of rank ${r}`);
  } else if (scenario === "die") {
    // Rank DIE_RANK vanishes after joining; the others' next collective must fail, naming it.
    group.barrier();
    if (r === Number(process.env.DIE_RANK)) process.kill(process.pid, "SIGKILL");
    group.allReduce(tensor([1]), "sum");
  }
  group.dispose();
} catch (err) {
  console.error((err as Error).message);
  process.exitCode = 1;
}
