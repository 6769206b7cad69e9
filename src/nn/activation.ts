/** Activation functions by their Hugging Face config names (`hidden_act`). */
import type { Tensor } from "../torch/index.js";

export type Activation = "gelu" | "gelu_new" | "gelu_pytorch_tanh" | "quick_gelu" | "relu";

export const ACTIVATIONS = ["gelu", "gelu_new", "gelu_pytorch_tanh", "quick_gelu", "relu"] as const;

/** Applies `act` to `x`. quick_gelu is OpenAI CLIP's x·σ(1.702x); gelu_new is the tanh approximation. */
export function activate(act: Activation, x: Tensor): Tensor {
  switch (act) {
    case "gelu": return x.gelu("none");
    case "gelu_new": case "gelu_pytorch_tanh": return x.gelu("tanh");
    case "relu": return x.relu();
    case "quick_gelu": {
      const gate = x.mul(1.702).sigmoid();
      const out = x.mul(gate);
      gate.dispose();
      return out;
    }
  }
}

/** Narrows a config string to an Activation, naming the allowed values otherwise. */
export function parseActivation(value: unknown, where: string): Activation {
  if (typeof value === "string" && (ACTIVATIONS as readonly string[]).includes(value)) return value as Activation;
  throw new Error(`${where}: hidden_act '${String(value)}' is not supported (known: ${ACTIVATIONS.join(", ")})`);
}
