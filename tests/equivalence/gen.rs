//! proptest strategies: JSON values, request-shaped values for Chat Completions and
//! Responses, and the structured conversations of the spelling-invariance property.

use super::model::{Num, Rng, SChar, Style, Text, J};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

// ---------------------------------------------------------------------------------------------
// Strings
// ---------------------------------------------------------------------------------------------

/// Texts that matter to the rules or to escaping.
const WORDS: &[&str] = &[
    "hi",
    "Hello",
    "You are terse.",
    "Use tools.",
    "gpt-4o",
    "text",
    "input_text",
    "user",
    "system",
    "developer",
    "assistant",
    "tool",
    "function",
    "message",
    "ephemeral",
    "cache_control",
    "{\"a\":1}",
    "[]",
    "",
    " ",
    " \t\n",
    "get_weather",
    "San Francisco, CA",
    "你好，世界",
    "日本語のテキスト",
    "🦀 rust 🎉",
    "a\u{2028}b\u{2029}c",
    "\u{feff}bom inside",
    "<script>&amp;</script>",
    "line1\nline2\r\n",
    "tab\there",
    "quote\"s",
    "back\\slash",
    "a/b</c>",
    "\u{0}\u{1}\u{1f}\u{7f}",
    "e\u{301}",
    "\u{e9}",
    "\u{10ffff}\u{fffd}\u{ffff}",
    "\u{3000}ideographic space\u{85}",
];

const SPECIAL_CHARS: &[char] = &[
    ' ',
    '"',
    '\\',
    '/',
    '<',
    '>',
    '&',
    '\u{2028}',
    '\u{2029}',
    '\u{feff}',
    '\u{7f}',
    '\u{0}',
    '\u{1f}',
    '\n',
    '\t',
    '\u{8}',
    '\u{c}',
    '\r',
    '\u{e9}',
    '\u{df}',
    '\u{a0}',
    '\u{85}',
    '\u{3000}',
    '\u{fffd}',
    '\u{ffff}',
    '\u{e000}',
    '\u{10000}',
    '\u{10ffff}',
    '\u{301}',
];

pub fn schar() -> BoxedStrategy<SChar> {
    prop_oneof![
        50 => proptest::char::range('a', 'z').prop_map(SChar::C),
        8 => select(SPECIAL_CHARS).prop_map(SChar::C),
        6 => proptest::char::range('\u{4e00}', '\u{9fa5}').prop_map(SChar::C),
        5 => proptest::char::range('\u{1f300}', '\u{1faff}').prop_map(SChar::C),
        3 => any::<char>().prop_map(SChar::C),
        2 => (0u32..0x20).prop_map(|u| SChar::C(char::from_u32(u).unwrap())),
        2 => (0xD800u16..0xE000).prop_map(SChar::Lone),
    ]
    .boxed()
}

fn repeat(chunk: Vec<SChar>, n: usize) -> Text {
    let mut v = Vec::with_capacity(chunk.len() * n);
    for _ in 0..n {
        v.extend(chunk.iter().cloned());
    }
    Text(v)
}

/// A decoded string: a word, random characters, a long text (more than the fragment
/// cache's 256-byte floor), rarely a huge one (~100 KB).
pub fn text() -> BoxedStrategy<Text> {
    prop_oneof![
        4000 => select(WORDS).prop_map(Text::new),
        4000 => vec(schar(), 0..16).prop_map(Text),
        700 => (vec(schar(), 1..8), 40usize..160).prop_map(|(c, n)| repeat(c, n)),
        3 => (vec(schar(), 4..8), 14_000usize..20_000).prop_map(|(c, n)| repeat(c, n)),
        // Runs of backslashes (escaped, so twice as long) before a quote or a letter,
        // across the scanners' block boundaries.
        300 => (0usize..140, select(vec!['"', '\\', 'a', '/', '\n']), 0usize..70).prop_map(|(n, c, pad)| {
            let mut v = vec![SChar::C('x'); pad];
            v.extend(std::iter::repeat_n(SChar::C('\\'), n));
            v.push(SChar::C(c));
            Text(v)
        }),
    ]
    .boxed()
}

/// A text that is never huge (member names, roles).
pub fn short_text() -> BoxedStrategy<Text> {
    prop_oneof![
        3 => select(WORDS).prop_map(Text::new),
        3 => vec(schar(), 0..10).prop_map(Text),
    ]
    .boxed()
}

const KEYS: &[&str] = &[
    "type",
    "text",
    "role",
    "content",
    "model",
    "name",
    "cache_control",
    "a",
    "b",
    "",
    "A",
    "aa",
    "ab",
    "b\u{0}",
    "\u{e9}",
    "\u{ffff}",
    "\u{10000}",
    "\u{e000}",
    "\u{1f600}",
    "z",
];

pub fn key() -> BoxedStrategy<Text> {
    prop_oneof![
        3 => select(KEYS).prop_map(Text::new),
        1 => short_text(),
    ]
    .boxed()
}

// ---------------------------------------------------------------------------------------------
// Numbers and generic values
// ---------------------------------------------------------------------------------------------

/// Values spelled by the model (any spelling of them), then lexemes kept verbatim.
fn special_number() -> BoxedStrategy<J> {
    let values: Vec<(bool, &'static str, i32)> = vec![
        (false, "0", 0),
        (true, "0", 0),
        (false, "1", 0),
        (true, "1", 0),
        (false, "9007199254740993", 0),
        (false, "9007199254740992", 0),
        (false, "1", 308),
        (false, "1", 400),
        (true, "1", 400),
        (false, "1", -400),
        (false, "123456789012345678901234567890", 0),
        (true, "123456789012345678901234567890", 0),
        (false, "1", -7),
        (false, "1", -6),
        (false, "1", 20),
        (false, "1", 21),
        (false, "1", 22),
        (false, "5", -324),
        (false, "24", -325),
        (false, "17976931348623157", 292),
        (false, "17976931348623159", 292),
        (false, "1797693134862315808", 290),
        (false, "22250738585072011", -324),
        (false, "1", -1),
        (false, "3", -1),
        (false, "15", -1),
        (false, "123456789", -5),
        (false, "12345678901234567", 0),
        (false, "100", 0),
    ];
    let lexemes: Vec<&'static str> = vec![
        "1E400",
        "-1e-400",
        "1e00000000000000000000000001",
        "1e99999999999999999999",
        "-1e-99999999999999999999",
        "0e99999999999",
        "-0.0e-0",
        "1.0",
        "10E-1",
        "0.0e+00",
        "1e308",
        "1e400",
        "-0",
        "123456789012345678901234567890",
        "9007199254740993",
    ];
    prop_oneof![
        3 => select(values).prop_map(|(n, d, e)| J::Num(Num::new(n, d, e))),
        1 => select(lexemes).prop_map(|s| J::NumLex(s.to_owned())),
    ]
    .boxed()
}

pub fn number() -> BoxedStrategy<J> {
    prop_oneof![
        10 => (-1000i64..1000).prop_map(J::int),
        5 => (any::<bool>(), "[1-9][0-9]{0,24}", -30i32..30)
            .prop_map(|(n, d, e)| J::Num(Num::new(n, &d, e))),
        1 => (any::<bool>(), "[1-9][0-9]{0,18}", -360i32..330)
            .prop_map(|(n, d, e)| J::Num(Num::new(n, &d, e))),
        4 => special_number(),
    ]
    .boxed()
}

pub fn scalar() -> BoxedStrategy<J> {
    prop_oneof![
        1 => Just(J::Null),
        1 => any::<bool>().prop_map(J::Bool),
        3 => number(),
        5 => text().prop_map(J::Str),
    ]
    .boxed()
}

/// Nesting of `depth` arrays/objects around a scalar.
pub fn deep() -> BoxedStrategy<J> {
    (1usize..=150, any::<u64>(), scalar())
        .prop_map(|(depth, bits, leaf)| {
            let mut v = leaf;
            for i in 0..depth {
                v = if bits.rotate_left(i as u32) & 1 == 0 {
                    J::Arr(vec![v])
                } else {
                    J::Obj(vec![(
                        Text::new(if i % 3 == 0 { "a" } else { "content" }),
                        v,
                    )])
                };
            }
            v
        })
        .boxed()
}

/// Any JSON value (sometimes deeply nested).
pub fn json() -> BoxedStrategy<J> {
    let tree = scalar().prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(J::Arr),
            vec((key(), inner), 0..6).prop_map(J::Obj),
        ]
    });
    prop_oneof![
        30 => tree,
        1 => deep(),
    ]
    .boxed()
}

fn opt<S: Strategy + 'static>(p: f64, s: S) -> BoxedStrategy<Option<S::Value>>
where
    S::Value: std::fmt::Debug,
{
    proptest::option::weighted(p, s).boxed()
}

/// Builds an object from optional members (in this order).
fn members(ms: Vec<(&str, Option<J>)>) -> J {
    J::Obj(
        ms.into_iter()
            .filter_map(|(k, v)| v.map(|v| (Text::new(k), v)))
            .collect(),
    )
}

// ---------------------------------------------------------------------------------------------
// Request pieces
// ---------------------------------------------------------------------------------------------

pub fn role() -> BoxedStrategy<J> {
    prop_oneof![
        30 => Just(J::s("user")),
        15 => Just(J::s("assistant")),
        15 => Just(J::s("system")),
        6 => Just(J::s("developer")),
        6 => Just(J::s("tool")),
        2 => select(vec![" user ", "USER", "System", "", "system ", "Developer", "user\u{0}"]).prop_map(J::s),
        1 => Just(J::int(1)),
        1 => Just(J::Null),
        1 => Just(J::Bool(true)),
        1 => Just(J::Arr(vec![J::s("user")])),
        1 => Just(J::obj(vec![("role", J::s("user"))])),
    ]
    .boxed()
}

pub fn cache_control() -> BoxedStrategy<J> {
    prop_oneof![
        4 => Just(J::obj(vec![("type", J::s("ephemeral"))])),
        1 => Just(J::obj(vec![("type", J::s("ephemeral")), ("ttl", J::s("1h"))])),
        1 => json(),
    ]
    .boxed()
}

pub fn part() -> BoxedStrategy<J> {
    prop_oneof![
        30 => (select(vec!["text", "input_text"]), text(), opt(0.25, cache_control()), opt(0.05, json()))
            .prop_map(|(t, s, cc, extra)| members(vec![
                ("type", Some(J::s(t))),
                ("text", Some(J::Str(s))),
                ("cache_control", cc),
                ("extra", extra),
            ])),
        8 => (short_text(), select(vec!["auto", "low", "high"]), opt(0.2, cache_control()))
            .prop_map(|(url, d, cc)| members(vec![
                ("type", Some(J::s("image_url"))),
                ("image_url", Some(J::obj(vec![("url", J::Str(url)), ("detail", J::s(d))]))),
                ("cache_control", cc),
            ])),
        4 => short_text().prop_map(|url| J::obj(vec![("type", J::s("input_image")), ("image_url", J::Str(url))])),
        4 => (select(vec!["text", "input_text", "output_text", "refusal"]), opt(0.6, json()))
            .prop_map(|(t, v)| members(vec![("type", Some(J::s(t))), ("text", v)])),
        2 => text().prop_map(|s| J::obj(vec![("text", J::Str(s))])),
        3 => json(),
    ]
    .boxed()
}

/// A message content: a string, one text part, several parts, or something else.
pub fn content() -> BoxedStrategy<J> {
    prop_oneof![
        35 => text().prop_map(J::Str),
        15 => (select(vec!["text", "input_text"]), text(), opt(0.2, cache_control())).prop_map(|(t, s, cc)| {
            J::Arr(vec![members(vec![
                ("type", Some(J::s(t))),
                ("text", Some(J::Str(s))),
                ("cache_control", cc),
            ])])
        }),
        20 => vec(part(), 0..4).prop_map(J::Arr),
        5 => Just(J::Null),
        5 => json(),
    ]
    .boxed()
}

pub fn tool_call() -> BoxedStrategy<J> {
    (short_text(), short_text(), json())
        .prop_map(|(id, name, args)| {
            J::obj(vec![
                ("id", J::Str(id)),
                ("type", J::s("function")),
                (
                    "function",
                    J::obj(vec![
                        ("name", J::Str(name)),
                        ("arguments", J::s(&super::model::plain(&args))),
                    ]),
                ),
            ])
        })
        .boxed()
}

pub fn message() -> BoxedStrategy<J> {
    prop_oneof![
        92 => (opt(0.95, role()), opt(0.93, content()), opt(0.1, short_text()), opt(0.1, vec(tool_call(), 1..3)), opt(0.05, json()))
            .prop_map(|(role, content, name, calls, extra)| members(vec![
                ("role", role),
                ("content", content),
                ("name", name.map(J::Str)),
                ("tool_calls", calls.map(J::Arr)),
                ("extra", extra),
            ])),
        8 => json(),
    ]
    .boxed()
}

/// A JSON schema (function parameters), nested.
pub fn schema() -> BoxedStrategy<J> {
    let leaf = (
        select(vec!["string", "number", "integer", "boolean", "null"]),
        opt(0.4, text()),
        opt(0.2, vec(scalar(), 0..4)),
        opt(0.15, number()),
    )
        .prop_map(|(t, d, e, m)| {
            members(vec![
                ("type", Some(J::s(t))),
                ("description", d.map(J::Str)),
                ("enum", e.map(J::Arr)),
                ("minimum", m),
            ])
        });
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            (
                vec((key(), inner.clone()), 0..4),
                vec(key(), 0..3),
                any::<bool>()
            )
                .prop_map(|(props, req, addl)| {
                    J::obj(vec![
                        ("type", J::s("object")),
                        ("properties", J::Obj(props)),
                        ("required", J::Arr(req.into_iter().map(J::Str).collect())),
                        ("additionalProperties", J::Bool(addl)),
                    ])
                }),
            inner
                .clone()
                .prop_map(|i| J::obj(vec![("type", J::s("array")), ("items", i)])),
            vec(inner, 1..3).prop_map(|v| J::obj(vec![("anyOf", J::Arr(v))])),
        ]
    })
    .boxed()
}

pub fn tool() -> BoxedStrategy<J> {
    prop_oneof![
        10 => (short_text(), opt(0.8, text()), opt(0.9, schema()), opt(0.2, any::<bool>()), opt(0.15, cache_control()))
            .prop_map(|(name, desc, params, strict, cc)| members(vec![
                ("type", Some(J::s("function"))),
                ("function", Some(members(vec![
                    ("name", Some(J::Str(name))),
                    ("description", desc.map(J::Str)),
                    ("parameters", params),
                    ("strict", strict.map(J::Bool)),
                ]))),
                ("cache_control", cc),
            ])),
        5 => (short_text(), opt(0.8, text()), opt(0.9, schema()))
            .prop_map(|(name, desc, params)| members(vec![
                ("type", Some(J::s("function"))),
                ("name", Some(J::Str(name))),
                ("description", desc.map(J::Str)),
                ("parameters", params),
            ])),
        1 => Just(J::obj(vec![("type", J::s("web_search_preview"))])),
        2 => json(),
    ]
    .boxed()
}

pub fn function() -> BoxedStrategy<J> {
    prop_oneof![
        5 => (short_text(), opt(0.8, text()), opt(0.9, schema()))
            .prop_map(|(name, desc, params)| members(vec![
                ("name", Some(J::Str(name))),
                ("description", desc.map(J::Str)),
                ("parameters", params),
            ])),
        1 => json(),
    ]
    .boxed()
}

fn list_or_other(item: BoxedStrategy<J>, n: usize) -> BoxedStrategy<J> {
    prop_oneof![
        12 => vec(item, 0..n).prop_map(J::Arr),
        1 => json(),
    ]
    .boxed()
}

pub fn prompt_cache_key() -> BoxedStrategy<J> {
    prop_oneof![
        5 => short_text().prop_map(J::Str),
        2 => select(vec!["", "  ", "\t\r\n", "\u{3000}", " k "]).prop_map(J::s),
        2 => number(),
        1 => any::<bool>().prop_map(J::Bool),
        1 => Just(J::Null),
        2 => json(),
    ]
    .boxed()
}

pub fn model_value() -> BoxedStrategy<J> {
    prop_oneof![
        20 => select(vec!["gpt-4o", "gpt-4.1-mini", "o3", "claude-3-5-sonnet", "gpt-5"]).prop_map(J::s),
        5 => short_text().prop_map(J::Str),
        1 => Just(J::Null),
        2 => scalar(),
        1 => json(),
    ]
    .boxed()
}

/// Members that neither profile reads.
pub fn extras() -> BoxedStrategy<Vec<(Text, J)>> {
    let one = prop_oneof![
        3 => number().prop_map(|n| (Text::new("temperature"), n)),
        3 => any::<bool>().prop_map(|b| (Text::new("stream"), J::Bool(b))),
        3 => json().prop_map(|v| (Text::new("metadata"), v)),
        1 => deep().prop_map(|v| (Text::new("metadata"), v)),
        2 => (1i64..100000).prop_map(|n| (Text::new("max_tokens"), J::int(n))),
        2 => short_text().prop_map(|t| (Text::new("user"), J::Str(t))),
        1 => Just((Text::new("n"), J::int(1))),
        2 => (key(), json()),
    ];
    vec(one, 0..4).boxed()
}

pub fn input_item() -> BoxedStrategy<J> {
    prop_oneof![
        15 => prop_oneof![
            8 => text().prop_map(J::Str),
            1 => json(),
        ].prop_map(|t| J::obj(vec![("type", J::s("input_text")), ("text", t)])),
        2 => Just(J::obj(vec![("type", J::s("input_text"))])),
        30 => (any::<bool>(), opt(0.95, role()), opt(0.95, content()))
            .prop_map(|(typed, role, content)| members(vec![
                ("type", typed.then(|| J::s("message"))),
                ("role", role),
                ("content", content),
            ])),
        10 => (short_text(), short_text(), json()).prop_map(|(id, name, args)| J::obj(vec![
            ("type", J::s("function_call")),
            ("call_id", J::Str(id)),
            ("name", J::Str(name)),
            ("arguments", J::s(&super::model::plain(&args))),
        ])),
        8 => (short_text(), text()).prop_map(|(id, out)| J::obj(vec![
            ("type", J::s("function_call_output")),
            ("call_id", J::Str(id)),
            ("output", J::Str(out)),
        ])),
        3 => Just(J::obj(vec![("type", J::s("reasoning")), ("summary", J::Arr(vec![]))])),
        5 => json(),
    ]
    .boxed()
}

pub fn input_value() -> BoxedStrategy<J> {
    prop_oneof![
        25 => text().prop_map(J::Str),
        65 => vec(input_item(), 0..7).prop_map(J::Arr),
        5 => json(),
        2 => Just(J::Null),
    ]
    .boxed()
}

fn root(ms: Vec<(&str, Option<J>)>, extras: Vec<(Text, J)>) -> J {
    let mut r = members(ms);
    if let J::Obj(m) = &mut r {
        m.extend(extras);
    }
    r
}

pub fn chat() -> BoxedStrategy<J> {
    (
        opt(0.9, model_value()),
        opt(0.95, list_or_other(message(), 7)),
        opt(0.35, list_or_other(tool(), 4)),
        opt(0.08, list_or_other(function(), 3)),
        opt(0.15, prompt_cache_key()),
        extras(),
        opt(0.08, input_value()),
        opt(
            0.05,
            prop_oneof![4 => text().prop_map(J::Str), 1 => json()].boxed(),
        ),
    )
        .prop_map(
            |(model, messages, tools, functions, pck, extras, input, instr)| {
                root(
                    vec![
                        ("model", model),
                        ("messages", messages),
                        ("tools", tools),
                        ("functions", functions),
                        ("prompt_cache_key", pck),
                        ("input", input),
                        ("instructions", instr),
                    ],
                    extras,
                )
            },
        )
        .boxed()
}

pub fn responses() -> BoxedStrategy<J> {
    (
        opt(0.9, model_value()),
        opt(
            0.6,
            prop_oneof![8 => text().prop_map(J::Str), 1 => Just(J::Null), 1 => json()].boxed(),
        ),
        opt(0.95, input_value()),
        opt(0.3, list_or_other(tool(), 4)),
        opt(0.15, prompt_cache_key()),
        extras(),
        opt(0.05, json()),
    )
        .prop_map(|(model, instr, input, tools, pck, extras, messages)| {
            root(
                vec![
                    ("model", model),
                    ("instructions", instr),
                    ("input", input),
                    ("tools", tools),
                    ("prompt_cache_key", pck),
                    ("messages", messages),
                ],
                extras,
            )
        })
        .boxed()
}

/// An Anthropic content block: text (often with cache_control), image, tool_use, tool_result.
pub fn anthropic_block() -> BoxedStrategy<J> {
    prop_oneof![
        30 => (text(), opt(0.3, cache_control()))
            .prop_map(|(t, cc)| members(vec![
                ("type", Some(J::s("text"))),
                ("text", Some(J::Str(t))),
                ("cache_control", cc),
            ])),
        4 => short_text().prop_map(|data| J::obj(vec![
            ("type", J::s("image")),
            ("source", J::obj(vec![("type", J::s("base64")), ("media_type", J::s("image/png")), ("data", J::Str(data))])),
        ])),
        5 => (short_text(), short_text(), json()).prop_map(|(id, name, input)| J::obj(vec![
            ("type", J::s("tool_use")), ("id", J::Str(id)), ("name", J::Str(name)), ("input", input),
        ])),
        5 => (short_text(), content(), opt(0.2, cache_control())).prop_map(|(id, c, cc)| members(vec![
            ("type", Some(J::s("tool_result"))), ("tool_use_id", Some(J::Str(id))), ("content", Some(c)), ("cache_control", cc),
        ])),
        2 => json(),
    ]
    .boxed()
}

/// Anthropic `system`: a string, text blocks, or something else.
pub fn anthropic_system() -> BoxedStrategy<J> {
    prop_oneof![
        10 => text().prop_map(J::Str),
        10 => vec((text(), opt(0.4, cache_control())), 0..3).prop_map(|bs| J::Arr(bs.into_iter().map(|(t, cc)| members(vec![
            ("type", Some(J::s("text"))),
            ("text", Some(J::Str(t))),
            ("cache_control", cc),
        ])).collect())),
        1 => Just(J::Null),
        2 => json(),
    ]
    .boxed()
}

pub fn anthropic_message() -> BoxedStrategy<J> {
    prop_oneof![
        90 => (opt(0.97, role()), opt(0.95, prop_oneof![
                3 => text().prop_map(J::Str),
                5 => vec(anthropic_block(), 0..4).prop_map(J::Arr),
                1 => json(),
            ]))
            .prop_map(|(role, content)| members(vec![("role", role), ("content", content)])),
        5 => json(),
    ]
    .boxed()
}

pub fn anthropic_tool() -> BoxedStrategy<J> {
    prop_oneof![
        10 => (short_text(), opt(0.8, text()), opt(0.95, schema()), opt(0.15, cache_control()))
            .prop_map(|(name, desc, schema, cc)| members(vec![
                ("name", Some(J::Str(name))),
                ("description", desc.map(J::Str)),
                ("input_schema", schema),
                ("cache_control", cc),
            ])),
        1 => Just(J::obj(vec![("type", J::s("web_search_20250305")), ("name", J::s("web_search"))])),
        1 => json(),
    ]
    .boxed()
}

/// An Anthropic Messages request (SPEC §5.2).
pub fn anthropic() -> BoxedStrategy<J> {
    (
        opt(0.9, prop_oneof![
            5 => select(vec!["claude-sonnet-4-5", "claude-opus-4", "claude-3-5-haiku"]).prop_map(J::s),
            1 => model_value(),
        ]),
        opt(0.8, anthropic_system()),
        opt(0.95, list_or_other(anthropic_message(), 6)),
        opt(0.5, list_or_other(anthropic_tool(), 4)),
        opt(0.1, prompt_cache_key()),
        extras(),
        opt(0.03, input_value()),
        opt(0.03, vec(gemini_content(), 0..3).prop_map(J::Arr)),
    )
        .prop_map(|(model, system, messages, tools, pck, extras, input, contents)| {
            root(
                vec![
                    ("model", model),
                    ("system", system),
                    ("messages", messages),
                    ("tools", tools),
                    ("prompt_cache_key", pck),
                    ("input", input),
                    ("contents", contents),
                ],
                extras,
            )
        })
        .boxed()
}

/// A Gemini part: text, inline data, a function call or response, or something else.
pub fn gemini_part() -> BoxedStrategy<J> {
    prop_oneof![
        30 => (text(), opt(0.05, cache_control())).prop_map(|(t, cc)| members(vec![("text", Some(J::Str(t))), ("cache_control", cc)])),
        3 => text().prop_map(|t| J::obj(vec![("text", J::Str(t)), ("thought", J::Bool(true))])),
        4 => short_text().prop_map(|d| J::obj(vec![("inlineData", J::obj(vec![("mimeType", J::s("image/png")), ("data", J::Str(d))]))])),
        4 => (short_text(), json()).prop_map(|(n, a)| J::obj(vec![("functionCall", J::obj(vec![("name", J::Str(n)), ("args", a)]))])),
        3 => (short_text(), json()).prop_map(|(n, r)| J::obj(vec![("functionResponse", J::obj(vec![("name", J::Str(n)), ("response", r)]))])),
        2 => text().prop_map(|t| J::obj(vec![("type", J::s("text")), ("text", J::Str(t))])),
        2 => json(),
    ]
    .boxed()
}

/// A Gemini `Content`: `role` (often absent for the user) and `parts`.
pub fn gemini_content() -> BoxedStrategy<J> {
    let role = prop_oneof![
        10 => Just(J::s("user")),
        8 => Just(J::s("model")),
        1 => Just(J::s("function")),
        1 => Just(J::Null),
        1 => role(),
    ];
    prop_oneof![
        90 => (opt(0.8, role), opt(0.95, prop_oneof![
                12 => vec(gemini_part(), 0..3).prop_map(J::Arr),
                1 => text().prop_map(J::Str),
                1 => json(),
            ]))
            .prop_map(|(role, parts)| members(vec![("role", role), ("parts", parts)])),
        5 => json(),
    ]
    .boxed()
}

pub fn gemini_tool() -> BoxedStrategy<J> {
    prop_oneof![
        8 => vec((short_text(), opt(0.8, text()), opt(0.9, schema())), 0..3).prop_map(|fs| J::obj(vec![(
            "functionDeclarations",
            J::Arr(fs.into_iter().map(|(n, d, p)| members(vec![
                ("name", Some(J::Str(n))),
                ("description", d.map(J::Str)),
                ("parameters", p),
            ])).collect()),
        )])),
        2 => Just(J::obj(vec![("googleSearch", J::obj(vec![]))])),
        1 => Just(J::obj(vec![("codeExecution", J::obj(vec![]))])),
        1 => json(),
    ]
    .boxed()
}

/// A Gemini generateContent request (SPEC §5.3): mostly without `model` (it is in the URL).
pub fn gemini() -> BoxedStrategy<J> {
    let instruction = prop_oneof![
        10 => (opt(0.2, select(vec!["user", "system"])), vec(gemini_part(), 0..3)).prop_map(|(r, ps)| members(vec![
            ("role", r.map(J::s)),
            ("parts", Some(J::Arr(ps))),
        ])),
        2 => text().prop_map(J::Str),
        1 => Just(J::Null),
        1 => json(),
    ]
    .boxed();
    (
        opt(0.25, prop_oneof![
            3 => select(vec!["gemini-2.0-flash", "models/gemini-2.0-flash", "models/gemini-1.5-pro"]).prop_map(J::s),
            1 => model_value(),
        ]),
        opt(0.7, instruction.clone()),
        opt(0.2, instruction),
        opt(0.95, list_or_other(gemini_content(), 6)),
        opt(0.5, list_or_other(gemini_tool(), 3)),
        opt(0.1, prompt_cache_key()),
        extras(),
        opt(0.04, list_or_other(message(), 2)),
        opt(0.04, anthropic_system()),
    )
        .prop_map(|(model, si, si_snake, contents, tools, pck, extras, messages, system)| {
            root(
                vec![
                    ("model", model),
                    ("systemInstruction", si),
                    ("contents", contents),
                    ("system_instruction", si_snake),
                    ("tools", tools),
                    ("prompt_cache_key", pck),
                    ("messages", messages),
                    ("system", system),
                ],
                extras,
            )
        })
        .boxed()
}

/// A request body's value: mostly Chat Completions, Responses, Anthropic Messages or Gemini
/// generateContent, sometimes any JSON.
pub fn request() -> BoxedStrategy<J> {
    prop_oneof![
        35 => chat(),
        35 => responses(),
        15 => anthropic(),
        15 => gemini(),
        4 => json(),
    ]
    .boxed()
}

/// A fragment worth sharing between places and bodies (large enough for the cache).
pub fn shared_fragment() -> BoxedStrategy<J> {
    prop_oneof![
        3 => (vec(schar(), 1..8), 40usize..120).prop_map(|(c, n)| J::Str(repeat(c, n))),
        3 => vec(tool(), 1..5).prop_map(J::Arr),
        2 => vec(part(), 1..4).prop_map(J::Arr),
        1 => (select(vec!["text", "input_text"]), (vec(schar(), 1..8), 40usize..120))
            .prop_map(|(t, (c, n))| J::Arr(vec![J::obj(vec![("type", J::s(t)), ("text", J::Str(repeat(c, n)))])])),
        1 => json(),
    ]
    .boxed()
}

/// Replaces some read places of a request (chosen by the bits of `mask`) with the same
/// rendered fragment: root `tools`, `functions`, `model`, `instructions`,
/// `prompt_cache_key`, `input`, `metadata`, and the `content`/`text` of the first items.
pub fn share(root: &mut J, frag: &J, seed: u64, mask: u32) {
    let shared = J::Shared(Box::new(frag.clone()), seed);
    let mut bit = 0;
    let take = |bit: &mut u32| {
        let on = mask >> (*bit % 32) & 1 == 1;
        *bit += 1;
        on
    };
    for name in [
        "tools",
        "functions",
        "model",
        "instructions",
        "prompt_cache_key",
        "input",
        "metadata",
    ] {
        if take(&mut bit) {
            root.set(name, shared.clone());
        }
    }
    for list in ["messages", "input"] {
        if let Some(J::Arr(items)) = root.get_mut(list) {
            for item in items.iter_mut().take(3) {
                if let J::Obj(_) = item {
                    if take(&mut bit) {
                        item.set("content", shared.clone());
                    }
                    if take(&mut bit) && item.get_mut("text").is_some() {
                        item.set("text", shared.clone());
                    }
                }
            }
        }
    }
}

/// A rendering style: often plain, sometimes wild; duplicates sometimes.
pub fn style() -> BoxedStrategy<Style> {
    (
        select(vec![0u8, 0, 5, 30, 80]),
        select(vec![0u8, 0, 5, 30, 100]),
        any::<bool>(),
        any::<bool>(),
        select(vec![0u8, 0, 0, 0, 0, 0, 5, 25]),
    )
        .prop_map(|(ws, esc, shuffle, numbers, dup)| Style {
            ws,
            esc,
            shuffle,
            numbers,
            dup,
        })
        .boxed()
}

// ---------------------------------------------------------------------------------------------
// Structured conversations (spelling invariance)
// ---------------------------------------------------------------------------------------------
//
// A `Conv` holds sanitized values only (no duplicate names, no lone surrogates: native
// refuses both, SPEC §1.1 and §4.3). Besides spelling (white space, member order, escapes,
// number forms: `model::Style::spelling`), `Conv::to_json` picks among values the native
// rules make equal (SPEC §4.1): `"t"` / `[{"type":"text","text":"t"}]` /
// `[{"type":"input_text","text":"t"}]` as a content; in Responses a first user text as a
// bare `{"type":"input_text","text":"t"}` item; `"type":"message"` on Responses items;
// `null` or absent `model`, `instructions` and `content`; `[]` or absent `tools` and
// `functions`. No `cache_control` is added or changed between two spellings: that is
// checked as a separate exception.

/// A message content as the native profile sees it.
#[derive(Clone, Debug)]
pub enum Content {
    /// A text: `"t"`, `[{"type":"text","text":"t"}]` and `[{"type":"input_text",...}]`
    /// are three spellings of it.
    Text(Text),
    /// Several parts (or parts that do not collapse).
    Parts(Vec<J>),
    /// Anything but a string; `Other(Null)` may also be spelled by leaving `content` out.
    Other(J),
}

/// A conversation: the parts the native profile reads, and the history it must not read.
#[derive(Clone, Debug)]
pub struct Conv {
    pub responses: bool,
    pub model: Option<J>,
    pub tools: Vec<J>,
    pub functions: Vec<J>,
    pub instructions: Option<J>,
    /// Leading system (`false`) or developer (`true`) messages.
    pub systems: Vec<(bool, Content)>,
    pub first_user: Content,
    /// Items after the first user message.
    pub history: Vec<J>,
    /// Root members nobody reads.
    pub extras: Vec<(Text, J)>,
}

fn conv_content() -> BoxedStrategy<Content> {
    prop_oneof![
        6 => text().prop_map(|t| Content::Text(t.without_lone())),
        3 => vec(part(), 0..4).prop_map(|v| Content::Parts(v.iter().map(J::sanitized).collect())),
        1 => prop_oneof![
            Just(J::Null),
            number(),
            any::<bool>().prop_map(J::Bool),
            vec((key(), json()), 0..3).prop_map(J::Obj),
        ]
        .prop_map(|j| Content::Other(j.sanitized())),
    ]
    .boxed()
}

const UNREAD: &[&str] = &[
    "temperature",
    "stream",
    "metadata",
    "max_tokens",
    "user",
    "store",
    "top_p",
    "n",
    "reasoning",
];

pub fn conv() -> BoxedStrategy<Conv> {
    (
        any::<bool>(),
        opt(0.9, model_value()),
        vec(tool(), 0..4),
        proptest::option::weighted(0.1, vec(function(), 0..3)),
        opt(0.3, scalar()),
        vec((any::<bool>(), conv_content()), 0..3),
        conv_content(),
        (any::<bool>(), vec(message(), 0..4), vec(input_item(), 0..4)),
        vec((select(UNREAD), json()), 0..3),
    )
        .prop_map(
            |(
                responses,
                model,
                tools,
                functions,
                instructions,
                systems,
                first_user,
                history,
                extras,
            )| {
                let clean = |v: Vec<J>| -> Vec<J> { v.iter().map(J::sanitized).collect() };
                let mut seen = Vec::new();
                let extras = extras
                    .into_iter()
                    .filter(|(k, _)| {
                        let fresh = !seen.contains(k);
                        seen.push(*k);
                        fresh
                    })
                    .map(|(k, v)| (Text::new(k), v.sanitized()))
                    .collect();
                Conv {
                    responses,
                    model: model.map(|m| m.sanitized()),
                    tools: clean(tools),
                    functions: clean(functions.unwrap_or_default()),
                    instructions: instructions.map(|i| i.sanitized()),
                    systems,
                    first_user,
                    history: clean(if responses { history.2 } else { history.1 }),
                    extras,
                }
            },
        )
        .boxed()
}

impl Content {
    /// One of the equivalent values of this content; `None` means "leave `content` out".
    fn value(&self, rng: &mut Rng) -> Option<J> {
        match self {
            Content::Text(t) => Some(match rng.below(3) {
                0 => J::Str(t.clone()),
                n => J::Arr(vec![J::obj(vec![
                    ("type", J::s(if n == 1 { "text" } else { "input_text" })),
                    ("text", J::Str(t.clone())),
                ])]),
            }),
            Content::Parts(p) => Some(J::Arr(p.clone())),
            Content::Other(J::Null) if rng.pct(50) => None,
            Content::Other(j) => Some(j.clone()),
        }
    }
}

impl Conv {
    fn item(&self, role: &str, content: &Content, rng: &mut Rng) -> J {
        let mut m = vec![];
        if self.responses && rng.pct(50) {
            m.push(("type", Some(J::s("message"))));
        }
        m.push(("role", Some(J::s(role))));
        m.push(("content", content.value(rng)));
        members(m)
    }

    /// The request value, with equivalent representations chosen by `rep`.
    pub fn to_json(&self, rep: u64) -> J {
        let mut rng = Rng::new(rep);
        let mut items = Vec::new();
        for (dev, c) in &self.systems {
            items.push(self.item(if *dev { "developer" } else { "system" }, c, &mut rng));
        }
        items.push(match &self.first_user {
            Content::Text(t) if self.responses && rng.pct(30) => J::obj(vec![
                ("type", J::s("input_text")),
                ("text", J::Str(t.clone())),
            ]),
            c => self.item("user", c, &mut rng),
        });
        items.extend(self.history.iter().cloned());
        let null_or_absent = |v: &Option<J>, rng: &mut Rng| match v {
            None if rng.pct(30) => Some(J::Null),
            v => v.clone(),
        };
        let list = |v: &Vec<J>, rng: &mut Rng| {
            if v.is_empty() && rng.pct(60) {
                None
            } else {
                Some(J::Arr(v.clone()))
            }
        };
        let mut ms = vec![
            ("model", null_or_absent(&self.model, &mut rng)),
            ("tools", list(&self.tools, &mut rng)),
            ("functions", list(&self.functions, &mut rng)),
            ("instructions", null_or_absent(&self.instructions, &mut rng)),
        ];
        ms.push((
            if self.responses { "input" } else { "messages" },
            Some(J::Arr(items)),
        ));
        root(ms, self.extras.clone())
    }
}
