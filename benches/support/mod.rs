//! Bodies for the benchmarks: the large generated corpus (cached in the target directory),
//! the repo's `examples/requests`, and synthetic history-heavy chat bodies, so that
//! `cargo bench` works with or without `../shared`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// One benchmark input: a name and its bodies (one for corpus picks, several for `examples`).
pub struct Input {
    pub name: String,
    pub bodies: Vec<Vec<u8>>,
    /// Where the bodies come from, for the log.
    pub source: String,
}

impl Input {
    pub fn bytes(&self) -> u64 {
        self.bodies.iter().map(|b| b.len() as u64).sum()
    }
}

/// The size classes of the corpus groups.
pub const SIZES: [(&str, usize); 5] = [
    ("1KB", 1 << 10),
    ("16KB", 16 << 10),
    ("128KB", 128 << 10),
    ("1MB", 1 << 20),
    ("4MB", 4 << 20),
];

/// The APIs of the corpus groups.
pub const APIS: [&str; 3] = ["chat", "responses", "anthropic"];

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

/// `../shared` beside the project (or `$STICKYKEY_SHARED`), when it has the corpus generator.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("STICKYKEY_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(MANIFEST_DIR).join("../shared"));
    dir.join("corpus/gen.py").is_file().then_some(dir)
}

/// Cargo's target directory: `$CARGO_TARGET_DIR`, else the one this bench binary was built
/// in (`<target>/release/deps/<bench>`), else `./target` of the crate.
pub fn target_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(d);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(Path::to_path_buf))
        .filter(|d| d.join("CACHEDIR.TAG").is_file() || d.join("release").is_dir())
        .unwrap_or_else(|| Path::new(MANIFEST_DIR).join("target"))
}

/// One manifest line of the corpus.
pub struct Entry {
    pub file: PathBuf,
    pub family: String,
    pub api: String,
    pub bytes: u64,
}

/// The large public corpus (`gen.py --scale full --seed 7`), generated once into
/// `<target>/bench-corpus/`; `None` (with a message) when `../shared` or python3 is missing.
pub fn full_corpus() -> Option<Vec<Entry>> {
    let Some(shared) = shared_dir() else {
        eprintln!("note: ../shared not found (set STICKYKEY_SHARED): corpus groups skipped");
        return None;
    };
    let dir = target_dir().join("bench-corpus");
    if !dir.join("manifest.jsonl").is_file() {
        // Generate next to the cache, then rename: an interrupted run leaves no half corpus.
        let tmp = target_dir().join("bench-corpus.tmp");
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).ok()?;
        eprintln!("generating the benchmark corpus into {} ...", dir.display());
        let ok = Command::new("python3")
            .arg(shared.join("corpus/gen.py"))
            .args(["--scale", "full", "--seed", "7", "--out"])
            .arg(&tmp)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            eprintln!(
                "note: corpus generation failed (python3 >= 3.11 needed): corpus groups skipped"
            );
            return None;
        }
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::rename(&tmp, &dir).ok()?;
    }
    let text = std::fs::read_to_string(dir.join("manifest.jsonl")).ok()?;
    let mut entries = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).ok()?;
        if v["invalid"] == true {
            continue;
        }
        entries.push(Entry {
            file: dir.join(v["file"].as_str()?),
            family: v["family"].as_str()?.to_owned(),
            api: v["api"].as_str()?.to_owned(),
            bytes: v["bytes"].as_u64()?,
        });
    }
    Some(entries)
}

/// The conversation body (family = api: realistic multi-turn traffic, not the `nasty` or
/// `variants` families) of `api` closest in size to `target`.
pub fn closest<'a>(entries: &'a [Entry], api: &str, target: usize) -> Option<&'a Entry> {
    entries
        .iter()
        .filter(|e| e.api == api && e.family == api)
        .min_by_key(|e| (e.bytes as i64 - target as i64).unsigned_abs())
}

/// The corpus groups: per API and size class, the closest body. A class whose closest body
/// is the one already chosen for the class below is dropped; a pick outside half to twice
/// its class is named by its own size (the `--scale full` corpus tops out near 1.9 MB and has
/// no Anthropic body between 7 KB and 40 KB), and the log says so.
pub fn corpus_inputs() -> Vec<Input> {
    let Some(entries) = full_corpus() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for api in APIS {
        let mut previous: Option<&Path> = None;
        for (label, target) in SIZES {
            let Some(e) = closest(&entries, api, target) else {
                continue;
            };
            if previous == Some(e.file.as_path()) {
                eprintln!("note: {api}/{label}: same body as the class below, skipped");
                continue;
            }
            previous = Some(e.file.as_path());
            // A pick far from its class is named by its own size, not the class's.
            let ratio = e.bytes as f64 / target as f64;
            let label = if (0.5..=2.0).contains(&ratio) {
                label.to_owned()
            } else {
                let actual = size_label(e.bytes);
                eprintln!(
                    "note: corpus/{api}/{label}: the corpus has no body near {label}, \
                     closest is {} B: group named corpus/{api}/{actual}",
                    e.bytes
                );
                actual
            };
            let Ok(body) = std::fs::read(&e.file) else {
                continue;
            };
            out.push(Input {
                name: format!("corpus/{api}/{label}"),
                source: e.file.display().to_string(),
                bodies: vec![body],
            });
        }
    }
    out
}

/// `7KB`, `1.8MB`: a size in binary units, two significant digits at most.
fn size_label(bytes: u64) -> String {
    let (v, unit) = if bytes >= 1 << 20 {
        (bytes as f64 / (1 << 20) as f64, "MB")
    } else {
        (bytes as f64 / 1024.0, "KB")
    };
    if v >= 10.0 {
        format!("{v:.0}{unit}")
    } else {
        format!("{v:.1}{unit}").replace(".0", "")
    }
}

/// The valid JSON bodies of `examples/requests/*.json`, sorted by name.
pub fn example_bodies() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(MANIFEST_DIR).join("examples/requests");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|x| x == "json"));
    files.sort();
    files
        .into_iter()
        .filter_map(|p| {
            let body = std::fs::read(&p).ok()?;
            serde_json::from_slice::<serde::de::IgnoredAny>(&body).ok()?;
            Some((p.file_name()?.to_string_lossy().into_owned(), body))
        })
        .collect()
}

/// All example bodies as one group (each iteration keys every body once).
pub fn examples_input() -> Option<Input> {
    let bodies: Vec<Vec<u8>> = example_bodies().into_iter().map(|(_, b)| b).collect();
    (!bodies.is_empty()).then(|| Input {
        name: "examples".into(),
        source: "examples/requests/*.json (valid JSON only)".into(),
        bodies,
    })
}

/// A Chat Completions body of at least `target` bytes: a fixed first turn (model, three
/// tools, system prompt, first user message), then assistant / tool / user turns repeated
/// until the size is reached. The key only depends on the first turn; the rest is the
/// history a long agent session drags along.
pub fn synthetic_chat(target: usize) -> Vec<u8> {
    use serde_json::json;
    let tool = |name: &str, what: &str| {
        json!({"type": "function", "function": {
            "name": name,
            "description": format!("{what}. Returns the result as text; errors are reported in the text."),
            "parameters": {"type": "object", "properties": {
                "path": {"type": "string", "description": "Absolute path of the file."},
                "limit": {"type": "integer", "minimum": 1, "maximum": 2000, "default": 200},
                "dry_run": {"type": "boolean", "default": false}
            }, "required": ["path"], "additionalProperties": false}
        }})
    };
    let mut messages = vec![
        json!({"role": "system", "content": "You are a careful coding agent. Use the tools to read and edit files; keep answers short and cite file paths."}),
        json!({"role": "user", "content": "The build fails in src/parser.rs with a lifetime error after the last refactor. Find the cause and fix it."}),
    ];
    let filler = "The parser keeps a borrowed slice of the input while the tokenizer advances; \
                  the refactor moved the buffer into the struct, so the borrow now outlives it. ";
    let mut size = 0usize;
    let mut turn = 0usize;
    while size < target {
        turn += 1;
        let id = format!("call_{turn:06}");
        let step = [
            json!({"role": "assistant", "content": format!("Step {turn}: {}", filler.repeat(3)),
                   "tool_calls": [{"id": id, "type": "function", "function": {
                       "name": "read_file", "arguments": format!("{{\"path\":\"/repo/src/module_{turn}.rs\",\"limit\":200}}")}}]}),
            json!({"role": "tool", "tool_call_id": id,
                   "content": format!("// module {turn}\n{}", "fn step(input: &str) -> Result<Token<'_>, Error> { todo!() }\n".repeat(8))}),
            json!({"role": "user", "content": format!("Turn {turn}: that did not fix it, the error is still at line {}. Keep going.", 40 + turn % 300)}),
        ];
        for m in step {
            size += m.to_string().len() + 1;
            messages.push(m);
        }
    }
    let body = json!({
        "model": "gpt-4o",
        "temperature": 0.2,
        "stream": true,
        "tools": [
            tool("read_file", "Read a file"),
            tool("write_file", "Write a file"),
            tool("list_dir", "List a directory"),
        ],
        "messages": messages,
    });
    serde_json::to_vec(&body).expect("serializable")
}

/// The two synthetic history-heavy groups (~1 MB and ~4 MB).
pub fn synthetic_inputs() -> Vec<Input> {
    [("1MB", 1usize << 20), ("4MB", 4 << 20)]
        .into_iter()
        .map(|(label, target)| Input {
            name: format!("synthetic/chat-history/{label}"),
            source: "generated in benches/support (fixed first turn + repeated turns)".into(),
            bodies: vec![synthetic_chat(target)],
        })
        .collect()
}

/// The small-body latency input: the chat body of the corpus closest to 1.5 KB, else the
/// largest chat example of `examples/requests`, else a synthetic one-turn body.
pub fn small_chat_body() -> (String, Vec<u8>) {
    if let Some(entries) = full_corpus() {
        if let Some(e) = closest(&entries, "chat", 1536) {
            if let Ok(b) = std::fs::read(&e.file) {
                return (e.file.display().to_string(), b);
            }
        }
    }
    if let Some((name, b)) = example_bodies()
        .into_iter()
        .filter(|(n, _)| n.starts_with("chat"))
        .max_by_key(|(_, b)| b.len())
    {
        return (format!("examples/requests/{name}"), b);
    }
    ("synthetic".into(), synthetic_chat(0))
}
