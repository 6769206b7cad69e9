/**
 * Expected values for tests/data/formats/small.* (written by the Python script quoted at the top of
 * torch_pickle.test.ts), and a strict comparison of a loaded tensor against them.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../../helpers/fixtures.js";
import { rawToFloat32, type DType, type RawTensor } from "../../../src/formats/index.js";

/** Folder of the small generated reference files. */
export const DATA_DIR = join(REPO_ROOT, "tests", "data", "formats");

/** One tensor as small.json records it: I64 values as decimal strings, BOOL as 0/1, floats exact. */
export interface Expected {
  dtype: DType;
  shape: number[];
  values: (number | string)[];
}

/** small.json: tensors in torch.save order, plus torch's f32 → f16/bf16 rounding of 226 inputs. */
export const SMALL = JSON.parse(readFileSync(join(DATA_DIR, "small.json"), "utf8")) as {
  tensors: Record<string, Expected>;
  conversions: { f32: number[]; f16: number[]; bf16: number[] };
};

/** Asserts dtype, shape and every value bit-for-bit (F64 and I64 compared at full width). */
export function assertMatches(t: RawTensor | undefined, e: Expected, what: string): void {
  assert.ok(t, `${what}: missing`);
  assert.equal(t.dtype, e.dtype, `${what}: dtype`);
  assert.deepEqual(t.shape, e.shape, `${what}: shape`);
  const copy = t.data.slice().buffer;
  let got: (number | string)[];
  if (t.dtype === "I64") got = Array.from(new BigInt64Array(copy), String);
  else if (t.dtype === "F64") got = Array.from(new Float64Array(copy));
  else got = Array.from(rawToFloat32(t));
  // f16/bf16/f32 values were widened to float64 by Python, so they are exact float32 values too
  assert.deepEqual(got, e.values, `${what}: values`);
}
