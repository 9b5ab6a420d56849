// Serving speed of exported models in the runtimes they are deployed on (scripts/serving runs it):
//   node scripts/serving.mjs RUNTIMES gguf TEXT_FILE PROMPT_TOKENS GENERATED_TOKENS REPEATS THREADS A.gguf B.gguf ...
//   node scripts/serving.mjs RUNTIMES onnx BATCH SEQUENCE REPEATS THREADS A.onnx B.onnx ...
// gguf: llama.cpp (node-llama-cpp, CPU) processes a prompt of PROMPT_TOKENS tokens of the text in
// one batch, then generates GENERATED_TOKENS tokens one at a time (greedy); tokens per second of
// each. onnx: ONNX Runtime latency of one batch of random ids. Each is timed twice: by the clock
// (what a user waits) and by the CPU time the process used (what the work costs; on a machine
// other processes share, preemption stretches long runs more than short ones, so this is the
// steadier figure). The models take turns within each repeat; medians are printed as one JSON
// line per model.
import {createRequire} from "node:module";
import {readFileSync} from "node:fs";
import {resolve} from "node:path";
import {pathToFileURL} from "node:url";
import {performance} from "node:perf_hooks";

const [runtimes, kind, ...args] = process.argv.slice(2);
const require = createRequire(resolve(runtimes, "package.json"));
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
// wall-clock and process CPU seconds of an async call
async function timed(f) {
  const t0 = performance.now(), c0 = process.cpuUsage();
  await f();
  const c = process.cpuUsage(c0);
  return {wall: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6};
}

if (kind === "gguf") {
  const [textFile, promptArg, generateArg, repeatsArg, threadsArg, ...files] = args;
  const [promptTokens, generated, repeats, threads] = [promptArg, generateArg, repeatsArg, threadsArg].map(Number);
  const {getLlama, LlamaLogLevel} = await import(pathToFileURL(require.resolve("node-llama-cpp")).href);
  const llama = await getLlama({gpu: false, build: "never", progressLogs: false, logLevel: LlamaLogLevel.error});
  const text = readFileSync(textFile, "utf8");
  const runs = [];
  for (const path of files) {
    const model = await llama.loadModel({modelPath: path, gpuLayers: 0});
    let prompt = model.tokenize(text, false);
    while (prompt.length < promptTokens) prompt = prompt.concat(prompt);
    prompt = prompt.slice(0, promptTokens);
    const context = await model.createContext({contextSize: promptTokens + generated + 16, batchSize: promptTokens, threads});
    runs.push({path, model, context, sequence: context.getSequence(), prompt, rates: {prompt: [], prompt_cpu: [], generate: [], generate_cpu: []}});
  }
  for (let r = 0; r < repeats; ++r) {
    for (const run of runs) {
      await run.sequence.clearHistory();
      const p = await timed(() => run.sequence.evaluateWithoutGeneratingNewTokens(run.prompt));
      run.rates.prompt.push(promptTokens / p.wall);
      run.rates.prompt_cpu.push(promptTokens / p.cpu);
      let count = 0;
      const g = await timed(async () => {
        for await (const token of run.sequence.evaluate([run.prompt.at(-1)], {temperature: 0})) {
          void token;
          if (++count >= generated) break;
        }
      });
      run.rates.generate.push(count / g.wall);
      run.rates.generate_cpu.push(count / g.cpu);
    }
  }
  for (const run of runs)
    console.log(JSON.stringify({model: run.path, prompt_tokens_per_s: median(run.rates.prompt), prompt_tokens_per_cpu_s: median(run.rates.prompt_cpu),
                                generate_tokens_per_s: median(run.rates.generate), generate_tokens_per_cpu_s: median(run.rates.generate_cpu)}));
  for (const run of runs) {
    await run.context.dispose();
    await run.model.dispose();
  }
  await llama.dispose();
} else if (kind === "onnx") {
  const [batchArg, seqArg, repeatsArg, threadsArg, ...files] = args;
  const [batch, seq, repeats, threads] = [batchArg, seqArg, repeatsArg, threadsArg].map(Number);
  const ort = require("onnxruntime-node");
  const ids = BigInt64Array.from({length: batch * seq}, (_, i) => BigInt(5 + ((i * 7919) % 997)));
  const runs = [];
  for (const path of files) {
    const session = await ort.InferenceSession.create(path, {executionProviders: ["cpu"], intraOpNumThreads: threads, interOpNumThreads: 1});
    const feeds = {};
    for (const name of session.inputNames)
      feeds[name] = new ort.Tensor("int64", name === "input_ids" ? ids : name === "attention_mask" ? new BigInt64Array(batch * seq).fill(1n)
                                                                                                   : new BigInt64Array(batch * seq), [batch, seq]);
    for (let w = 0; w < 3; ++w) await session.run(feeds);  // warm-up
    runs.push({path, session, feeds, ms: [], cpu_ms: []});
  }
  for (let r = 0; r < repeats; ++r)
    for (const run of runs) {
      const t = await timed(() => run.session.run(run.feeds));
      run.ms.push(t.wall * 1000);
      run.cpu_ms.push(t.cpu * 1000);
    }
  for (const run of runs) console.log(JSON.stringify({model: run.path, latency_ms: median(run.ms), cpu_ms: median(run.cpu_ms)}));
} else {
  console.error("usage: serving.mjs RUNTIMES gguf|onnx ...");
  process.exit(2);
}
