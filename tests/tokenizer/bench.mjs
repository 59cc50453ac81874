#!/usr/bin/env node
// The JavaScript side of tools/bench-tokenize.sh.
//
//   node bench.mjs time MODULES FILES TOOL TOKENIZER IN.jsonl [WARM.jsonl]
//       Encode the "text" of every record of IN with TOOL and print one line of JSON:
//       {"seconds", "bytes", "records", "ids"}.  Only encoding is timed: reading and
//       parsing IN, loading the tokenizer and a warm-up pass over the first 2 MB of text
//       of WARM (default IN) are not.  The warm-up lets the JIT compile the hot code;
//       give a WARM other than IN when IN is small, or the timed pass would find every
//       piece in the caches some tools keep (gpt-tokenizer, tokenizers) after the warm-up
//       encoded the same text.  Special-token text is encoded as ordinary text.
//         TOOL tiktoken       npm "tiktoken" (WASM), TOKENIZER cl100k_base or o200k_base
//         TOOL gpt-tokenizer  npm "gpt-tokenizer" (JavaScript), the same encodings
//         TOOL hf-js          npm "@huggingface/tokenizers" (JavaScript), TOKENIZER
//                             gpt2 or llama3 (FILES/NAME.json)
//         TOOL hf-rust        npm "tokenizers" (the Rust library), the same files
//   node bench.mjs bytes IN.jsonl
//       Print the number of UTF-8 bytes of text in IN's "text" fields.
//   node bench.mjs nows COUNT BYTES
//       Write COUNT different documents of BYTES bytes of letters without white space
//       (lower-case and caseless letters: one piece for every split pattern) as JSONL.

import { readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import * as ref from "./lib.mjs";

function die(msg) {
	process.stderr.write(`bench.mjs: ${msg}\n`);
	process.exit(2);
}

function encoder(tool, files, name) {
	switch (tool) {
	case "tiktoken": {
		const { Tiktoken } = ref.need("tiktoken/lite");
		const enc = ref.ENCODINGS[name];
		if (!enc) die(`unknown encoding ${name}`);
		const t = new Tiktoken(readFileSync(join(files, `${name}.tiktoken`), "utf8"),
			enc.specials, enc.pattern);
		return (text) => t.encode_ordinary(text).length;
	}
	case "gpt-tokenizer": {
		const g = ref.need(`gpt-tokenizer/cjs/encoding/${name}`);
		const opts = { disallowedSpecial: new Set() };
		return (text) => g.encode(text, opts).length;
	}
	case "hf-js": {
		const { Tokenizer } = ref.need("@huggingface/tokenizers");
		const j = JSON.parse(readFileSync(join(files, `${name}.json`), "utf8"));
		j.added_tokens = [];
		const t = new Tokenizer(j, {});
		return (text) => t.encode(text, { add_special_tokens: false }).ids.length;
	}
	case "hf-rust": {
		const { Tokenizer } = ref.need("tokenizers");
		const j = JSON.parse(readFileSync(join(files, `${name}.json`), "utf8"));
		j.added_tokens = [];
		const t = Tokenizer.fromString(JSON.stringify(j));
		return async (text) =>
			(await t.encode(text, null, { addSpecialTokens: false })).getIds().length;
	}
	default:
		die(`unknown tool ${tool}`);
	}
}

async function time(args) {
	const [modules, files, tool, name, inPath, warmPath] = args;
	if (!inPath) die("usage: see the head of bench.mjs");
	ref.load(modules);
	const texts = ref.readJsonl(inPath).map((r) => r.text);
	const warmTexts = warmPath ? ref.readJsonl(warmPath).map((r) => r.text) : texts;
	const encode = encoder(tool, files, name);
	let warm = 0;
	for (const t of warmTexts) {
		if (warm > 2 << 20) break;
		await encode(t);
		warm += t.length;
	}
	let bytes = 0;
	for (const t of texts) bytes += Buffer.byteLength(t, "utf8");
	let ids = 0;
	const t0 = process.hrtime.bigint();
	for (const t of texts) ids += await encode(t);
	const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
	process.stdout.write(JSON.stringify({ seconds, bytes, records: texts.length, ids }) + "\n");
}

// Lower-case and caseless letters, as in gen-stress.mjs's big/letters-1m, from a given seed.
function nows(args) {
	const count = Number(args[0]), size = Number(args[1]);
	if (!(count > 0 && size > 0)) die("usage: nows COUNT BYTES");
	let s = 0x2545f491;
	const next = () => {
		s ^= s << 13;
		s ^= s >>> 17;
		s ^= s << 5;
		return s >>> 0;
	};
	const letters = [..."abcdefghijklmnopqrstuvwxyz".repeat(8) + "\u00e9\u00df\u03b1\u0436" +
		"\u4e2d\u6587\u3042\ud55c"];
	for (let d = 0; d < count; d++) {
		let text = "";
		let n = 0;
		while (n < size) {
			const c = letters[next() % letters.length];
			text += c;
			n += Buffer.byteLength(c, "utf8");
		}
		const line = JSON.stringify({ id: `nows-${d}`, text }) + "\n";
		const buf = Buffer.from(line, "utf8");
		for (let off = 0; off < buf.length;) off += writeSync(1, buf, off);
	}
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === "bytes") {
	let n = 0;
	for (const r of ref.readJsonl(args[0])) n += Buffer.byteLength(r.text, "utf8");
	process.stdout.write(`${n}\n`);
} else if (cmd === "time") time(args).catch((e) => die(e.stack || String(e)));
else if (cmd === "nows") nows(args);
else die("usage: see the head of bench.mjs");
