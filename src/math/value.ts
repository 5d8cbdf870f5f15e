/**
 * A scalar automatic-differentiation engine, micrograd-sized (after Karpathy's micrograd).
 *
 * A `Value` holds a number (`data`), the derivative of the final output with respect to it
 * (`grad`), the values it was computed from (`parents`) and a local `backward` closure that ADDS
 * its contribution into the parents' `grad` (adds, because a value used twice receives gradient
 * along both paths). Only seven operations carry derivative code (add, mul, pow, exp, log, tanh,
 * relu); neg, sub, div and sigmoid are built from them. `backward()` orders the graph
 * topologically and walks it in reverse.
 *
 * Introduced in notebook 02-loss-and-backprop.
 */
import { JUPYTER_DISPLAY, type Displayable, type MimeBundle } from "../display";
import { rng as makeRng, type Rng } from "./random";

/** A number or a Value; numbers become constant leaves. */
export type Operand = Value | number;

let nextId = 0;

/** A scalar in a computation graph, with its gradient. Introduced in notebook 02-loss-and-backprop. */
export class Value implements Displayable {
  /** d(output)/d(this), filled in by `backward()` on the output. */
  grad = 0;
  /** A unique, increasing id (creation order), handy for drawing and debugging. */
  readonly id = nextId++;
  /** Propagates `this.grad` into the parents' grads. Leaves do nothing. */
  backwardStep: () => void = () => {};

  constructor(
    /** The number this node holds (float64). */
    public data: number,
    /** A name shown in graphs, e.g. "w1". */
    public label = "",
    /** The values this one was computed from. */
    readonly parents: readonly Value[] = [],
    /** The operation that produced it ("" for a leaf). */
    readonly op = "",
  ) {
    if (typeof data !== "number") throw new TypeError(`Value: expected a number, found ${typeof data}`);
  }

  /** Wrap a number as a constant leaf; pass Values through. */
  static from(x: Operand): Value {
    return x instanceof Value ? x : new Value(x);
  }

  /** Σ values, as a chain of additions (a Value; 0 for an empty list). */
  static sum(values: Operand[]): Value {
    if (values.length === 0) return new Value(0);
    return values.slice(1).reduce<Value>((acc, v) => acc.add(v), Value.from(values[0]));
  }

  /** Name this value (returns it, for chaining). */
  named(label: string): this {
    this.label = label;
    return this;
  }

  // --- Primitives: the only places with derivative code. ---

  /** this + other; ∂/∂this = 1, ∂/∂other = 1. */
  add(other: Operand): Value {
    const o = Value.from(other);
    const out = new Value(this.data + o.data, "", [this, o], "+");
    out.backwardStep = () => {
      this.grad += out.grad;
      o.grad += out.grad;
    };
    return out;
  }

  /** this · other; ∂/∂this = other, ∂/∂other = this. */
  mul(other: Operand): Value {
    const o = Value.from(other);
    const out = new Value(this.data * o.data, "", [this, o], "×");
    out.backwardStep = () => {
      this.grad += o.data * out.grad;
      o.grad += this.data * out.grad;
    };
    return out;
  }

  /**
   * this ** k. For a number k: ∂/∂this = k·this^(k−1). For a Value k it is exp(k·log this)
   * (defined through the primitives; needs this > 0).
   */
  pow(k: Operand): Value {
    if (k instanceof Value) return this.log().mul(k).exp();
    if (!Number.isFinite(k)) throw new Error(`Value.pow: expected a finite exponent, found ${k}`);
    const out = new Value(this.data ** k, "", [this], `^${k}`);
    out.backwardStep = () => {
      this.grad += k * this.data ** (k - 1) * out.grad;
    };
    return out;
  }

  /** e^this; its derivative is itself. */
  exp(): Value {
    const out = new Value(Math.exp(this.data), "", [this], "exp");
    out.backwardStep = () => {
      this.grad += out.data * out.grad;
    };
    return out;
  }

  /** Natural log; ∂/∂this = 1/this. */
  log(): Value {
    const out = new Value(Math.log(this.data), "", [this], "log");
    out.backwardStep = () => {
      this.grad += out.grad / this.data;
    };
    return out;
  }

  /** tanh; ∂/∂this = 1 − tanh². */
  tanh(): Value {
    const t = Math.tanh(this.data);
    const out = new Value(t, "", [this], "tanh");
    out.backwardStep = () => {
      this.grad += (1 - t * t) * out.grad;
    };
    return out;
  }

  /** max(0, this); ∂/∂this = 1 where this > 0, else 0. */
  relu(): Value {
    const out = new Value(this.data > 0 ? this.data : 0, "", [this], "relu");
    out.backwardStep = () => {
      this.grad += (this.data > 0 ? 1 : 0) * out.grad;
    };
    return out;
  }

  // --- Composites: defined through the primitives, so they need no derivative code. ---

  /** −this = this · (−1). */
  neg(): Value {
    return this.mul(-1);
  }

  /** this − other = this + (−other). */
  sub(other: Operand): Value {
    return this.add(Value.from(other).neg());
  }

  /** this / other = this · other⁻¹. */
  div(other: Operand): Value {
    return this.mul(Value.from(other).pow(-1));
  }

  /** σ(this) = ½·(1 + tanh(this/2)), an identity that never overflows. */
  sigmoid(): Value {
    return this.mul(0.5).tanh().add(1).mul(0.5);
  }

  // --- The backward pass. ---

  /** Every value this one depends on (itself included), each after all of its parents. */
  topologicalOrder(): Value[] {
    const order: Value[] = [];
    const visited = new Set<Value>();
    // An explicit stack instead of recursion, so deep graphs (long training sums) cannot
    // overflow the call stack. Each entry is visited twice: once to push its parents, then,
    // when it comes back to the top, to emit it after them.
    const stack: { v: Value; expanded: boolean }[] = [{ v: this, expanded: false }];
    while (stack.length) {
      const top = stack[stack.length - 1];
      if (top.expanded) {
        stack.pop();
        order.push(top.v);
        continue;
      }
      if (visited.has(top.v)) {
        stack.pop();
        continue;
      }
      visited.add(top.v);
      top.expanded = true;
      // Pushed last-first so the first parent is emitted first (inputs keep their order).
      for (let i = top.v.parents.length - 1; i >= 0; i--) {
        const p = top.v.parents[i];
        if (!visited.has(p)) stack.push({ v: p, expanded: false });
      }
    }
    return order;
  }

  /**
   * Back-propagate from this value: set d(this)/d(this) = 1 and call every node's backward step,
   * outputs before inputs. Gradients ADD to what is there: call `zeroGrad` between passes.
   */
  backward(): void {
    const order = this.topologicalOrder();
    this.grad = 1;
    for (let i = order.length - 1; i >= 0; i--) order[i].backwardStep();
  }

  /** Set grad = 0 on this value and everything it depends on. */
  zeroGrad(): void {
    for (const v of this.topologicalOrder()) v.grad = 0;
  }

  toString(): string {
    const name = this.label ? `${this.label}: ` : "";
    return `Value(${name}data=${fmt(this.data)}, grad=${fmt(this.grad)})`;
  }

  [JUPYTER_DISPLAY](): MimeBundle {
    return { "text/plain": this.toString() };
  }
}

function fmt(v: number): string {
  return Number.isFinite(v) ? String(Number(v.toPrecision(6))) : String(v);
}

/** Non-linearities a Neuron can apply. */
export type NeuronActivation = "tanh" | "relu" | "sigmoid" | "linear";

/** Options for Neuron, Layer and MLP. */
export interface NeuronOptions {
  /** Non-linearity after the weighted sum; default "tanh". */
  activation?: NeuronActivation;
  /** Seeded generator for the initial weights (uniform in [−1, 1], as micrograd). */
  rng?: Rng;
}

/** Something with parameters, as in micrograd's Module. */
abstract class Module {
  abstract parameters(): Value[];
  /** Set every parameter's grad to 0 before the next backward pass. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = 0;
  }
  /** One gradient-descent step: p ← p − lr · ∂L/∂p for every parameter. */
  step(lr: number): void {
    for (const p of this.parameters()) p.data -= lr * p.grad;
  }
}

/** One neuron: activation(w·x + b). Introduced in notebook 02-loss-and-backprop. */
export class Neuron extends Module {
  readonly w: Value[];
  readonly b: Value;
  readonly activation: NeuronActivation;

  constructor(nin: number, options: NeuronOptions = {}) {
    super();
    if (!(Number.isInteger(nin) && nin > 0)) throw new Error(`Neuron: expected a positive number of inputs, found ${nin}`);
    const r = options.rng ?? makeRng(0);
    this.w = Array.from({ length: nin }, (_, i) => new Value(r.between(-1, 1), `w${i + 1}`));
    this.b = new Value(0, "b");
    this.activation = options.activation ?? "tanh";
  }

  /** The neuron's output for inputs x (numbers or Values). */
  forward(x: Operand[]): Value {
    if (x.length !== this.w.length) {
      throw new Error(`Neuron: expected ${this.w.length} inputs, found ${x.length}`);
    }
    const z = this.w.reduce<Value>((acc, wi, i) => acc.add(wi.mul(x[i])), this.b);
    switch (this.activation) {
      case "tanh":
        return z.tanh();
      case "relu":
        return z.relu();
      case "sigmoid":
        return z.sigmoid();
      case "linear":
        return z;
    }
  }

  parameters(): Value[] {
    return [...this.w, this.b];
  }
}

/** A layer of `nout` neurons, each seeing all `nin` inputs. Introduced in notebook 02-loss-and-backprop. */
export class Layer extends Module {
  readonly neurons: Neuron[];

  constructor(nin: number, nout: number, options: NeuronOptions = {}) {
    super();
    if (!(Number.isInteger(nout) && nout > 0)) throw new Error(`Layer: expected a positive number of outputs, found ${nout}`);
    const r = options.rng ?? makeRng(0);
    this.neurons = Array.from({ length: nout }, () => new Neuron(nin, { ...options, rng: r }));
  }

  forward(x: Operand[]): Value[] {
    return this.neurons.map((n) => n.forward(x));
  }

  parameters(): Value[] {
    return this.neurons.flatMap((n) => n.parameters());
  }
}

/**
 * A multilayer perceptron on Values: `new MLP(2, [4, 4, 1])` has two hidden layers of 4 and one
 * output. Hidden layers use `activation` (default tanh); the last layer is linear.
 * Introduced in notebook 02-loss-and-backprop.
 */
export class MLP extends Module {
  readonly layers: Layer[];

  constructor(nin: number, nouts: number[], options: NeuronOptions & { seed?: number } = {}) {
    super();
    if (nouts.length === 0) throw new Error("MLP: expected at least one layer size, found none");
    const r = options.rng ?? makeRng(options.seed ?? 0);
    const sizes = [nin, ...nouts];
    this.layers = nouts.map(
      (nout, i) =>
        new Layer(sizes[i], nout, { rng: r, activation: i === nouts.length - 1 ? "linear" : options.activation ?? "tanh" }),
    );
  }

  /** The outputs for one input vector. */
  forward(x: Operand[]): Value[] {
    return this.layers.reduce<Operand[]>((acts, layer) => layer.forward(acts), x) as Value[];
  }

  parameters(): Value[] {
    return this.layers.flatMap((l) => l.parameters());
  }

  override toString(): string {
    const sizes = [this.layers[0].neurons[0].w.length, ...this.layers.map((l) => l.neurons.length)];
    return `MLP(${sizes.join(" → ")}, ${this.parameters().length} parameters)`;
  }
}
