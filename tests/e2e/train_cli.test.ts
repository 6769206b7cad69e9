// koclip train end to end on a small rendered emoji set: the CLI equals the library, a run killed
// with SIGKILL and resumed ends with the same weights as an uninterrupted one, and training from
// scratch makes the loss fall and retrieval beat chance by a wide margin.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { buildEmojiDataset } from "../../src/data/emoji.js";
import { readPairs } from "../../src/data/datasets.js";
import { readSafetensors } from "../../src/formats/index.js";
import { loadModel } from "../../src/index.js";
import { resolveTrainConfig } from "../../src/train/config.js";
import { train } from "../../src/train/train.js";
import { fixture, REPO_ROOT } from "../helpers/fixtures.js";

const KOCLIP = join(REPO_ROOT, "bin", "koclip");
const work = mkdtempSync(join(tmpdir(), "koclip-train-"));
const data = join(work, "emoji");
const TINY = fixture("koclip-tiny", "model");
after(() => rmSync(work, { recursive: true, force: true }));

before(async () => {
  await buildEmojiDataset({ outDir: data, limit: 48, styles: ["twemoji", "fluent-flat", "openmoji"], size: 32, seed: 0 });
});

const args = (out: string, extra: string[] = []) => [
  "train", "--data", join(data, "train.jsonl"), "--out", out, "--model", TINY, "--batch-size", "8", "--lr", "1e-3",
  "--steps", "12", "--seed", "3", "--positive-key", "key", "--crop-scale", "0.7,1", "--first-caption-prob", "0.7", ...extra,
];

test("a run killed with SIGKILL and resumed ends with the same weights as an uninterrupted run", async () => {
  const straight = join(work, "straight");
  const r = spawnSync(KOCLIP, args(straight), { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);

  const killed = join(work, "killed");
  const child = spawn(KOCLIP, args(killed, ["--checkpoint-every", "2", "--keep-checkpoints", "2"]), { stdio: "ignore" });
  const deadline = Date.now() + 60_000;
  while (!existsSync(join(killed, "checkpoints", "step-00000006", "state.json"))) {
    assert.ok(Date.now() < deadline, "no checkpoint within 60 s");
    await new Promise((res) => setTimeout(res, 20));
  }
  child.kill("SIGKILL");
  await new Promise((res) => child.on("exit", res));
  assert.ok(!existsSync(join(killed, "model.safetensors")), "the run was killed before finishing");
  const resumeArgs = [...args(killed, ["--checkpoint-every", "2", "--keep-checkpoints", "2"]), "--resume"];

  // Resuming that folder's checkpoint with other settings (a different run pointed at the same
  // --out) is refused before anything is written.
  const metricsKilled = readFileSync(join(killed, "metrics.jsonl"));
  const other = spawnSync(KOCLIP, [...resumeArgs, "--steps", "6", "--batch-size", "4"], { encoding: "utf8" });
  assert.notEqual(other.status, 0);
  assert.match(other.stderr, /checkpoint \(step (6|8|10)\) was made with other settings: steps 12 → 6, batchSize 8 → 4/);
  assert.ok(readFileSync(join(killed, "metrics.jsonl")).equals(metricsKilled), "the metrics are untouched");

  const resumed = spawnSync(KOCLIP, resumeArgs, { encoding: "utf8" });
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, /resumed from step (6|8|10)/);
  assert.ok(readFileSync(join(killed, "model.safetensors")).equals(readFileSync(join(straight, "model.safetensors"))), "weights differ");
  const steps = readFileSync(join(killed, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l).step);
  assert.deepEqual(steps, [...new Set(steps)].sort((a, b) => a - b), "metrics have no duplicated steps after resume");

  // Resuming the finished run again has nothing to do: no step is redone, nothing is rewritten,
  // and the run's result is reported as it was.
  const modelTime = statSync(join(killed, "model.safetensors")).mtimeMs;
  const metricsFinished = readFileSync(join(killed, "metrics.jsonl"));
  const again = spawnSync(KOCLIP, resumeArgs, { encoding: "utf8" });
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /this run already finished \(12 steps\); nothing to do/);
  assert.doesNotMatch(again.stderr, /resumed from step/);
  assert.deepEqual(JSON.parse(again.stdout), JSON.parse(resumed.stdout), "the finished run's result, as first reported");
  assert.equal(statSync(join(killed, "model.safetensors")).mtimeMs, modelTime, "the model was not rewritten");
  assert.ok(readFileSync(join(killed, "metrics.jsonl")).equals(metricsFinished), "the metrics are untouched");

  // …and a finished run resumed with other settings is refused too, leaving it as it was.
  const otherFinished = spawnSync(KOCLIP, [...resumeArgs, "--steps", "6"], { encoding: "utf8" });
  assert.notEqual(otherFinished.status, 0);
  assert.match(otherFinished.stderr, /holds a finished run made with other settings: steps 12 → 6/);
  assert.ok(readFileSync(join(killed, "model.safetensors")).equals(readFileSync(join(straight, "model.safetensors"))), "the finished model is untouched");
  assert.ok(readFileSync(join(killed, "metrics.jsonl")).equals(metricsFinished), "the metrics are untouched");
});

test("fine-tuning koclip-tiny through the CLI matches the same steps through the library", async () => {
  const viaCli = join(work, "cli");
  const r = spawnSync(KOCLIP, args(viaCli, ["--steps", "3"]), { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const viaLib = join(work, "lib");
  await train(resolveTrainConfig({
    data: join(data, "train.jsonl"), out: viaLib, model: TINY, batchSize: 8, lr: 1e-3, steps: 3, seed: 3,
    positiveKey: "key", cropScale: [0.7, 1], firstCaptionProb: 0.7,
  }), undefined, () => {});
  assert.ok(readFileSync(join(viaCli, "model.safetensors")).equals(readFileSync(join(viaLib, "model.safetensors"))));
  for (const f of ["config.json", "tokenizer.json", "preprocessor_config.json", "curves.png", "metrics.jsonl"]) assert.ok(existsSync(join(viaCli, f)), f);
});

test("from scratch: the loss falls and image→text retrieval beats chance by a wide margin", async () => {
  const config = JSON.parse(readFileSync(join(TINY, "config.json"), "utf8"));
  // A small KoCLIP: 32 px images in 8 px patches, 2+2 layers of width 64.
  config.vision_config = { ...config.vision_config, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, image_size: 32, patch_size: 8 };
  config.text_config = { ...config.text_config, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4 };
  config.projection_dim = 32;
  const cfgFile = join(work, "scratch-config.json");
  writeFileSync(cfgFile, JSON.stringify(config));
  const out = join(work, "scratch");
  const result = await train(resolveTrainConfig({
    data: join(data, "train.jsonl"), out, modelConfig: cfgFile, tokenizer: TINY, batchSize: 32, lr: 2e-3, steps: 150,
    warmupSteps: 10, weightDecay: 0.05, positiveKey: "key", seed: 1, logEvery: 10,
  }), undefined, () => {});
  const losses = readFileSync(join(out, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l)).filter((m) => m.loss !== undefined).map((m) => m.loss as number);
  assert.ok(losses.at(-1)! < 0.5 * losses[0]!, `loss fell from ${losses[0]} to ${losses.at(-1)}`);
  assert.ok(result.finalLoss < losses[0]!);
  // Retrieval over the training concepts' names: images of the training styles vs their names.
  const rows = readPairs(join(data, "train.jsonl")).rows;
  const names = [...new Set(rows.map((r) => r.texts[0]!))];
  const model = await loadModel(out);
  const imageEmb = await model.encodeImages(rows.map((r) => r.image));
  const textEmb = await model.encodeTexts(names);
  // Each image is matched against all names; chance for top-1 is 1/names.length.
  const hits = imageEmb.filter((e, i) => {
    let best = -1, bestScore = -Infinity;
    textEmb.forEach((t, j) => { let s = 0; for (let k = 0; k < e.length; k++) s += e[k]! * t[k]!; if (s > bestScore) { bestScore = s; best = j; } });
    return names[best] === rows[i]!.texts[0];
  }).length / imageEmb.length;
  assert.ok(hits > 5 / names.length, `image→name top-1 ${hits.toFixed(3)} vs chance ${(1 / names.length).toFixed(3)}`);
  model.dispose();
});

test("two pretrained towers + LiT: the frozen vision tower is untouched, the text side and new projections train", async () => {
  const out = join(work, "towers");
  const r = spawnSync(KOCLIP, [
    "train", "--data", join(data, "train.jsonl"), "--out", out, "--vision", fixture("clip-tiny", "model"), "--text", TINY,
    "--projection-dim", "8", "--freeze", "vision", "--steps", "3", "--batch-size", "8", "--grad-accum", "2", "--lr", "1e-3",
  ], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const trained = readSafetensors(join(out, "model.safetensors"));
  const clip = readSafetensors(fixture("clip-tiny", "model", "model.safetensors"));
  const roberta = readSafetensors(join(TINY, "model.safetensors"));
  const same = (a: { data: Uint8Array }, b: { data: Uint8Array }) => Buffer.from(a.data).equals(Buffer.from(b.data));
  for (const [name, t] of trained) {
    if (name.startsWith("vision_model.")) assert.ok(same(t, clip.get(name)!), `${name} stays as in clip-tiny`);
  }
  assert.ok(!same(trained.get("text_model.encoder.layer.0.attention.self.query.weight")!, roberta.get("text_model.encoder.layer.0.attention.self.query.weight")!), "text tower trained");
  assert.deepEqual(trained.get("visual_projection.weight")!.shape, [8, 32]);
  assert.equal(JSON.parse(readFileSync(join(out, "config.json"), "utf8")).model_type, "vision-text-dual-encoder");
  const model = await loadModel(out);
  assert.equal((await model.encodeTexts(["고양이"]))[0]!.length, 8);
  model.dispose();
});

test("a config in phases runs its stages in turn, each from the last, and --resume after the end does nothing", () => {
  const out = join(work, "phased");
  const config = join(work, "phased.json");
  writeFileSync(config, JSON.stringify({
    data: join(data, "train.jsonl"), out, model: TINY, batchSize: 8, positiveKey: "key",
    phases: [{ steps: 2, lr: 1e-3, seed: 5 }, { lr: 3e-4, seed: 7, restarts: [2, 1] }],
  }));
  const r = spawnSync(KOCLIP, ["train", "--config", config], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /stage 1\/3: 2 steps at lr 0\.001, seed 5/);
  assert.match(r.stderr, /stage 3\/3: 1 steps at lr 0\.0003, seed 8/);
  assert.equal(JSON.parse(r.stdout.trim().split("\n").at(-1)!).out, join(out, "stage-3"));
  const saved = (i: number) => JSON.parse(readFileSync(join(out, `stage-${i}`, "train_config.json"), "utf8"));
  assert.equal(saved(1).model, TINY);
  assert.equal(saved(2).model, join(out, "stage-1"));
  assert.equal(saved(3).model, join(out, "stage-2"));
  assert.deepEqual([1, 2, 3].map((i) => saved(i).steps), [2, 2, 1]);
  // Each stage continued the previous one: its weights differ from where it started.
  const weights = (dir: string) => readFileSync(join(dir, "model.safetensors"));
  assert.ok(!weights(join(out, "stage-2")).equals(weights(join(out, "stage-1"))));

  const again = spawnSync(KOCLIP, ["train", "--config", config, "--resume"], { encoding: "utf8" });
  assert.equal(again.status, 0, again.stderr);
  assert.equal(again.stderr.match(/this run already finished/g)?.length, 3, again.stderr);
});
