/* The degradation lab: plain and residual nets trained in the reader's browser (chapter 1).
 *
 * A small analogue of the paper's CIFAR-10 experiment (Sec. 4.2): a 2-D two-spirals problem instead of
 * images, fully connected layers instead of 3x3 convolutions, and the same building block (Fig. 2, Eqn. 1):
 * two weighted layers, each followed by batch normalisation, ReLU after the first, the identity shortcut
 * added before the second ReLU. A net of depth 2n+2 is one layer into the width, n blocks, and the
 * classifier (the paper's 6n+2 with one stage instead of three). He initialisation (Sec. 3.4), SGD with
 * momentum 0.9 on mini-batches, the learning rate divided by 10 at half and at three quarters of training (Sec. 4.2's
 * 32k and 48k of 64k iterations). The plain twin is the same net without the additions, started from the
 * same weights.
 *
 * TensorFlow.js (tfjs-core with its CPU backend, vendored under _static/vendor/tfjs) does the arithmetic
 * and the gradients. Training runs in chunks of a few milliseconds and yields to the browser between
 * them, so the page stays responsive and the Stop button works on a slow device.
 *
 * Usage: <div class="resnet-lab"></div> anywhere on a page that loads this file after tfjs.
 */
(function (root) {
  "use strict";

  // The defaults show the effect in 5 of 5 seeds (1-5, headless Chromium 156): after 30 epochs the
  // 8-layer plain net and the 32-layer residual net both end at 0.0% training error (0 of 512 points),
  // the 32-layer plain net at 23.4, 40.0, 43.8, 33.8 and 43.4%. At the paper's learning rate of 0.1 the
  // residual net trained in bursts and ended 1 and 2 points (of 512) behind the 8-layer net in seeds 5
  // and 4. tests/test_site_lab.py checks seed 1 through the page's controls.
  const DEFAULTS = Object.freeze({
    depthA: 8,
    depthB: 32,
    shortcutsA: false,
    shortcutsB: false,
    width: 16, // units per hidden layer
    points: 512, // training points (two spirals, 256 each)
    turns: 1.5, // of each spiral
    batch: 64,
    epochs: 30,
    lr: 0.05,
    momentum: 0.9,
    seed: 1,
  });
  const DEPTHS = { min: 2, max: 50, step: 2 }; // 2n+2 layers, n = 0..24 blocks
  const BN_EPSILON = 1e-5;
  const CHUNK_MS = 24; // training time between two yields to the browser

  // ---- seeded random numbers (mulberry32): the data, the initial weights and the batch order ----

  function makeRandom(seed) {
    let a = seed >>> 0;
    const uniform = function () {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const normal = function () {
      // Box-Muller; 1 - u keeps the logarithm finite
      const u = 1 - uniform();
      const v = uniform();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    };
    return { uniform: uniform, normal: normal };
  }

  function shuffled(count, random) {
    const order = Array.from({ length: count }, (_, i) => i);
    for (let i = count - 1; i > 0; i--) {
      const j = Math.floor(random.uniform() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    return order;
  }

  // ---- the data: two interleaved spirals in the plane, with Gaussian noise ----

  function twoSpirals(points, turns, seed) {
    const random = makeRandom(seed * 7919 + 17);
    const x = new Float32Array(points * 2);
    const y = new Float32Array(points * 2); // one-hot, 2 classes
    const labels = new Int32Array(points);
    for (let i = 0; i < points; i++) {
      const label = i % 2;
      const t = 0.1 + 0.9 * random.uniform(); // radius and angle grow together
      const angle = 2 * Math.PI * turns * t + label * Math.PI;
      x[2 * i] = 1.5 * t * Math.cos(angle) + 0.04 * random.normal();
      x[2 * i + 1] = 1.5 * t * Math.sin(angle) + 0.04 * random.normal();
      y[2 * i + label] = 1;
      labels[i] = label;
    }
    return { x: x, y: y, labels: labels, points: points };
  }

  // ---- the net ----

  function heNormal(tf, fanIn, fanOut, random) {
    // He et al. (2015), as in Sec. 3.4: zero-mean Gaussian, variance 2 / fan-in
    const values = new Float32Array(fanIn * fanOut);
    const std = Math.sqrt(2 / fanIn);
    for (let i = 0; i < values.length; i++) values[i] = std * random.normal();
    return tf.tidy(() => tf.variable(tf.tensor2d(values, [fanIn, fanOut]))); // tidy: only the variable stays
  }

  function batchNormLayer(tf, width) {
    return tf.tidy(() => ({ gamma: tf.variable(tf.ones([width])), beta: tf.variable(tf.zeros([width])) }));
  }

  function makeNet(tf, options) {
    const depth = options.depth;
    const blocks = (depth - 2) / 2;
    if (!Number.isInteger(blocks) || blocks < 0) throw new Error("lab: depth must be 2n+2 layers, got " + depth);
    const width = options.width;
    const random = makeRandom(options.seed * 104729 + depth); // same seed and depth: same weights, plain or residual
    const stem = { w: heNormal(tf, 2, width, random), bn: batchNormLayer(tf, width) };
    const units = [];
    for (let i = 0; i < blocks; i++) {
      units.push({
        w1: heNormal(tf, width, width, random),
        bn1: batchNormLayer(tf, width),
        w2: heNormal(tf, width, width, random),
        bn2: batchNormLayer(tf, width),
      });
    }
    const head = { w: heNormal(tf, width, 2, random), b: tf.tidy(() => tf.variable(tf.zeros([2]))) };

    const norm = function (h, bn) {
      const m = tf.moments(h, 0); // statistics of the mini-batch
      return tf.batchNorm(h, m.mean, m.variance, bn.beta, bn.gamma, BN_EPSILON);
    };
    const forward = function (x) {
      let h = tf.relu(norm(tf.matMul(x, stem.w), stem.bn));
      for (const u of units) {
        const f = norm(tf.matMul(tf.relu(norm(tf.matMul(h, u.w1), u.bn1)), u.w2), u.bn2);
        h = tf.relu(options.shortcuts ? tf.add(f, h) : f); // Eqn. (1): y = F(x, {W_i}) + x, then ReLU
      }
      return tf.add(tf.matMul(h, head.w), head.b);
    };
    const variables = [stem.w, stem.bn.gamma, stem.bn.beta, head.w, head.b];
    for (const u of units) variables.push(u.w1, u.bn1.gamma, u.bn1.beta, u.w2, u.bn2.gamma, u.bn2.beta);
    return { depth: depth, shortcuts: options.shortcuts, forward: forward, variables: variables };
  }

  // ---- one training run: a net, its optimiser, its data; step() trains on one mini-batch ----

  function makeRun(tf, options) {
    const data = twoSpirals(options.points, options.turns, options.seed);
    const net = makeNet(tf, options);
    // Sec. 4.2's schedule: the learning rate is divided by 10 at half and at three quarters of training
    const learningRate = (epoch) => options.lr / (epoch >= 0.75 * options.epochs ? 100 : epoch >= 0.5 * options.epochs ? 10 : 1);
    const optimizer = tf.train.momentum(learningRate(0), options.momentum);
    const random = makeRandom(options.seed * 31 + 5);
    const stepsPerEpoch = Math.floor(data.points / options.batch);
    let order = shuffled(data.points, random);
    let step = 0;
    let lossSum = 0;
    const errors = []; // training error (%) after each epoch
    const losses = [];

    // The error (%) on the whole training set, its BN statistics those of the whole set (what BN's running
    // averages estimate): measured after each epoch, it is free of the mini-batches' noise.
    const xAll = tf.tensor2d(data.x, [data.points, 2]);
    const labelsAll = tf.tensor1d(data.labels, "int32");
    const trainingError = function () {
      const wrong = tf.tidy(() => tf.sum(tf.notEqual(tf.argMax(net.forward(xAll), 1), labelsAll)));
      const count = wrong.dataSync()[0];
      wrong.dispose();
      return (100 * count) / data.points;
    };

    const batch = function (first) {
      const xs = new Float32Array(options.batch * 2);
      const ys = new Float32Array(options.batch * 2);
      for (let i = 0; i < options.batch; i++) {
        const k = order[first + i];
        xs.set(data.x.subarray(2 * k, 2 * k + 2), 2 * i);
        ys.set(data.y.subarray(2 * k, 2 * k + 2), 2 * i);
      }
      return { x: tf.tensor2d(xs, [options.batch, 2]), y: tf.tensor2d(ys, [options.batch, 2]) };
    };

    const trainStep = function () {
      const first = (step % stepsPerEpoch) * options.batch;
      const b = batch(first);
      const loss = optimizer.minimize(
        () => tf.losses.softmaxCrossEntropy(b.y, net.forward(b.x)),
        true,
        net.variables,
      );
      lossSum += loss.dataSync()[0];
      tf.dispose([loss, b.x, b.y]);
      step += 1;
      if (step % stepsPerEpoch === 0) {
        errors.push(trainingError());
        losses.push(lossSum / stepsPerEpoch);
        lossSum = 0;
        order = shuffled(data.points, random);
        optimizer.setLearningRate(learningRate(errors.length));
      }
    };

    return {
      options: options,
      errors: errors,
      losses: losses,
      done: function () {
        return errors.length >= options.epochs;
      },
      step: trainStep,
      dispose: function () {
        tf.dispose(net.variables.concat([xAll, labelsAll]));
        optimizer.dispose();
      },
    };
  }

  // Train runs side by side, one mini-batch of each in turn, yielding to the browser every CHUNK_MS.
  // onProgress() after each chunk; returns {stop()}; resolves .finished when all are done or stopped.
  function trainTogether(runs, onProgress) {
    let stopped = false;
    let finish;
    const finished = new Promise(function (resolve) {
      finish = resolve;
    });
    const chunk = function () {
      if (stopped) return finish("stopped");
      const start = performance.now();
      try {
        while (performance.now() - start < CHUNK_MS) {
          const left = runs.filter((r) => !r.done());
          if (left.length === 0) break;
          for (const r of left) r.step();
        }
      } catch (err) {
        stopped = true;
        console.error("lab: training failed:", err);
        return finish("failed");
      }
      onProgress();
      if (runs.every((r) => r.done())) return finish("done");
      setTimeout(chunk, 0); // the browser paints and handles clicks before the next chunk
    };
    setTimeout(chunk, 0);
    return {
      finished: finished,
      stop: function () {
        stopped = true;
      },
    };
  }

  // ---- the chart: training error per epoch, drawn on a canvas ----

  const COLOURS = ["#1f77b4", "#d62728"]; // net A, net B (as the book's figures: blue, red)

  function label(options) {
    return options.depth + "-layer " + (options.shortcuts ? "residual" : "plain");
  }

  function drawChart(canvas, curves, epochs) {
    const ratio = root.devicePixelRatio || 1;
    const cssWidth = canvas.clientWidth || 640;
    const cssHeight = canvas.clientHeight || 320;
    if (canvas.width !== Math.round(cssWidth * ratio)) canvas.width = Math.round(cssWidth * ratio);
    if (canvas.height !== Math.round(cssHeight * ratio)) canvas.height = Math.round(cssHeight * ratio);
    const g = canvas.getContext("2d");
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, cssWidth, cssHeight);
    const style = getComputedStyle(canvas);
    const ink = style.color || "#333";
    const box = { left: 60, right: cssWidth - 12, top: 12, bottom: cssHeight - 36 };
    const yMax = 50; // % error; guessing a class of two spirals is 50 %
    const px = (epoch) => box.left + ((box.right - box.left) * epoch) / epochs;
    const py = (error) => box.bottom - ((box.bottom - box.top) * Math.min(error, yMax)) / yMax;
    g.font = "12px sans-serif";
    g.fillStyle = ink;
    g.strokeStyle = ink;
    g.globalAlpha = 0.25;
    g.lineWidth = 1;
    for (let e = 0; e <= yMax; e += 10) {
      g.beginPath();
      g.moveTo(box.left, py(e));
      g.lineTo(box.right, py(e));
      g.stroke();
    }
    g.globalAlpha = 1;
    g.textAlign = "right";
    g.textBaseline = "middle";
    for (let e = 0; e <= yMax; e += 10) g.fillText(e + "%", box.left - 6, py(e));
    g.textAlign = "center";
    g.textBaseline = "top";
    const tick = epochs <= 20 ? 5 : 10;
    for (let e = 0; e <= epochs; e += tick) g.fillText(String(e), px(e), box.bottom + 4);
    g.fillText("epoch", (box.left + box.right) / 2, box.bottom + 20);
    g.save();
    g.translate(14, (box.top + box.bottom) / 2);
    g.rotate(-Math.PI / 2);
    g.fillText("training error", 0, -6);
    g.restore();
    for (const c of curves) {
      if (c.errors.length === 0) continue;
      g.strokeStyle = c.colour;
      g.lineWidth = c.earlier ? 1.2 : 2.2;
      g.globalAlpha = c.earlier ? 0.45 : 1;
      g.setLineDash(c.earlier ? [4, 3] : []);
      g.beginPath();
      c.errors.forEach((err, i) => (i === 0 ? g.moveTo(px(i + 1), py(err)) : g.lineTo(px(i + 1), py(err))));
      g.stroke();
    }
    g.setLineDash([]);
    g.globalAlpha = 1;
  }

  // ---- the controls ----

  function element(tag, attributes, children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attributes || {})) {
      if (k === "text") e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const c of children || []) e.appendChild(c);
    return e;
  }

  function netControls(name, depth, shortcuts, colour) {
    const slider = element("input", {
      type: "range",
      min: DEPTHS.min,
      max: DEPTHS.max,
      step: DEPTHS.step,
      value: depth,
      "data-lab": "depth-" + name,
      "aria-label": "net " + name + ": layers",
    });
    const shown = element("output", { text: depth + " layers" });
    slider.addEventListener("input", () => (shown.textContent = slider.value + " layers"));
    const box = element("input", { type: "checkbox", "data-lab": "shortcuts-" + name });
    box.checked = shortcuts;
    const panel = element("fieldset", { class: "resnet-lab-net" }, [
      element("legend", {}, [element("span", { class: "resnet-lab-swatch", style: "background:" + colour }), element("span", { text: " net " + name })]),
      element("label", {}, [element("span", { text: "depth " }), slider, shown]),
      element("label", {}, [box, element("span", { text: " identity shortcuts" })]),
    ]);
    return {
      panel: panel,
      read: () => ({ depth: Number(slider.value), shortcuts: box.checked }),
      enable: (on) => {
        slider.disabled = !on;
        box.disabled = !on;
      },
    };
  }

  function mount(container, tf) {
    container.replaceChildren(); // the text shown where the lab cannot run
    const netA = netControls("A", DEFAULTS.depthA, DEFAULTS.shortcutsA, COLOURS[0]);
    const netB = netControls("B", DEFAULTS.depthB, DEFAULTS.shortcutsB, COLOURS[1]);
    const rate = element(
      "select",
      { "data-lab": "lr", "aria-label": "learning rate" },
      [0.01, 0.02, 0.05, 0.1, 0.2].map((v) => element("option", { value: v, text: String(v) })),
    );
    rate.value = String(DEFAULTS.lr);
    const seed = element("input", { type: "number", min: 1, max: 9999, step: 1, value: DEFAULTS.seed, "data-lab": "seed", "aria-label": "seed" });
    const start = element("button", { type: "button", "data-lab": "start", text: "Start" });
    const reset = element("button", { type: "button", "data-lab": "reset", text: "Reset" });
    const canvas = element("canvas", { class: "resnet-lab-chart", role: "img", "aria-label": "training error per epoch" });
    const status = element("p", { class: "resnet-lab-status", "aria-live": "polite", "data-lab": "status" });
    const legend = element("ul", { class: "resnet-lab-legend" });
    container.appendChild(
      element("div", { class: "resnet-lab-controls" }, [
        netA.panel,
        netB.panel,
        element("fieldset", { class: "resnet-lab-common" }, [
          element("legend", { text: "both" }),
          element("label", {}, [element("span", { text: "learning rate " }), rate]),
          element("label", {}, [element("span", { text: "seed " }), seed]),
          element("div", { class: "resnet-lab-buttons" }, [start, reset]),
        ]),
      ]),
    );
    container.appendChild(canvas);
    container.appendChild(legend);
    container.appendChild(status);

    let earlier = []; // curves of finished or stopped runs, kept (dashed) until Reset
    let runs = [];
    let training = null;

    const curves = () =>
      earlier.concat(runs.map((r, i) => ({ errors: r.errors, colour: COLOURS[i], label: label(r.options), earlier: false })));
    const redraw = function () {
      drawChart(canvas, curves(), DEFAULTS.epochs);
      legend.replaceChildren(
        ...curves()
          .filter((c) => c.errors.length)
          .map((c) =>
            element("li", { class: c.earlier ? "resnet-lab-earlier" : "" }, [
              element("span", { class: "resnet-lab-swatch", style: "background:" + c.colour }),
              element("span", { text: " " + c.label + (c.earlier ? " (earlier)" : "") + ": " + c.errors[c.errors.length - 1].toFixed(1) + "%" }),
            ]),
          ),
      );
    };
    const report = function (state) {
      container.setAttribute("data-state", state);
      container.setAttribute(
        "data-result",
        JSON.stringify(runs.map((r) => ({ depth: r.options.depth, shortcuts: r.options.shortcuts, errors: r.errors }))),
      );
      const epoch = Math.min(...runs.map((r) => r.errors.length));
      status.textContent =
        state === "training"
          ? "training: epoch " + epoch + " of " + DEFAULTS.epochs
          : state === "done"
            ? "done: " + DEFAULTS.epochs + " epochs"
            : state === "stopped"
              ? "stopped at epoch " + epoch
              : state === "failed"
                ? "training failed (see the browser console)"
                : "";
    };
    const keepCurves = function () {
      earlier = earlier.concat(
        runs.map((r, i) => ({ errors: r.errors.slice(), colour: COLOURS[i], label: label(r.options), earlier: true })),
      );
      runs.forEach((r) => r.dispose());
      runs = [];
    };
    const idle = function () {
      start.textContent = "Start";
      netA.enable(true);
      netB.enable(true);
      rate.disabled = false;
      seed.disabled = false;
    };

    start.addEventListener("click", function () {
      if (training) return training.stop(); // the button reads "Stop" while training
      keepCurves();
      const common = Object.assign({}, DEFAULTS, { lr: Number(rate.value), seed: Math.max(1, Math.floor(Number(seed.value) || 1)) });
      runs = [netA.read(), netB.read()].map((net) => makeRun(tf, Object.assign({}, common, net)));
      start.textContent = "Stop";
      netA.enable(false);
      netB.enable(false);
      rate.disabled = true;
      seed.disabled = true;
      report("training");
      training = trainTogether(runs, function () {
        redraw();
        report("training");
      });
      training.finished.then(function (how) {
        training = null;
        idle();
        redraw();
        report(how);
      });
    });
    reset.addEventListener("click", function () {
      if (training) training.stop();
      const clear = function () {
        runs.forEach((r) => r.dispose());
        runs = [];
        earlier = [];
        redraw();
        report("ready");
      };
      if (training) training.finished.then(clear);
      else clear();
    });
    root.addEventListener("resize", redraw);
    redraw();
    report("ready");
  }

  const api = { DEFAULTS: DEFAULTS, DEPTHS: DEPTHS, makeRandom: makeRandom, twoSpirals: twoSpirals, makeNet: makeNet, makeRun: makeRun, trainTogether: trainTogether };
  root.ResnetLab = api;

  if (typeof document !== "undefined") {
    const start = function () {
      const containers = document.querySelectorAll(".resnet-lab");
      if (containers.length === 0) return;
      const tf = root.tf;
      if (!tf || !tf.train) {
        containers.forEach((c) => (c.textContent = "The lab needs TensorFlow.js, which did not load."));
        console.error("lab: TensorFlow.js (tf-core, tf-backend-cpu) is not loaded");
        return;
      }
      tf.setBackend("cpu").then(function () {
        containers.forEach((c) => mount(c, tf));
      });
    };
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
    else start();
  }
})(typeof globalThis !== "undefined" ? globalThis : this);
