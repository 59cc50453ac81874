#!/usr/bin/env node
// Write the tokenizer stress corpus: JSONL records {"id", "text"} on stdout, the same bytes
// on every machine and Node version (no Unicode tables of the running Node are consulted).
//
//   node gen-stress.mjs [--no-big] [--only PREFIX]
//
// Records are grouped by id prefix:
//   gc/*          code points of every Unicode general category, alone and in contexts
//   ascii/*, latin1/*  every code point below U+0100
//   marks/*       combining marks: stacks, at the start, after spaces, digits and capitals
//   emoji/*       ZWJ sequences, skin tones, flags, keycaps, tag sequences, selectors
//   script/*      CJK, Japanese, Korean, Arabic, Hebrew, Thai, Devanagari, ...
//   mixed/*       several scripts, cases, digits and marks inside one word
//   newline/*     "\r\n", lone "\r", trailing and leading white space, U+0085, U+2028
//   run/*         runs of 1 to 10000 spaces, tabs, digits, newlines and other blanks
//   contraction/* 's 't 're 've 'm 'll 'd in every letter case and context
//   special/*     special-token strings of gpt2, cl100k, o200k and Llama 3, whole and broken
//   misc/*        empty text, NUL, numbers, code, URLs
//   fuzz/*        random strings over an alphabet of the characters above
//   big/*         100 KB and 1 MB documents without white space (letters only; mixed)
//
// The general-category samples are code points assigned by Unicode 3.2 whose category in
// Unicode 14 and 15 is the one listed (surrogates, Cs, cannot occur in UTF-8 text; Cn is
// represented by the noncharacters, which stay unassigned).  Newer code points are avoided
// in the letter and number classes so that regex engines built on different Unicode
// versions agree on every character here.

import { writeSync } from "node:fs";

const CATEGORIES = {
	Cc: "0 1 2 3 4 5 6 7 8 9 a b c d e f 10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e " +
		"1f 7f 80 81 82 83 84 85 86 87 88 89 8a 8b 8c 8d 8e 8f 90 91 92 93 94 95 96 " +
		"97 98 99 9a 9b 9c 9d 9e 9f",
	Cf: "ad 6dd 70f 180e 202e 2060 2061 2062 2063 206a 206b 206c 206d 206e 206f feff " +
		"fffa fffb 1d174 1d175 1d176 1d177 1d178 1d179 1d17a e0022 e002a e0032 e003a " +
		"e0045 e004d e004f e0055 e005d e0068 e0070 e0078",
	Cn: "fdd0 fdd1 fdd2 fdd3 fdd4 fdd5 fdd6 fdd7 fdd8 fdd9 fdda fddb fddc fddd fdde " +
		"fddf fde0 fde1 fde2 fde3 fde4 fde5 fde6 fde7 fde8 fde9 fdea fdeb fdec fded " +
		"fdee fdef fffe ffff 1fffe 1ffff 2fffe 2ffff 3fffe 3ffff 4fffe 4ffff 5fffe " +
		"5ffff 6fffe 6ffff 7fffe 7ffff 8fffe 8ffff 9fffe 9ffff afffe affff bfffe " +
		"bffff cfffe cffff dfffe dffff efffe effff ffffe fffff 10fffe 10ffff",
	Co: "e040 edc0 f02c0 f1040 f1e40 f2bc0 f39c0 f4740 f5540 f62c0 f70c0 f7e40 f8c40 " +
		"f99c0 fa7c0 fb540 fc340 fd0c0 fdec0 fec40 ffa40 1007c0 1015c0 102340 103140 " +
		"103ec0 104cc0 105a40 106840 1075c0 1083c0 109140 109f40 10acc0 10bac0 10c840 " +
		"10d640 10e3c0 10f1c0 10ffbf",
	Ll: "6e 70 ee 140 16b 1c6 25a 25b 297 3c8 450 45f 4bf 505 56c 584 10e4 1e41 1e5f " +
		"1ebd 1f43 1f7d 1fb4 2139 fb06 fb17 ff4e 10437 1043b 1d433 1d4c2 1d531 1d536 " +
		"1d5c3 1d638 1d66f 1d6c6 1d740 1d787 1d7b2",
	Lm: "2b0 2b1 2b2 2b3 2b4 2b5 2b6 2b7 2b8 2b9 2ba 2bb 2bc 2bd 2be 2bf 2c0 2c1 2c6 " +
		"2c7 2c8 2c9 2ca 2cb 2cc 2cd 2ce 2cf 2d0 2d1 2e0 2e1 2e2 2e3 2e4 2ec 2ee 374 " +
		"37a 559 640 6e5 6e6 e46 ec6 17d7 1843 2071 207f 3005 3031 3032 3033 3034 " +
		"3035 303b 309d 309e 30fc 30fd 30fe a015 ff70 ff9e ff9f",
	Lo: "ba e1d 184c 39c0 42c0 4bc0 5540 5e40 6740 7040 7940 8240 8bc0 94c0 9dc0 adc0 " +
		"b6c0 c040 c940 d240 fcc0 20540 20e40 217c0 220c0 229c0 232c0 23bc0 24540 " +
		"24e40 25740 26040 26940 27240 27bc0 284c0 28dc0 296c0 29fc0 2fa0f",
	Lt: "1c5 1c8 1cb 1f2 1f88 1f89 1f8a 1f8b 1f8c 1f8d 1f8e 1f8f 1f98 1f99 1f9a 1f9b " +
		"1f9c 1f9d 1f9e 1f9f 1fa8 1fa9 1faa 1fab 1fac 1fad 1fae 1faf 1fbc 1fcc 1ffc",
	Lu: "4e 50 cf 13f 15a 1b5 21a 21e 3a3 420 42f 4c0 50e 540 10b3 13ae 13ca 1e40 " +
		"1eb8 1ec2 1f3a 1fba 1fda 2124 2183 ff2e ff30 10413 1d40f 1d440 1d4d3 1d543 " +
		"1d57f 1d5b7 1d641 1d644 1d6bc 1d756 1d79c 1d7a3",
	Mc: "949 94b 94c 9c7 9cc 9d7 a3f a40 abf ac0 ac9 b47 b4c b57 bc7 bd7 c03 c41 c42 " +
		"cc4 cc8 d47 d4c d57 dda df2 df3 f3f f7f 1038 1056 1057 1734 17c2 17c8 302f " +
		"1d16f 1d171 1d172",
	Me: "488 489 20dd 20de 20df 20e0 20e2 20e3 20e4",
	Mn: "32f 330 485 5a9 651 6e1 73d 746 7ab 947 9c3 a48 ac3 acd b42 bc0 c4a ccc d43 " +
		"d4d dd3 e47 ebb f75 f99 fa4 1036 1733 17c9 180c 1886 18a9 20da 302c 309a " +
		"fb1e fe0a 1d17c 1d189 1d18b",
	Nd: "35 39 665 669 6f5 6f9 96b 96f 9eb 9ef a6b a6f aeb aef b6b b6f beb bef c6b " +
		"c6f ceb cef d6b d6f e55 e59 ed5 ed9 f25 f29 1045 1049 17e5 17e9 1815 1819 " +
		"ff15 ff19 1d7e1 1d7e7",
	Nl: "16ee 16ef 16f0 2160 2161 2162 2163 2164 2165 2166 2167 2168 2169 216a 216b " +
		"216c 216d 216e 216f 2170 2171 2172 2173 2174 2175 2176 2177 2178 2179 217a " +
		"217b 217c 217d 217e 217f 2180 2181 2182 3007 3021 3022 3023 3024 3025 3026 " +
		"3027 3028 3029 3038 3039 303a 10341 1034a",
	No: "bc bd be 9f7 9f9 bf1 bf2 f2f f33 1373 137b 137c 2075 2076 2085 2088 2089 " +
		"2155 2159 246f 2470 247e 2498 24ec 277b 277e 277f 278a 2793 3194 3195 3253 " +
		"325a 32b3 32ba 10322 10323",
	Pc: "5f 203f 2040 fe33 fe34 fe4d fe4e fe4f ff3f",
	Pd: "2d 58a 5be 1806 2010 2011 2012 2013 2014 2015 301c 3030 30a0 fe31 fe32 fe58 " +
		"fe63 ff0d",
	Pe: "29 5d 7d f3b f3d 169c 2046 207e 208e 2309 230b 232a 2769 276b 276d 276f 2771 " +
		"2773 2775 27e7 27e9 27eb 2984 2986 2988 298a 298c 298e 2990 2992 2994 2996 " +
		"2998 29d9 29db 29fd 3009 300b 300d 300f 3011 3015 3017 3019 301b 301e 301f " +
		"fd3e fe36 fe38 fe3a fe3c fe3e fe40 fe42 fe44 fe5a fe5c fe5e ff09 ff3d ff5d " +
		"ff60 ff63",
	Pf: "bb 2019 201d 203a",
	Pi: "ab 2018 201b 201c 201f 2039",
	Po: "2c 5c b6 bf 37e 387 55d 5c3 5f4 61f 66a 6d4 707 965 970 df4 e5a e5b f0c f85 " +
		"104d 104f 10fb 1365 1368 166e 16ec 1736 17d8 17da 1805 2035 203b 3003 303d " +
		"30fb fe54 ff0f ff65",
	Ps: "28 5b 7b f3a f3c 169b 201a 201e 2045 207d 208d 2308 230a 2329 2768 276a 276c " +
		"276e 2770 2772 2774 27e6 27e8 27ea 2983 2985 2987 2989 298b 298d 298f 2991 " +
		"2993 2995 2997 29d8 29da 29fc 3008 300a 300c 300e 3010 3014 3016 3018 301a " +
		"301d fd3f fe35 fe37 fe39 fe3b fe3d fe3f fe41 fe43 fe59 fe5b fe5d ff08 ff3b " +
		"ff5b ff5f ff62",
	Sc: "24 a2 a3 a4 a5 9f2 9f3 e3f 17db 20a0 20a1 20a2 20a3 20a4 20a5 20a6 20a7 20a8 " +
		"20a9 20aa 20ab 20ac 20ad 20ae 20af 20b0 20b1 fdfc fe69 ff04 ffe0 ffe1 ffe5 " +
		"ffe6",
	Sk: "5e 60 a8 af b4 b8 2c2 2c3 2c4 2c5 2d2 2d3 2d4 2d5 2d6 2d7 2d8 2d9 2da 2db " +
		"2dc 2dd 2de 2df 2e5 2e6 2e7 2e8 2e9 2ea 2eb 2ed 375 384 385 1fbd 1fbf 1fc0 " +
		"1fc1 1fcd 1fce 1fcf 1fdd 1fde 1fdf 1fed 1fee 1fef 1ffd 1ffe 309b 309c ff3e " +
		"ff40 ffe3",
	Sm: "3e 7e d7 f7 3f6 207a 208b 208c 2141 2142 21d2 2240 226f 22c0 22ef 2321 23a7 " +
		"23ae 25fb 25ff 266f 27e3 2940 296f 29a9 29c8 2a40 2ac0 2aef fb29 fe65 fe66 " +
		"ff1e ffea ffec 1d6db 1d6fb 1d74f 1d7a9 1d7c3",
	So: "ae b0 482 6fd 9fa b70 f1b fc5 166d 211e 21c5 2343 23b4 2419 24c3 2540 25bc " +
		"2640 2685 2732 27aa 2840 286f 28c0 2eba 2f40 2fb1 3036 319a 3237 32ca 333e " +
		"33be a4ab ffee 1d040 1d0bb 1d135 1d1b6 1d1dd",
	Zl: "2028",
	Zp: "2029",
	Zs: "20 a0 1680 2000 2001 2002 2003 2004 2005 2006 2007 2008 2009 200a 202f 205f " +
		"3000",
};

// xoshiro128** over 32-bit words: deterministic, no dependence on Math.random.
function rng(seed) {
	let a = 0x9e3779b9 ^ seed, b = 0x243f6a88, c = 0xb7e15162 ^ (seed << 7), d = 0x5851f42d;
	const rotl = (x, k) => (x << k) | (x >>> (32 - k));
	const next = () => {
		const r = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
		const t = b << 9;
		c ^= a; d ^= b; b ^= c; a ^= d; c ^= t; d = rotl(d, 11);
		return r;
	};
	for (let i = 0; i < 16; i++) next();
	return {
		next,
		int(n) { return next() % n; },		// 0 <= x < n (n small: bias negligible)
		pick(list) { return list[next() % list.length]; },
		chance(p) { return next() / 4294967296 < p; },
	};
}

const cp = (x) => String.fromCodePoint(x);
const cps = (hexes) => hexes.split(" ").map((h) => parseInt(h, 16));
const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => cp(a + i)).join("");
const repeat = (s, n) => s.repeat(n);

const out = [];
const onlyAt = process.argv.indexOf("--only");
const only = onlyAt > 0 ? process.argv[onlyAt + 1] : "";
const big = !process.argv.includes("--no-big");
const seen = new Set();
function rec(id, text) {
	if (seen.has(id)) throw new Error(`duplicate id ${id}`);
	seen.add(id);
	if (only && !id.startsWith(only)) return;
	out.push(JSON.stringify({ id, text }) + "\n");
}

// --- general categories ----------------------------------------------------------------

// Contexts that reach different branches of the split patterns: the character alone, between
// letters, after a space, a digit, an apostrophe, a capital, repeated, before a newline.
const CONTEXTS = [
	(c) => c, (c) => `a${c}b`, (c) => ` ${c}`, (c) => `${c}${c}${c}`, (c) => `1${c}2`,
	(c) => `'${c}s`, (c) => `A${c}a`, (c) => `${c}\n`, (c) => `\t${c} `, (c) => `.${c}!`,
	(c) => `${c}'ll`, (c) => ` ${c}${c} x`,
];
for (const [cat, hexes] of Object.entries(CATEGORIES)) {
	const chars = cps(hexes).map(cp);
	rec(`gc/${cat}/run`, chars.join(""));
	rec(`gc/${cat}/spaced`, chars.join(" "));
	rec(`gc/${cat}/contexts`, chars.map((c) => CONTEXTS.map((f) => f(c)).join("")).join(""));
	rec(`gc/${cat}/words`, chars.map((c, i) => `word${c}${i % 2 ? "Word" : "x"} `).join(""));
}
// Every pair of categories next to each other, once, with a sample of each.
{
	const names = Object.keys(CATEGORIES);
	const first = Object.fromEntries(names.map((n) => [n, cps(CATEGORIES[n]).map(cp)]));
	let i = 0;
	let text = "";
	for (const a of names) {
		for (const b of names) {
			text += first[a][i % first[a].length] + first[b][(i * 7) % first[b].length];
			text += i % 5 === 0 ? " " : "";
			i++;
		}
	}
	rec("gc/pairs", text);
}

rec("ascii/all", range(0, 0x7f));
rec("ascii/printable", range(0x20, 0x7e));
rec("ascii/printable-reversed", [...range(0x20, 0x7e)].reverse().join(""));
rec("latin1/all", range(0x80, 0xff));
rec("latin1/words", [...range(0xa0, 0xff)].map((c) => `x${c}y ${c}A `).join(""));

// --- combining marks ---------------------------------------------------------------------

{
	const r = rng(1);
	const marks = cps(CATEGORIES.Mn).map(cp);
	const zalgo = (base, n) => base + Array.from({ length: n }, () => r.pick(marks)).join("");
	rec("marks/acute", "e\u0301 E\u0301 cafe\u0301 CAFE\u0301 re\u0301sume\u0301 nai\u0308ve");
	rec("marks/stack", "a\u0300\u0301\u0302\u0303\u0304\u0305\u0306\u0307\u0308\u0309 b");
	rec("marks/leading", "\u0301abc");
	rec("marks/only", "\u0301\u0302\u0303\u0304");
	rec("marks/after-space", "a \u0301b  \u0302\u0303c \u20dd");
	rec("marks/after-digit", "1\u0301 22\u0302 333\u0303\u0304 4\u20e3");
	rec("marks/after-punct", "!\u0301 ?\u0302 .\u0303 '\u0301s '\u0301");
	rec("marks/after-newline", "a\n\u0301b\r\n\u0302c");
	rec("marks/capitals", "A\u0301BC D\u0301e\u0301F aB\u0301c \u0301A \u01c5\u0301a");
	rec("marks/zalgo", Array.from({ length: 40 }, (_, i) => zalgo("aZ1 "[i % 4], 1 + (i % 25)))
		.join(""));
	rec("marks/long-stack", zalgo("x", 600) + " y");
	rec("marks/enclosing", "1\u20e3 a\u20dd \u20de x\u20df\u20e0 \u0488\u0489");
	rec("marks/spacing", "\u0915\u093e \u0915\u093f \u0995\u09be \u0b95\u0bbe " +
		"\u1000\u102b \u0d15\u0d3e");
	rec("marks/hangul-jamo", "\u1100\u1161\u11a8 \u1112\u1161\u11ab\u1100\u1173\u11af " +
		"\u1100\u1161\u1100\u1161");
	rec("marks/variation", "\u845b\u{e0100} \u845b\u{e0101} a\ufe00 \u2764\ufe0e " +
		"\u2764\ufe0f");
	rec("marks/cgj", "a\u034fb \u034f \u0301\u034f\u0301");
}

// --- emoji ----------------------------------------------------------------------------------

{
	const ZWJ = "\u200d";
	const tones = range(0x1f3fb, 0x1f3ff);
	const family = ["\u{1f468}", "\u{1f469}", "\u{1f467}", "\u{1f466}"].join(ZWJ);
	rec("emoji/zwj", `${family} \u{1f469}\u{1f3fd}${ZWJ}\u{1f4bb} ` +
		`\u{1f3f3}\ufe0f${ZWJ}\u{1f308} ` +
		`\u{1f9d1}\u{1f3ff}${ZWJ}\u{1f91d}${ZWJ}\u{1f9d1}\u{1f3fb} ` +
		`\u{1f441}\ufe0f${ZWJ}\u{1f5e8}\ufe0f ` +
		`\u{1f468}${ZWJ}\u2764\ufe0f${ZWJ}\u{1f48b}${ZWJ}\u{1f468}`);
	rec("emoji/tones", [..."\u{1f44d}\u{1f44b}\u{1f590}\u270c\u{1f9d1}"]
		.map((e) => [...tones].map((t) => e + t).join("")).join(" "));
	rec("emoji/flags", "\u{1f1fa}\u{1f1f8}\u{1f1ef}\u{1f1f5}\u{1f1e9}\u{1f1ea} " +
		"\u{1f1fa}\u{1f1f8}x " +
		"\u{1f1e6}\u{1f1e6}\u{1f1e6}");
	rec("emoji/keycaps", "1\ufe0f\u20e3#\ufe0f\u20e3*\ufe0f\u20e3 0\u20e3 " +
		"call 9\ufe0f\u20e31\ufe0f\u20e31\ufe0f\u20e3");
	rec("emoji/tags", "\u{1f3f4}\u{e0067}\u{e0062}\u{e0065}\u{e006e}\u{e0067}\u{e007f} " +
		"\u{1f3f4}\u{e0067}\u{e0062}\u{e0073}\u{e0063}\u{e0074}\u{e007f}x");
	rec("emoji/selectors", "\u263a\ufe0e\u263a\ufe0f \u2764 \u2764\ufe0f a\ufe0f 1\ufe0f");
	rec("emoji/in-words", "hi\u{1f44b}there \u{1f600}\u{1f600}\u{1f600}x don't\u{1f602}s " +
		"\u{1f525}\u{1f525} 123\u{1f4af}456 CAPS\u{1f600}lower");
	rec("emoji/run", [...range(0x1f600, 0x1f64f)].join("") + " " + range(0x1f300, 0x1f3fa));
	rec("emoji/zwj-broken", `${ZWJ}${ZWJ}a${ZWJ} ${ZWJ}\u{1f468} \u{1f468}${ZWJ} ${ZWJ}\n`);
	rec("emoji/newer", "\u{1fae0}\u{1faf6}\u{1f3fb} \u{1f979} \u{1fa77}");
}

// --- scripts ---------------------------------------------------------------------------------

rec("script/chinese", "人人生而自由，在尊严和权利上一律平等。" +
	"他们赋有理性和良心，并应以兄弟关系的精神相对待。 2024年第3季度 GDP增长4.6%");
rec("script/japanese", "すべての人間は、生まれながらにして自由であり、" +
	"「テスト」コーヒーを飲む。ﾊﾝｶｸｶﾀｶﾅ ＡＢＣ１２３\u3000全角");
rec("script/korean", "모든 인간은 태어날 때부터 자유롭으며 " +
	"그 존엄과 권리에 있어 동등하다. 한국어123테스트");
rec("script/cjk-astral", "\u{20000}\u{20001}\u{20bb7}野家 \u{2a6d6}\u{2f800}x\u{20000}1");
rec("script/arabic", "يولد جميع الناس أحرارًا مُتَساوِينَ في الكرامة. ١٢٣٤ " +
	"۱۲۳ كـــتاب \u200fمرحبا\u200e abc مرحبا123");
// Dagesh before qamats: not the canonical order, as text typed on some keyboards has it.
rec("script/hebrew", "\u05db\u05bc\u05b8\u05dc \u05d1\u05b0\u05bc\u05e0\u05b5\u05d9 " +
	"\u05d4\u05b8\u05d0\u05b8\u05d3\u05b8\u05dd " +
	"\u05e0\u05d5\u05b9\u05dc\u05b0\u05d3\u05d5\u05bc \u05d1\u05b0\u05bc\u05e0\u05b5\u05d9 " +
	"\u05d7\u05d5\u05b9\u05e8\u05b4\u05d9\u05df \u05f3\u05f4 \u05d0'\u05d1");
rec("script/thai", "มนุษย์ทั้งหลายเกิดมามีอิสระและเสมอภาคกันในศักดิ์ศรี ๑๒๓ ฯๆ ฿100");
rec("script/devanagari", "सभी मनुष्यों को गौरव और अधिकारों के मामले में जन्मजात " +
	"स्वतंत्रता १२३ क्\u200dष क्\u200cष । ॥ ॐ");
rec("script/greek-cyrillic", "Αυτό είναι ένα τεστ. Все люди рождаются свободными. " +
	"ΓΔΘ ЖЩЪЫ");
rec("script/others", "საქართველო Հայաստան ኢትዮጵያ ශ්\u200dරී சென்னை བོད་ " +
	"မြန်မာ ខ្មែរ ᏣᎳᎩ ᐃᓄᒃ");

// --- mixed scripts in one word ----------------------------------------------------------------

// (\u0440\u0430 and \u0430, \u0435 below are Cyrillic letters that look Latin.)
rec("mixed/words", "helloмир世界123abc Straßeστρασση ab12cd34 x1y2z3 " +
	"\u0440\u0430ypal \u0430pple\u0435 中文Englishالعربيةहिन्दीไทย 日本Japan日本");
rec("mixed/case", "XMLHttpRequest iPhoneXS HTTPServerError camelCaseWord snake_case_word " +
	"kebab-case-word SCREAMING_CASE McDonald's O'NEIL'S DON'T don'T D'oh Ǆǅǆ " +
	"ǅabc ABCǅ ᾈᾀ ÉCOLE école İstanbul ıİ");
rec("mixed/marks-digits", "a\u03011b\u03022 \u0966a\u0967b \u0661\u0627\u0662 x\u0303\u0661");
rec("mixed/letter-lm", "\u02b0a\u02b0 \u3005\u3005\u4eba\u3005 \u30fc\u30fc\u30a2 a\u02bcb " +
	"\u0640\u0640a");

// --- newlines and trailing white space --------------------------------------------------------

{
	const cases = {
		crlf: "a\r\nb\r\nc\r\n",
		cr: "a\rb\rc\r",
		lfcr: "a\n\rb\n\r",
		"cr-runs": "a\r\r\r\nb\r\r c\r \r",
		"crlf-runs": "a\r\n\r\n\r\nb \r\n \r\n  c",
		"space-crlf": "a \r\nb  \r\n  c\t\r\n\td",
		"trailing-space": "a   ",
		"trailing-nl-space": "a\n  ",
		"trailing-nl-space3": "x\n   ",
		"trailing-space-nl": "a  \n",
		"trailing-mixed": "a \n\t ",
		"trailing-crlf-space": "a\r\n  ",
		"leading": "\n\na",
		"leading-space": "   a",
		"leading-cr": "\r\ra",
		"only-space": " ",
		"only-nl": "\n",
		"only-crlf": "\r\n",
		"only-cr": "\r",
		"only-tab": "\t",
		"only-mixed": "   \n\n   \t\r\n ",
		"nel": "a\u0085b \u0085 \u0085\u0085c\u0085",
		"ls-ps": "a\u2028b\u2029c \u2028 \u2029\u2029",
		"vt-ff": "a\u000bb\u000cc \u000b\u000c \u000b",
		"blank-lines": "a\n\n\nb\n \n \nc\n\t\n",
		"indent": "def f(x):\n    if x:\n        return 1\n\treturn 2\n\n\n",
		"nl-punct": "a.\n\nb!\r\n\r\nc?\n/\n",
		"nl-slash": "a/\nb//\r\n/c \n/",
		"nbsp": "a\u00a0b \u00a0 \u00a0\u00a0c\u00a0",
		"ideographic": "a\u3000b\u3000\u3000c \u3000",
		"spaces-unicode": "a\u2000b\u2001c\u2002d\u2003e\u2009f\u200ag\u202fh" +
			"\u205fi\u1680j",
		"nonspace-format": "a\u200bb\u200cc\u200dd\u2060e\ufeffa \ufeff \u180e\u180e x",
	};
	for (const [k, v] of Object.entries(cases)) rec(`newline/${k}`, v);
}

// --- runs of 1..10000 --------------------------------------------------------------------------

{
	const lengths = [];
	for (let n = 1; n <= 40; n++) lengths.push(n);
	lengths.push(63, 64, 65, 79, 80, 81, 99, 100, 127, 128, 129, 255, 256, 257, 511, 512, 1000,
		1023, 1024, 1025, 4095, 4096, 4097, 8192, 10000);
	const r = rng(2);
	const digits = (n) => Array.from({ length: n }, () => String(r.int(10))).join("");
	const kinds = {
		space: (n) => repeat(" ", n),
		tab: (n) => repeat("\t", n),
		digit: (n) => digits(n),
		zero: (n) => repeat("0", n),
		newline: (n) => repeat("\n", n),
		crlf: (n) => repeat("\r\n", Math.ceil(n / 2)),
		"space-tab": (n) => Array.from({ length: n }, (_, i) => (i % 3 ? " " : "\t"))
			.join(""),
		nbsp: (n) => repeat("\u00a0", n),
	};
	for (const [kind, make] of Object.entries(kinds)) {
		for (const n of lengths) {
			const s = make(n);
			// At the start, between words, before a newline, before digits, an
			// apostrophe and punctuation, at the end: every way the white-space
			// alternatives can end.  Long runs appear fewer times: they are slow in
			// the references.
			const text = n <= 1000 ? `${s}a${s}b ${s}\n${s}1${s}'s${s}x. ${s}`
				: `a${s}b ${s}\n${s}`;
			rec(`run/${kind}/${n}`, text);
		}
	}
	for (const n of [1, 2, 3, 4, 5, 6, 7, 100, 1000, 10000]) {
		rec(`run/digit-words/${n}`,
			`x${digits(n)}y ${digits(n)}.${digits(n)} ${digits(n)}abc`);
	}
}

// --- contractions ------------------------------------------------------------------------------

{
	const suffixes = ["s", "t", "re", "ve", "m", "ll", "d"];
	const variants = (s) => {
		let v = [""];
		for (const ch of s)
			v = v.flatMap((p) => [p + ch.toLowerCase(), p + ch.toUpperCase()]);
		return v;
	};
	for (const suf of suffixes) {
		const parts = [];
		for (const v of variants(suf)) {
			parts.push(`word'${v}`, `'${v}`, ` '${v}`, `'${v}word`, `WORD'${v}`,
				`x'${v}y`, `''${v}`, `'${v}'`, `1'${v}`, `\u00e9'${v}`,
				`\u4e2d'${v}`, `word'${v}s`,
				`word \u2019${v}`, `'${v}\n`, `Word'${v}.`);
		}
		rec(`contraction/${suf}`, parts.join(" "));
	}
	rec("contraction/long-s", "it'\u017f he'\u017ft '\u017f '\u017fs IT'\u017f'S it'\u212a");
	rec("contraction/sentences", "I'm sure you'll see they're right: we've said it'd work, " +
		"and it's done. I'M SURE YOU'LL SEE THEY'RE RIGHT: WE'VE SAID IT'D WORK, " +
		"AND IT'S " +
		"DONE. I'M sure You'Ll see They'rE right. rock'n'roll o'clock y'all 'tis ma'am " +
		"'twas' 'S 'T 's 't");
}

// --- special-token strings ---------------------------------------------------------------------

{
	const specials = ["<|endoftext|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>",
		"<|endofprompt|>", "<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>",
		"<|end_header_id|>", "<|eot_id|>", "<|reserved_special_token_0|>",
		"<|reserved_special_token_250|>"];
	for (const s of specials) {
		const name = s.slice(2, -2);
		rec(`special/${name}`, `${s} Hello${s}world ${s}${s} a ${s}\n${s} 'll${s}'s ${s}`);
	}
	rec("special/alone", "<|endoftext|>");
	rec("special/broken", "<|endoftext <|endoftext| endoftext|> <|endoftext|>> " +
		"<<|endoftext|> " +
		"<| endoftext |> <|ENDOFTEXT|> <|endOfText|> <|end<|endoftext|>oftext|> " +
		"<|begin_of_text <|eot_id |> <|reserved_special_token_251|> <||> <|>");
	rec("special/chat", "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n" +
		"Hi there<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n" +
		"Hello!<|eot_id|>");
	rec("special/fim", "<|fim_prefix|>def f(x):\n    <|fim_suffix|>\n    return y" +
		"<|fim_middle|>" +
		"y = x * 2<|endoftext|>");
	rec("special/mixed-text", "The string <|endoftext|> marks the end; so does " +
		"'<|end_of_text|>' in Llama 3, and \"<|endofprompt|>\" ends a prompt.");
}

// --- miscellaneous -----------------------------------------------------------------------------

rec("misc/empty", "");
rec("misc/one-char", "a");
rec("misc/one-space", " ");
rec("misc/nul", "a\u0000b \u0000 \u0000\u0000");
rec("misc/numbers", "1,234,567.89 3.14159 1e10 -42 +7 0x1F 1_000_000 12:30:45 2024-06-01 " +
	"99.5% $3.50 \u20ac4,50 \u00a5100 1/2 \u00bd 10\u00b2 \u2161 \u2460\u2461 \u0967\u0968");
rec("misc/code", "int main(void) {\n\tprintf(\"%d\\n\", a[i] + b->c);\n\treturn 0;\n}\n" +
	"    x = {'a': [1, 2], \"b\": None}  # comment\n\t\t  if (a && b || !c) { }\n" +
	"<div class=\"x\">&amp;&nbsp;</div>\n$ echo $HOME | grep -v '^#' >> ~/.bashrc\n");
rec("misc/urls", "https://example.com/path/to/page?query=1&x=y#frag " +
	"mailto:someone@example.org C:\\Users\\x\\file.txt /usr/share/doc/ ../../a/b " +
	"user@host:~/dir$ www.EXAMPLE.co.uk/A/B/");
rec("misc/punct-runs", "!!!??? ... \u2026\u2026 ---- ==== //// \\\\\\\\ ''' \"\"\" ``` ~~~ " +
	"?!.,;:()[]{}<>@#$%^&*_+=|/ \u00bf\u00a1 \u300c\u300d\u3002\u3001");
rec("misc/repeated", repeat("ab", 500) + " " + repeat("a", 1000) + " " + repeat("\u00e9", 300) +
	" " + repeat("\u4e00", 300) + " " + repeat("ha", 300) + "!");
rec("misc/json-escapes", "quote \" backslash \\ slash / tab\tbell\u0007 esc\u001b del\u007f");

// --- random strings ----------------------------------------------------------------------------

{
	const r = rng(3);
	const alphabet = [
		..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
		..."      \t\t\n\n\r'''sStTdDmMlLvVeErR.,!?-_/\\\"()[]{}<>|@#$%&*+=:;~`^", "\r\n",
		"'s", "'ll", "'RE", "<|", "|>", "<|endoftext|>", "endoftext", "\u00a0", "\u3000",
		"\u0085", "\u2028", "\u200d", "\ufeff", "\u00e9", "\u00c9", "e\u0301", "\u0301",
		"\u0308", "\u4e2d", "\u6587", "\u3042", "\u30a2", "\u30fc", "\ud55c", "\u0627",
		"\u064e", "\u0661", "\u05d0", "\u0e01", "\u0e31", "\u0915", "\u094d", "\u0967",
		"\u03b1", "\u0391", "\u0436", "\u01c5", "\u02b0", "\u2160", "\u00bd", "\u00b2",
		"\u{1f600}", "\u{1f468}", "\u{1f3fd}", "\ufe0f", "\u20e3", "\u{1f1fa}",
		"\u{20000}", "\u{1d400}", "\ue000", "\u017f", "\u212a", "\u0130", "\u00df",
		"\u0000", "\u0001", "\u007f", "\u0080", "\u00ad", "\u2019",
	];
	for (let i = 0; i < 400; i++) {
		const n = 1 + (i < 300 ? r.int(64) : r.int(3000));
		let s = "";
		for (let k = 0; k < n; k++) s += r.pick(alphabet);
		rec(`fuzz/${i}`, s);
	}
}

// --- big documents without white space -------------------------------------------------------

if (big) {
	const r = rng(4);
	const lower = [..."abcdefghijklmnopqrstuvwxyz"];
	const upper = [..."ABCDEFGHIJKLMNOPQRSTUVWXYZ"];
	const lowerOther = [..."\u00e0\u00e9\u00ef\u00f4\u00fc\u00df\u0101\u0107" +
		"\u03b1\u03b2\u03b3" +
		"\u03c9\u0430\u0431\u0432\u044f\u0451"];
	const upperOther = [..."\u00c0\u00c9\u00d6\u0391\u0392\u0410\u0411\u042f"];
	const lo = [..."\u4e00\u4e2d\u6587\u5b57\u3042\u3044\u30a2\u30ab\ud55c\uae00\u0627\u0644" +
		"\u05d0\u0e01\u0915\u0916"];
	const word = (n, cased) => {
		let s = "";
		for (let i = 0; i < n; i++) {
			const roll = r.int(100);
			if (roll < 3) s += r.pick(lo);
			else if (roll < 8) s += r.pick(cased && i === 0 ? upperOther : lowerOther);
			else s += r.pick(cased && (i === 0 || roll > 93) ? upper : lower);
		}
		return s;
	};
	// UTF-8 size of the text, to stop at a byte size without re-encoding everything.
	const bytes = (s) => Buffer.byteLength(s, "utf8");
	const until = (size, next) => {
		const parts = [];
		let n = 0;
		while (n < size) {
			const p = next();
			parts.push(p);
			n += bytes(p);
		}
		return parts.join("");
	};
	// Mixed case letters: a single piece for the gpt2 and cl100k patterns, words for o200k.
	rec("big/letters-100k", until(100 * 1024, () => word(1 + r.int(12), r.chance(0.5))));
	// Lower-case and caseless letters only: one 1 MB piece for every pattern.
	rec("big/letters-1m", until(1024 * 1024, () => word(1 + r.int(12), false)));
	const punct = [..."!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\u00a1\u00bf\u2026\u2014\u3001\u3002"];
	const piece = () => {
		const roll = r.int(100);
		if (roll < 55) return word(1 + r.int(10), r.chance(0.3));
		if (roll < 70) return String(r.int(100000));
		if (roll < 82) return r.pick(punct) + (r.chance(0.3) ? r.pick(punct) : "");
		if (roll < 88)
			return "'" + r.pick(["s", "t", "re", "ve", "m", "ll", "d", "S", "LL"]);
		if (roll < 92) return r.pick(["\u0301", "\u0308", "\u093e", "\u064e", "\u20e3"]);
		if (roll < 96)
			return r.pick(["\u{1f600}", "\u{1f44d}\u{1f3fd}", "\u{1f1fa}\u{1f1f8}",
			"\u{1f468}\u200d\u{1f469}\u200d\u{1f467}"]);
		return r.pick(lo) + r.pick(lo);
	};
	rec("big/mixed-100k", until(100 * 1024, piece));
	rec("big/mixed-1m", until(1024 * 1024, piece));
}

const data = Buffer.from(out.join(""), "utf8");
for (let off = 0; off < data.length;) off += writeSync(1, data, off);
