// Runs GGUF files in llama.cpp (node-llama-cpp, CPU) for the export tests:
//   node llama_cpp_eval.mjs RUNTIMES REQUEST.json
// REQUEST: {"jobs": [{"path": "a.gguf", "out": "prefix", "text": "...", "vocab": n, "probabilities": true|false}]}
// For each model, writes prefix.json {"ids": llama.cpp's tokens of text, with the special tokens
// the file says to add} and, unless probabilities is false, prefix.f32: the next-token
// probabilities after every one of those tokens, tokens x vocab little-endian float32.
import {createRequire} from "node:module";
import {readFileSync, writeFileSync} from "node:fs";
import {resolve} from "node:path";
import {pathToFileURL} from "node:url";

const [runtimes, requestPath] = process.argv.slice(2);
const require = createRequire(resolve(runtimes, "package.json"));
const {getLlama, LlamaLogLevel} = await import(pathToFileURL(require.resolve("node-llama-cpp")).href);
const request = JSON.parse(readFileSync(requestPath, "utf8"));

const llama = await getLlama({gpu: false, build: "never", progressLogs: false, logLevel: LlamaLogLevel.error});
for (const m of request.jobs) {
  const model = await llama.loadModel({modelPath: m.path, gpuLayers: 0, vocabOnly: m.probabilities === false});
  const ids = model.tokenize(m.text, false);
  if (model.tokens.shouldPrependBosToken) ids.unshift(model.tokens.bos);
  if (model.fileInfo.metadata.tokenizer.ggml.add_sep_token) ids.push(model.tokens.sep);
  if (model.fileInfo.metadata.tokenizer.ggml.add_eos_token) ids.push(model.tokens.eos);
  writeFileSync(m.out + ".json", JSON.stringify({ids}));
  if (m.probabilities === false) {
    await model.dispose();
    continue;
  }
  // a float32 KV cache, so that the f32 file is compared with no half-precision step in between
  const context = await model.createContext({contextSize: Math.max(64, ids.length + 1), batchSize: ids.length, threads: 1,
    flashAttention: false, experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32"});
  const sequence = context.getSequence();
  const results = await sequence.controlledEvaluate(ids.map((t) => [t, {generateNext: {probabilities: true}}]));
  const vocab = m.vocab;
  const probs = new Float32Array(ids.length * vocab);
  results.forEach((r, i) => {
    for (const [token, p] of r.next.probabilities) probs[i * vocab + token] = p;
  });
  writeFileSync(m.out + ".f32", Buffer.from(probs.buffer));
  await context.dispose();
  await model.dispose();
}
await llama.dispose();
