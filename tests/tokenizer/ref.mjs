#!/usr/bin/env node
// Reference token ids, and comparisons with winnow's, for tests/cli/tokenize-parity.sh.
//
//   node ref.mjs prepare MODULES FILES
//       write FILES/{gpt2,r50k_base,p50k_base,cl100k_base,o200k_base}.tiktoken and
//       FILES/{gpt2,llama3}.json from the packages installed in MODULES, checked
//   node ref.mjs encode MODULES FILES TOKENIZER IN.jsonl OUT [--no-check]
//       TOKENIZER: a tiktoken encoding name, or hf:NAME for FILES/NAME.json.  Writes
//       OUT.ordinary.jsonl (special-token text encoded as text) and OUT.special.jsonl
//       (special-token text is the special token), {"id", "input_ids"} per record of IN
//       (id: its "id" field, else "line N").  Documents where the JavaScript port of
//       tiktoken is not needed are also encoded with it, to check it (--no-check: not).
//   node ref.mjs compare MODULES FILES TOKENIZER MODE REF.jsonl GOT.jsonl
//       GOT holds winnow's records (field input_ids); exit 1 at the first difference
//   node ref.mjs roundtrip IN.jsonl GOT.jsonl
//       GOT's "decoded" field must equal IN's "text", byte for byte; exit 1 if not
//
// Exit status 2 is a usage or reference error (the references themselves are broken).

import { openSync, writeSync, closeSync } from "node:fs";
import { join } from "node:path";
import * as ref from "./lib.mjs";

function die(msg, code = 2) {
	process.stderr.write(`ref.mjs: ${msg}\n`);
	process.exit(code);
}

function makeRef(files, spec) {
	if (spec.startsWith("hf:")) {
		const path = join(files, `${spec.slice(3)}.json`);
		const ord = new ref.HfRef(path, false), sp = new ref.HfRef(path, true);
		return {
			specials: [...sp.added.values()],
			encode: (text, special) => (special ? sp : ord).encode(text),
			tokenText: (id) => sp.tokenText(id),
		};
	}
	if (!ref.ENCODINGS[spec]) die(`unknown tokenizer '${spec}'`);
	const r = new ref.TiktokenRef(spec, files);
	return {
		r,
		specials: Object.keys(ref.ENCODINGS[spec].specials),
		encode: (text, special, check) => r.encode(text, special, check),
		tokenText: (id) => r.tokenText(id),
	};
}

function idOf(rec, line) {
	return typeof rec.id === "string" || typeof rec.id === "number" ? String(rec.id)
		: `line ${line}`;
}

// A few tokens either side of position at, with their text.
function around(ids, at, tokenText) {
	const from = Math.max(0, at - 4), to = Math.min(ids.length, at + 5);
	const parts = [];
	for (let i = from; i < to; i++) {
		let t;
		try {
			t = JSON.stringify(tokenText(ids[i]).toString("utf8"));
		} catch {
			t = "?";
		}
		parts.push(`${i === at ? ">>" : ""}${ids[i]} ${t}${i === at ? "<<" : ""}`);
	}
	return `[${from > 0 ? "... " : ""}${parts.join(", ")}${to < ids.length ? " ..." : ""}]`;
}

async function main() {
	const [cmd, ...args] = process.argv.slice(2);
	if (cmd === "roundtrip") {
		const [inPath, gotPath] = args;
		const want = ref.readJsonl(inPath), got = ref.readJsonl(gotPath);
		if (want.length !== got.length)
			die(`${gotPath}: ${got.length} records, ${inPath} has ${want.length}`, 1);
		for (let i = 0; i < want.length; i++) {
			const a = Buffer.from(want[i].text, "utf8");
			if (typeof got[i].decoded !== "string")
				die(`${gotPath}:${i + 1}: no "decoded" string field`, 1);
			const b = Buffer.from(got[i].decoded, "utf8");
			if (a.equals(b)) continue;
			let at = 0;
			while (at < a.length && at < b.length && a[at] === b[at]) at++;
			const ctx = (buf) => JSON.stringify(buf.subarray(Math.max(0, at - 20),
				at + 20).toString("utf8"));
			die(`record ${i + 1} (id ${idOf(want[i], i + 1)}): ` +
				`detokenize(tokenize(text)) differs from the text at byte ${at} ` +
				`(text ${a.length} bytes, decoded ${b.length}): text ${ctx(a)}, ` +
				`decoded ${ctx(b)}`, 1);
		}
		process.stdout.write(`${want.length} records round-trip\n`);
		return;
	}
	const [modules, files] = args;
	if (!modules || !files) die("usage: see the head of ref.mjs");
	ref.load(modules);
	if (cmd === "prepare") {
		ref.prepare(files);
		return;
	}
	if (cmd === "encode") {
		const [spec, inPath, out] = args.slice(2);
		if (!out) die("usage: see the head of ref.mjs");
		const t = makeRef(files, spec);
		const check = !args.includes("--no-check");
		const recs = ref.readJsonl(inPath);
		const fdo = openSync(`${out}.ordinary.jsonl`, "w");
		const fds = openSync(`${out}.special.jsonl`, "w");
		const t0 = process.hrtime.bigint();
		let withSpecials = 0;
		for (let i = 0; i < recs.length; i++) {
			const text = recs[i].text;
			if (typeof text !== "string")
				die(`${inPath}:${i + 1}: no "text" string field`);
			const id = idOf(recs[i], i + 1);
			const ids = await t.encode(text, false, check);
			writeSync(fdo, JSON.stringify({ id, input_ids: ids }) + "\n");
			// Without special-token text in it, a document has the same ids either way.
			let sids = ids;
			if (t.specials.some((s) => text.includes(s))) {
				sids = await t.encode(text, true, check);
				withSpecials++;
			}
			writeSync(fds, JSON.stringify({ id, input_ids: sids }) + "\n");
		}
		closeSync(fdo);
		closeSync(fds);
		const ms = Number(process.hrtime.bigint() - t0) / 1e6;
		const extra = t.r ? `; ${t.r.viaPort} through the JavaScript port of tiktoken` +
			(check ? `, ${t.r.checked} checked against it` : "") : "";
		process.stderr.write(`${spec}: ${recs.length} records (${withSpecials} with ` +
			`special tokens) in ${ms.toFixed(0)} ms${extra}\n`);
		return;
	}
	if (cmd === "compare") {
		const [spec, mode, refPath, gotPath] = args.slice(2);
		if (!gotPath) die("usage: see the head of ref.mjs");
		const want = ref.readJsonl(refPath), got = ref.readJsonl(gotPath);
		if (want.length !== got.length)
			die(`${gotPath}: ${got.length} records, the reference has ` +
				`${want.length}`, 1);
		let first = -1, at = -1, differ = 0;
		for (let i = 0; i < want.length; i++) {
			const id = want[i].id;
			if (got[i].id !== undefined && String(got[i].id) !== id)
				die(`${gotPath}:${i + 1}: record id ${got[i].id}, expected ` +
					`${id}`, 1);
			if (!Array.isArray(got[i].input_ids))
				die(`${gotPath}:${i + 1} (id ${id}): no input_ids array`, 1);
			const d = ref.firstDifference(want[i].input_ids, got[i].input_ids);
			if (d < 0) continue;
			if (differ++ === 0) {
				first = i;
				at = d;
			}
		}
		if (differ === 0) {
			process.stdout.write(`${spec} ${mode}: ${want.length} records identical\n`);
			return;
		}
		// Only now load the tokenizer, to show the tokens around the difference.
		let text = (id) => Buffer.from(`#${id}`);
		try {
			text = makeRef(files, spec).tokenText;
		} catch (e) {
			process.stderr.write(`ref.mjs: cannot show token text: ${e.message}\n`);
		}
		const a = want[first].input_ids, b = got[first].input_ids;
		die(`${spec} ${mode}: ${differ} of ${want.length} records differ; the first is ` +
			`record ${first + 1} (id ${want[first].id}), at id ${at} (reference ` +
			`${a.length} ids, winnow ${b.length}):\n` +
			`  reference ${around(a, at, text)}\n` +
			`  winnow    ${around(b, at, text)}`, 1);
	}
	die(`unknown command '${cmd}'`);
}

main().catch((e) => die(e.stack || String(e)));
