/** How a freshly created parameter is filled when no checkpoint provides it. */
import { noGrad, type Tensor } from "../torch/index.js";

export type Init =
  | { kind: "normal"; std: number; mean?: number }
  | { kind: "uniform"; bound: number }
  | { kind: "zeros" }
  | { kind: "ones" }
  | { kind: "constant"; value: number };

export const zerosInit: Init = { kind: "zeros" };
export const onesInit: Init = { kind: "ones" };
export const normalInit = (std: number): Init => ({ kind: "normal", std });

/** PyTorch's nn.Linear / nn.Conv2d default (kaiming_uniform with a=sqrt(5)): U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
export const fanInUniform = (fanIn: number): Init => ({ kind: "uniform", bound: 1 / Math.sqrt(fanIn) });

/** Fills `t` in place from the global generator (seed it with manualSeed for reproducible models). */
export function applyInit(t: Tensor, init: Init): void {
  noGrad(() => {
    switch (init.kind) {
      case "normal": t.normal_(init.mean ?? 0, init.std); break;
      case "uniform": t.uniform_(-init.bound, init.bound); break;
      case "zeros": t.zero_(); break;
      case "ones": t.fill_(1); break;
      case "constant": t.fill_(init.value); break;
    }
  });
}
