// A contrastive problem small enough to solve on one rank and on several in a test: two linear
// "towers" over seeded inputs, a logit scale, and groups with positives that land on different
// ranks. Its gradients on N ranks (gatherWithGrad + allReduceGradients) must equal 1-rank ones.
import { allReduceGradients, gatherPositiveKeys, gatherWithGrad } from "../../src/train/distributed.js";
import { multiPositiveLoss } from "../../src/models/losses/multi_positive.js";
import { randn, tensor, type ProcessGroup, type Tensor } from "../../src/torch/index.js";

export const TOY_ROWS = 8;
const GROUPS = ["cat", "dog", "cat", "fox", "owl", "dog", "emu", "cat"];

/** The loss over all TOY_ROWS rows and the gradients of [imageW, textW, logitScale], as plain arrays. */
export function toyGradients(group: ProcessGroup | null): { loss: number; grads: number[][] } {
  const imageW = randn([5, 3], { seed: 11 }), textW = randn([5, 3], { seed: 12 }), logitScale = tensor([1.5]);
  for (const p of [imageW, textW, logitScale]) p.requiresGrad = true;
  const x = randn([TOY_ROWS, 5], { seed: 13 }), y = randn([TOY_ROWS, 5], { seed: 14 });
  const per = TOY_ROWS / (group?.size ?? 1), first = (group?.rank ?? 0) * per;
  let image: Tensor = x.narrow(0, first, per).matmul(imageW), text: Tensor = y.narrow(0, first, per).matmul(textW);
  let groups = GROUPS.slice(first, first + per), texts = groups.map((g) => `a photo of a ${g}`);
  if (group) {
    image = gatherWithGrad(group, image);
    text = gatherWithGrad(group, text);
    ({ groups, texts } = gatherPositiveKeys(group, texts, groups));
  }
  const loss = multiPositiveLoss(image.matmul(text.t()).mul(logitScale.exp()), groups, texts);
  loss.backward();
  if (group) allReduceGradients(group, [imageW, textW, logitScale], [logitScale]);
  return { loss: loss.item(), grads: [imageW, textW, logitScale].map((p) => p.grad!.toArray()) };
}
