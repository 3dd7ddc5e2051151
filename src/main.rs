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

use stickykey::{Config, Fingerprinter, Key, Source};

const USAGE: &str = "\
stickykey: sticky-session keys for LLM API request bodies

Usage:
  stickykey key [--profile sub2api|native] [-H 'name: value']... [--content-only] FILE...
  stickykey seed [--profile sub2api] FILE...
  stickykey --help | --version

Commands:
  key     print one JSON line per FILE:
            {\"file\",\"source\",\"key\",\"error\"}, plus \"legacy_sha256\" for sub2api
          source is header:<name>, body:prompt_cache_key, content, or none
  seed    print one JSON line per FILE with sub2api's content seed text:
            {\"file\",\"seed\",\"error\"}

Options:
  --profile P            sub2api: byte-exact with sub2api's Go gateway (16 hex digits)
                         native:  stickykey's native-v1 rules (32 hex digits), the default
  -H, --header 'N: V'    a request header (repeatable); session_id and conversation_id
                         take precedence over the body
  --content-only         key the content alone, ignoring headers and prompt_cache_key
  -h, --help             print this help
  -V, --version          print the version

A FILE of - reads standard input. Options may also be written --profile=P, --header=V.

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

/// A usage error: the message printed on stderr before the hint to `--help`.
#[derive(Debug)]
struct Usage(String);

/// Arguments of `stickykey key`.
#[derive(Debug)]
struct KeyArgs {
    profile: ProfileArg,
    headers: Vec<(String, String)>,
    content_only: bool,
    files: Vec<OsString>,
}

/// What the command line asks for.
#[derive(Debug)]
enum Command {
    Help,
    Version,
    Key(KeyArgs),
    Seed(Vec<OsString>),
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
            files,
        })),
        // The seed is sub2api's by definition; accepting `--profile sub2api` lets scripts
        // pass the same profile flag to both commands.
        Sub::Seed => match profile {
            None | Some(ProfileArg::Sub2api) => Ok(Command::Seed(files)),
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
    let mut fp = Fingerprinter::new(args.profile.config());
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
            Ok(body) if args.content_only => KeyOutcome::from_result(
                fp.content_key(&body)
                    .map(|k| k.map(|k| (Source::Content, k))),
            ),
            Ok(body) => {
                let headers = args
                    .headers
                    .iter()
                    .map(|(n, v)| (n.as_bytes(), v.as_bytes()));
                KeyOutcome::from_result(
                    fp.session_key(headers, &body)
                        .map(|sk| sk.map(|sk| (sk.source, sk.key))),
                )
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

/// `stickykey seed`. Sets `*unreadable` when a FILE could not be read.
fn run_seed(files: &[OsString], out: &mut impl Write, unreadable: &mut bool) -> io::Result<()> {
    // `seed_text` always applies sub2api's rules; the profile only supplies the limits.
    let mut fp = Fingerprinter::new(Config::sub2api());
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
        Command::Seed(files) => run_seed(files, &mut out, &mut unreadable),
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
