//! `stickykey`: the command-line face of the library.
//!
//! `stickykey key` prints the sticky-session key of each request body, `stickykey seed` the
//! sub2api content seed behind it, as JSON Lines (one line per FILE) so that the output can
//! be diffed, grepped and fed to `jq`. Only the public library API is used: the CLI is also a
//! worked example of it.
//!
//! Exit status: 0 when every FILE was read (a body that is not valid JSON is a per-line
//! `error`, not a failure of the command), 1 when some FILE could not be read or the output
//! could not be written, 2 on a usage error.
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::io::{self, BufWriter, Read, Write};
use std::process::ExitCode;

use stickykey::explain::{self, ExplainOptions, Explanation};
use stickykey::{Config, Error, Fingerprinter, Format, Key, SessionKey, Signals, Source, Stream};

const USAGE: &str = "\
stickykey: sticky-session keys for LLM API request bodies

Usage:
  stickykey key [--profile sub2api|native] [-H 'name: value']... [--content-only]
                [--chunk-size N] [--signals S] [--format F] [--model-hint M]
                [POLICY]... FILE...
  stickykey seed [--profile sub2api] [POLICY]... FILE...
  stickykey explain [--profile sub2api|native] [--canonical] [--json] A [B]
  stickykey --help | --version

Commands:
  key     print one JSON line per FILE:
            {\"file\",\"source\",\"key\",\"error\"}, plus \"legacy_sha256\" for sub2api
          source is header:<name>, body:prompt_cache_key, content, or none
  seed    print one JSON line per FILE with sub2api's content seed text:
            {\"file\",\"seed\",\"error\"}
  explain the content key of A component by component (native: blake3 digests, sub2api:
          the seed's pieces); with B, whether the keys are equal and each difference on
          its own line (--canonical: full canonical texts; --json: one JSON object).
          Exit status 1 when a FILE cannot be read or is refused

Options:
  --profile P            sub2api: byte-exact with sub2api's Go gateway (16 hex digits)
                         native:  stickykey's native-v1 rules (32 hex digits), the default
  -H, --header 'N: V'    a request header (repeatable); session_id and conversation_id
                         take precedence over the body
  --content-only         key the content alone, ignoring headers and prompt_cache_key
  --chunk-size N         feed each body to the streaming API in chunks of N bytes
                         (N >= 1); the output is the same as without it
  --signals S            explicit signals: sub2api (the default: session_id,
                         conversation_id, prompt_cache_key) or extended (also Claude Code,
                         opencode and x-session-* headers, previous_response_id,
                         metadata.user_id)
  --format F             native: auto (default), chat, responses, anthropic, gemini
  --model-hint M         native: the model when the body has none (Gemini's URL model)
  -h, --help             print this help
  -V, --version          print the version

Policies (sub2api profile, docs/SPEC.md 3.6; native ignores them, its tools are a set
already), on key and seed; seed then prints the Go variant's seed text:
  --tools-as-set         tools and functions as sets (normalizeCompatToolSeedJSON)
  --leading-system-only  only the system/developer messages before the first other one
  --require-user-anchor  no content key without a meaningful first user message
                         (deriveOpenAIAnchoredContentSessionSeed)
  --stable-prefix        key on tools, functions, instructions and system messages only
                         (deriveOpenAIStablePrefixSessionSeed, a compat_csp_ seed)

A FILE of - reads standard input. Options may also be written --profile=P, --header=V,
--chunk-size=N.

Exit status: 0 every FILE was read (invalid JSON is reported in its line),
1 some FILE could not be read, 2 usage error.
";

/// Which rules `key` applies. The library's own `Profile` is `#[non_exhaustive]`; a local
/// enum keeps the argument parser's matches exhaustive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProfileArg {
    Sub2api,
    Native,
}

impl ProfileArg {
    fn parse(s: &str) -> Result<ProfileArg, Usage> {
        match s {
            "sub2api" => Ok(ProfileArg::Sub2api),
            "native" => Ok(ProfileArg::Native),
            _ => Err(Usage(format!(
                "unknown profile '{s}' (expected sub2api or native)"
            ))),
        }
    }

    fn config(self) -> Config {
        match self {
            ProfileArg::Sub2api => Config::sub2api(),
            ProfileArg::Native => Config::native(),
        }
    }
}

/// The policy flags of `key` and `seed` (`Config::with_*`, SPEC §3.6): each turns one on.
#[derive(Debug, Clone, Copy, Default)]
struct Policies {
    tools_as_set: bool,
    leading_system_only: bool,
    require_user_anchor: bool,
    stable_prefix: bool,
}

impl Policies {
    fn apply(self, mut c: Config) -> Config {
        if self.tools_as_set {
            c = c.with_tools_as_set(true);
        }
        c.with_leading_system_only(self.leading_system_only)
            .with_require_user_anchor(self.require_user_anchor)
            .with_stable_prefix(self.stable_prefix)
    }
}

/// A usage error: the message printed on stderr before the hint to `--help`.
#[derive(Debug)]
struct Usage(String);

/// Arguments of `stickykey key`.
#[derive(Debug)]
struct KeyArgs {
    profile: ProfileArg,
    headers: Vec<(String, String)>,
    content_only: bool,
    /// `--chunk-size N`: drive the streaming API with chunks of N bytes instead of the
    /// one-shot calls.
    chunk_size: Option<usize>,
    policies: Policies,
    extra: KeyExtras,
    files: Vec<OsString>,
}

/// `key`'s `--signals`, `--format` and `--model-hint`.
#[derive(Debug, Clone)]
struct KeyExtras {
    signals: Signals,
    format: Format,
    model_hint: Option<String>,
}

impl Default for KeyExtras {
    fn default() -> KeyExtras {
        KeyExtras {
            signals: Signals::sub2api(),
            format: Format::Auto,
            model_hint: None,
        }
    }
}

impl KeyExtras {
    fn apply(&self, c: Config) -> Config {
        c.with_signals(self.signals.clone())
            .with_format(self.format)
            .with_model_hint(self.model_hint.as_deref())
    }
}

/// What the command line asks for.
#[derive(Debug)]
enum Command {
    Help,
    Version,
    Key(KeyArgs),
    Seed(Vec<OsString>, Policies),
    Explain(ExplainArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sub {
    Key,
    Seed,
}

impl Sub {
    fn name(self) -> &'static str {
        match self {
            Sub::Key => "key",
            Sub::Seed => "seed",
        }
    }
}

/// Parses everything after the program name.
fn parse(args: Vec<OsString>) -> Result<Command, Usage> {
    let mut args = args.into_iter();
    let Some(first) = args.next() else {
        return Err(Usage("missing command (key or seed)".into()));
    };
    let sub = match first.to_str() {
        Some("-h" | "--help") => return Ok(Command::Help),
        Some("-V" | "--version") => return Ok(Command::Version),
        Some("key") => Sub::Key,
        Some("seed") => Sub::Seed,
        Some("explain") => return parse_explain(args),
        _ => {
            let shown = first.to_string_lossy();
            return Err(Usage(if shown.starts_with('-') {
                format!("unknown option '{shown}' (a command, key or seed, comes first)")
            } else {
                format!("unknown command '{shown}' (expected key or seed)")
            }));
        }
    };
    parse_sub(sub, args)
}

/// Parses a subcommand's options and files. Options and files may be interleaved (as with
/// most Unix tools); `--` ends the options, and a lone `-` is a file (standard input).
fn parse_sub(sub: Sub, mut args: impl Iterator<Item = OsString>) -> Result<Command, Usage> {
    let mut profile = None;
    let mut headers = Vec::new();
    let mut content_only = false;
    let mut chunk_size = None;
    let mut policies = Policies::default();
    let mut extra = KeyExtras::default();
    let mut files = Vec::new();
    let mut options_done = false;

    while let Some(arg) = args.next() {
        let lossy = arg.to_string_lossy();
        if options_done || lossy == "-" || !lossy.starts_with('-') {
            // Keep the OsString itself: a path need not be UTF-8.
            files.push(arg);
            continue;
        }
        // An option: it must be text (a lossy replacement can never name a valid option).
        let opt = lossy.into_owned();
        // `--name=value` and `-Hvalue` carry their value inline; otherwise it is the next
        // argument.
        let (name, inline) = match opt.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
            _ if opt.starts_with("-H") && opt.len() > 2 => {
                ("-H".to_owned(), Some(opt[2..].to_owned()))
            }
            _ => (opt.clone(), None),
        };
        let mut value = |what: &str| -> Result<String, Usage> {
            if let Some(v) = inline.clone() {
                return Ok(v);
            }
            let next = args
                .next()
                .ok_or_else(|| Usage(format!("{name} needs {what}")))?;
            next.into_string().map_err(|v| {
                Usage(format!(
                    "{name}: '{}' is not valid UTF-8",
                    v.to_string_lossy()
                ))
            })
        };
        match name.as_str() {
            "--" if inline.is_none() => options_done = true,
            "-h" | "--help" if inline.is_none() => return Ok(Command::Help),
            "-V" | "--version" if inline.is_none() => return Ok(Command::Version),
            "--profile" => {
                profile = Some(ProfileArg::parse(&value("a profile (sub2api or native)")?)?);
            }
            "-H" | "--header" if sub == Sub::Key => {
                headers.push(parse_header(&value("a header 'name: value'")?)?);
            }
            "--content-only" if sub == Sub::Key && inline.is_none() => content_only = true,
            "--chunk-size" if sub == Sub::Key => {
                chunk_size = Some(parse_chunk_size(&value("a chunk size in bytes")?)?);
            }
            "--signals" if sub == Sub::Key => {
                extra.signals = match value("a preset (sub2api or extended)")?.as_str() {
                    "sub2api" => Signals::sub2api(),
                    "extended" => Signals::extended(),
                    other => {
                        return Err(Usage(format!(
                            "unknown signals preset '{other}' (expected sub2api or extended)"
                        )))
                    }
                };
            }
            "--format" if sub == Sub::Key => {
                extra.format = match value("a format")?.as_str() {
                    "auto" => Format::Auto,
                    "chat" => Format::Chat,
                    "responses" => Format::Responses,
                    "anthropic" => Format::Anthropic,
                    "gemini" => Format::Gemini,
                    other => {
                        return Err(Usage(format!(
                            "unknown format '{other}' (expected auto, chat, responses, anthropic or gemini)"
                        )))
                    }
                };
            }
            "--model-hint" if sub == Sub::Key => extra.model_hint = Some(value("a model name")?),
            "--tools-as-set" if inline.is_none() => policies.tools_as_set = true,
            "--leading-system-only" if inline.is_none() => policies.leading_system_only = true,
            "--require-user-anchor" if inline.is_none() => policies.require_user_anchor = true,
            "--stable-prefix" if inline.is_none() => policies.stable_prefix = true,
            _ => {
                return Err(Usage(format!(
                    "unknown option '{opt}' for '{}'",
                    sub.name()
                )))
            }
        }
    }

    if files.is_empty() {
        return Err(Usage(format!(
            "'{}' needs at least one FILE (- for standard input)",
            sub.name()
        )));
    }
    match sub {
        Sub::Key => Ok(Command::Key(KeyArgs {
            profile: profile.unwrap_or(ProfileArg::Native),
            headers,
            content_only,
            chunk_size,
            policies,
            extra,
            files,
        })),
        // The seed is sub2api's by definition; accepting `--profile sub2api` lets scripts
        // pass the same profile flag to both commands.
        Sub::Seed => match profile {
            None | Some(ProfileArg::Sub2api) => Ok(Command::Seed(files, policies)),
            Some(ProfileArg::Native) => Err(Usage(
                "'seed' prints sub2api's seed only; --profile must be sub2api".into(),
            )),
        },
    }
}

/// `name: value`, split at the first ':'. Both sides are trimmed: header names never contain
/// spaces, and `-H 'session_id : x'` is surely meant as `session_id`.
fn parse_header(h: &str) -> Result<(String, String), Usage> {
    match h.split_once(':') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(Usage(format!(
            "header '{h}' is not of the form 'name: value'"
        ))),
    }
}

/// `--chunk-size N`: a whole number of bytes, at least 1.
fn parse_chunk_size(v: &str) -> Result<usize, Usage> {
    match v.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(Usage(format!(
            "--chunk-size '{v}' is not a whole number of bytes >= 1"
        ))),
    }
}

/// Reads FILE arguments; standard input is read once and reused, so `- -` gives the same
/// body twice instead of an empty second one.
#[derive(Default)]
struct Inputs {
    stdin: Option<Result<Vec<u8>, String>>,
}

impl Inputs {
    fn read(&mut self, file: &OsString) -> Result<Vec<u8>, String> {
        if file == "-" {
            self.stdin
                .get_or_insert_with(|| {
                    let mut body = Vec::new();
                    io::stdin()
                        .lock()
                        .read_to_end(&mut body)
                        .map(|_| body)
                        .map_err(|e| format!("cannot read standard input: {e}"))
                })
                .clone()
        } else {
            std::fs::read(file).map_err(|e| format!("cannot read file: {e}"))
        }
    }
}

/// One output line, built member by member in a fixed order. `serde_json` does the string
/// escaping; the object itself is assembled by hand because `serde_json`'s `Map` would sort
/// the members and the order is part of the output format.
struct JsonLine(String);

impl JsonLine {
    fn new() -> JsonLine {
        JsonLine(String::from("{"))
    }

    fn member(&mut self, name: &str, value: Option<&str>) -> serde_json::Result<()> {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        self.0.push_str(&serde_json::to_string(name)?);
        self.0.push(':');
        match value {
            Some(v) => self.0.push_str(&serde_json::to_string(v)?),
            None => self.0.push_str("null"),
        }
        Ok(())
    }

    fn finish(mut self) -> String {
        self.0.push_str("}\n");
        self.0
    }
}

/// What `key` found for one FILE.
struct KeyOutcome {
    found: Option<(Source, Key)>,
    error: Option<String>,
}

impl KeyOutcome {
    fn from_result<E: ToString>(r: Result<Option<(Source, Key)>, E>) -> KeyOutcome {
        match r {
            Ok(found) => KeyOutcome { found, error: None },
            Err(e) => KeyOutcome {
                found: None,
                error: Some(e.to_string()),
            },
        }
    }

    fn line(&self, file: &str, profile: ProfileArg) -> serde_json::Result<String> {
        let source = self.found.map(|(s, _)| s.to_string());
        let key = self.found.map(|(_, k)| k.to_string());
        let mut line = JsonLine::new();
        line.member("file", Some(file))?;
        line.member("source", Some(source.as_deref().unwrap_or("none")))?;
        line.member("key", key.as_deref())?;
        line.member("error", self.error.as_deref())?;
        if profile == ProfileArg::Sub2api {
            let legacy = self.found.and_then(|(_, k)| k.legacy_sha256());
            line.member("legacy_sha256", legacy.as_deref())?;
        }
        Ok(line.finish())
    }
}

/// `stickykey key`. Sets `*unreadable` when a FILE could not be read.
fn run_key(args: &KeyArgs, out: &mut impl Write, unreadable: &mut bool) -> io::Result<()> {
    // One fingerprinter for all files: it keeps its scratch buffers between bodies.
    let mut fp = Fingerprinter::new(args.extra.apply(args.policies.apply(args.profile.config())));
    let mut inputs = Inputs::default();
    for file in &args.files {
        let outcome = match inputs.read(file) {
            Err(e) => {
                *unreadable = true;
                KeyOutcome {
                    found: None,
                    error: Some(e),
                }
            }
            Ok(body) => {
                let headers = args
                    .headers
                    .iter()
                    .map(|(n, v)| (n.as_bytes(), v.as_bytes()));
                let result = match (args.chunk_size, args.content_only) {
                    (None, true) => fp.content_key(&body).map(|k| {
                        k.map(|key| SessionKey {
                            key,
                            source: Source::Content,
                        })
                    }),
                    (None, false) => fp.session_key(headers, &body),
                    // The streaming API gives the one-shot result for every split; the
                    // content stream's source is always `content`.
                    (Some(n), true) => streamed(fp.content_stream(), &body, n),
                    (Some(n), false) => streamed(fp.stream(headers), &body, n),
                };
                KeyOutcome::from_result(result.map(|sk| sk.map(|sk| (sk.source, sk.key))))
            }
        };
        out.write_all(
            outcome
                .line(&file.to_string_lossy(), args.profile)?
                .as_bytes(),
        )?;
    }
    Ok(())
}

/// Pushes `body` into the stream in chunks of `chunk` bytes, then finishes it. The first
/// error `push` returns is the stream's result (`finish` would return it again).
fn streamed(mut s: Stream<'_>, body: &[u8], chunk: usize) -> Result<Option<SessionKey>, Error> {
    body.chunks(chunk).try_for_each(|c| s.push(c))?;
    s.finish()
}

/// `stickykey seed`. Sets `*unreadable` when a FILE could not be read.
fn run_seed(
    files: &[OsString],
    policies: Policies,
    out: &mut impl Write,
    unreadable: &mut bool,
) -> io::Result<()> {
    // `seed_text` always applies sub2api's rules (with the policies: the Go variant's seed).
    let mut fp = Fingerprinter::new(policies.apply(Config::sub2api()));
    let mut inputs = Inputs::default();
    for file in files {
        let (seed, error) = match inputs.read(file) {
            Err(e) => {
                *unreadable = true;
                (None, Some(e))
            }
            Ok(body) => match fp.seed_text(&body) {
                Ok(seed) => (seed, None),
                Err(e) => (None, Some(e.to_string())),
            },
        };
        let mut line = JsonLine::new();
        line.member("file", Some(&file.to_string_lossy()))?;
        line.member("seed", seed.as_deref())?;
        line.member("error", error.as_deref())?;
        out.write_all(line.finish().as_bytes())?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// `stickykey explain`: the content key's components of one body, or why two bodies' keys
// differ. The work is `stickykey::explain`'s; this block parses, reads and prints.

/// Arguments of `stickykey explain`.
#[derive(Debug)]
struct ExplainArgs {
    profile: ProfileArg,
    canonical: bool,
    json: bool,
    files: Vec<OsString>,
}

/// `explain [--profile P] [--canonical] [--json] A [B]`.
fn parse_explain(mut args: impl Iterator<Item = OsString>) -> Result<Command, Usage> {
    let mut e = ExplainArgs {
        profile: ProfileArg::Native,
        canonical: false,
        json: false,
        files: Vec::new(),
    };
    let mut options_done = false;
    while let Some(arg) = args.next() {
        let lossy = arg.to_string_lossy().into_owned();
        if options_done || lossy == "-" || !lossy.starts_with('-') {
            e.files.push(arg);
            continue;
        }
        match lossy.split_once('=') {
            Some(("--profile", v)) => e.profile = ProfileArg::parse(v)?,
            _ => match lossy.as_str() {
                "--" => options_done = true,
                "-h" | "--help" => return Ok(Command::Help),
                "--canonical" => e.canonical = true,
                "--json" => e.json = true,
                "--profile" => {
                    let v = args.next().and_then(|v| v.into_string().ok());
                    let v = v.ok_or_else(|| Usage("--profile needs a profile".into()))?;
                    e.profile = ProfileArg::parse(&v)?;
                }
                _ => return Err(Usage(format!("unknown option '{lossy}' for 'explain'"))),
            },
        }
    }
    match e.files.len() {
        1 | 2 => Ok(Command::Explain(e)),
        _ => Err(Usage("'explain' takes one FILE, or two to compare".into())),
    }
}

/// One explanation as JSON (texts: sub2api pieces always, native texts with --canonical).
fn explanation_json(file: &str, e: &Explanation, canonical: bool) -> serde_json::Value {
    let components: Vec<serde_json::Value> = e
        .components
        .iter()
        .map(|c| {
            let text = c.text.as_deref().filter(|_| canonical || c.tag.is_none());
            serde_json::json!({
                "name": c.name, "tag": c.tag, "form": c.form.as_str(),
                "digest": c.digest, "text": text,
            })
        })
        .collect();
    serde_json::json!({
        "file": file, "key": e.key.map(|k| k.to_string()), "seed": e.seed,
        "components": components, "error": null,
    })
}

/// `stickykey explain`. Sets `*failed` when a FILE could not be read or was refused.
fn run_explain(args: &ExplainArgs, out: &mut impl Write, failed: &mut bool) -> io::Result<()> {
    let config = args.profile.config();
    // Texts are always kept: `compare` needs them to say why; printing them is --canonical's.
    let options = ExplainOptions {
        canonical_text: true,
    };
    let mut inputs = Inputs::default();
    let mut found = Vec::new();
    for file in &args.files {
        let name = file.to_string_lossy().into_owned();
        let e = inputs.read(file).and_then(|body| {
            explain::explain_with(&config, &body, options).map_err(|e| format!("refused: {e}"))
        });
        *failed |= e.is_err();
        found.push((name, e));
    }
    let json = |(name, e): &(String, Result<Explanation, String>)| match e {
        Ok(e) => explanation_json(name, e, args.canonical),
        Err(msg) => serde_json::json!({ "file": name, "key": null, "error": msg }),
    };
    let diffs = match found.as_slice() {
        [(_, Ok(a)), (_, Ok(b))] => Some((a.key == b.key, explain::compare(a, b))),
        _ => None,
    };
    if args.json {
        let v = match (found.as_slice(), &diffs) {
            ([one], _) => json(one),
            ([a, b], d) => serde_json::json!({
                "a": json(a), "b": json(b),
                "keys_equal": d.as_ref().map(|d| d.0),
                "differences": d.as_ref().map(|(_, d)| d.iter().map(|x| serde_json::json!({
                    "component": x.component, "reason": x.reason, "changes_key": x.changes_key,
                })).collect::<Vec<_>>()),
            }),
            _ => serde_json::Value::Null,
        };
        return writeln!(out, "{v}");
    }
    for (i, (name, e)) in found.iter().enumerate() {
        let label = if found.len() == 2 {
            ["A: ", "B: "][i]
        } else {
            ""
        };
        match e {
            Err(msg) => writeln!(out, "{label}{name}: {msg}")?,
            Ok(e) if found.len() == 1 || args.canonical => {
                writeln!(out, "{label}{name}")?;
                if args.canonical {
                    write!(out, "{e:#}")?;
                } else {
                    write!(out, "{e}")?;
                }
            }
            Ok(e) => {
                let key = e.key.map_or_else(|| "none".to_owned(), |k| k.to_string());
                writeln!(out, "{label}{key}  {name}")?;
            }
        }
    }
    if let Some((equal, diffs)) = diffs {
        writeln!(out, "{}", if equal { "keys equal" } else { "keys differ" })?;
        for d in diffs {
            writeln!(out, "{d}")?;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let command = match parse(std::env::args_os().skip(1).collect()) {
        Ok(c) => c,
        Err(Usage(msg)) => {
            eprintln!("stickykey: {msg}");
            eprintln!("Try 'stickykey --help' for more information.");
            return ExitCode::from(2);
        }
    };

    // Block-buffered: JSON Lines for many files should not cost one write(2) per line.
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut unreadable = false;
    let written = match &command {
        Command::Help => out.write_all(USAGE.as_bytes()),
        Command::Version => writeln!(out, "stickykey {}", env!("CARGO_PKG_VERSION")),
        Command::Key(args) => run_key(args, &mut out, &mut unreadable),
        Command::Seed(files, policies) => run_seed(files, *policies, &mut out, &mut unreadable),
        Command::Explain(args) => run_explain(args, &mut out, &mut unreadable),
    }
    .and_then(|()| out.flush());

    match written {
        Ok(()) => {}
        // The reader went away (`stickykey key ... | head`): nobody is left to tell, so stop
        // quietly, as `cat` would, with the status earned so far.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        Err(e) => {
            eprintln!("stickykey: cannot write output: {e}");
            return ExitCode::from(1);
        }
    }
    if unreadable {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
