// Serving speed of exported models in the runtimes they are deployed on (scripts/serving runs it):
//   node scripts/serving.mjs RUNTIMES gguf TEXT_FILE PROMPT_TOKENS GENERATED_TOKENS REPEATS THREADS A.gguf B.gguf ...
//   node scripts/serving.mjs RUNTIMES onnx BATCH SEQUENCE REPEATS THREADS A.onnx B.onnx ...
// gguf: llama.cpp (node-llama-cpp, CPU) processes a prompt of PROMPT_TOKENS tokens of the text in
// one batch, then generates GENERATED_TOKENS tokens one at a time (greedy); tokens per second of
// each. onnx: ONNX Runtime latency of one batch of random ids. The models take turns within each
// repeat, so that load from other processes falls on all of them alike; medians are printed as one
// JSON line per model.
import {createRequire} from "node:module";
import {readFileSync} from "node:fs";
import {resolve} from "node:path";
import {pathToFileURL} from "node:url";
import {performance} from "node:perf_hooks";

const [runtimes, kind, ...args] = process.argv.slice(2);
const require = createRequire(resolve(runtimes, "package.json"));
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

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
    runs.push({path, model, context, sequence: context.getSequence(), prompt, promptRate: [], generateRate: []});
  }
  for (let r = 0; r < repeats; ++r) {
    for (const run of runs) {
      await run.sequence.clearHistory();
      let t0 = performance.now();
      await run.sequence.evaluateWithoutGeneratingNewTokens(run.prompt);
      run.promptRate.push(promptTokens / ((performance.now() - t0) / 1000));
      let count = 0;
      t0 = performance.now();
      for await (const token of run.sequence.evaluate([run.prompt.at(-1)], {temperature: 0})) {
        void token;
        if (++count >= generated) break;
      }
      run.generateRate.push(count / ((performance.now() - t0) / 1000));
    }
  }
  for (const run of runs)
    console.log(JSON.stringify({model: run.path, prompt_tokens_per_s: median(run.promptRate), generate_tokens_per_s: median(run.generateRate)}));
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
    runs.push({path, session, feeds, ms: []});
  }
  for (let r = 0; r < repeats; ++r)
    for (const run of runs) {
      const t0 = performance.now();
      await run.session.run(run.feeds);
      run.ms.push(performance.now() - t0);
    }
  for (const run of runs) console.log(JSON.stringify({model: run.path, latency_ms: median(run.ms)}));
} else {
  console.error("usage: serving.mjs RUNTIMES gguf|onnx ...");
  process.exit(2);
}
